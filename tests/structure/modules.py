#!/usr/bin/env python3
"""Structure checks on the Rust sources: import cycles between modules, and
long functions.

    python3 tests/structure/modules.py [--max-fn-lines N] [--graph] [CRATE_DIR ...]
    python3 tests/structure/modules.py --self-test

For every crate (default: crates/*), each source file is one module
(`x.rs` and `x/mod.rs` are `x`; inline modules such as `mod tests { ... }`
count as part of their file). Module A depends on module B when A's code
names B or an item of B: a `use` tree (`use crate::b::{self, C}`), a path
in code (`crate::b::f()`, `super::C`, `b::f()` for a child `b`), through
aliases (`use crate::ops::counters;` at the crate root makes
`crate::counters::X` a use of `ops::counters`). `mod b;` alone is not a
dependency. The strongly connected components of that graph with more
than one module are import cycles; the check fails if there is any.

With --max-fn-lines N it also lists every function (outside tests:
`#[test]` functions, `#[cfg(test)]` modules and files) longer than N
lines, from the `fn` line to its closing brace, and fails if there is any.

Comments, strings and character literals are blanked before anything is
parsed, so a path in a doc comment is not a dependency.
"""

import os
import re
import sys
import tempfile

# ---------------------------------------------------------------- lexing


def strip(src):
    """The source with comments, strings and char literals replaced by
    spaces (newlines kept, so line numbers stay)."""
    out = []
    i, n = 0, len(src)

    def blank(s):
        return "".join(c if c == "\n" else " " for c in s)

    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(src[i:j]))
            i = j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(src[i:j]))
            i = j
        elif re.match(r'(b?r)(#*)"', src[i:i + 260]) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            m = re.match(r'(b?r)(#*)"', src[i:])
            end = '"' + m.group(2)
            j = src.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append(blank(src[i:j]))
            i = j
        elif c == '"' or (c == "b" and src.startswith('b"', i) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_"))):
            j = i + (2 if c == "b" else 1)
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            out.append(blank(src[i:j + 1]))
            i = j + 1
        elif c == "'":
            # A char literal ('x', '\n', '\u{..}', b'x' handled by the 'b'
            # being an identifier char) or a lifetime ('a).
            if src.startswith("\\", i + 1):
                j = src.find("'", i + 2)
                out.append(blank(src[i:j + 1]))
                i = j + 1
            elif i + 2 < n and src[i + 2] == "'":
                out.append("   ")
                i += 3
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


# ---------------------------------------------------------------- modules


def crate_modules(src_dir):
    """{module path tuple: file} for the files of a crate's src."""
    root = None
    for r in ("lib.rs", "main.rs"):
        if os.path.exists(os.path.join(src_dir, r)):
            root = r
            break
    if root is None:
        return {}
    mods = {(): os.path.join(src_dir, root)}

    def walk(path, file):
        text = strip(open(file, encoding="utf-8").read())
        base = os.path.dirname(file)
        stem = os.path.splitext(os.path.basename(file))[0]
        child_dir = base if stem in ("lib", "main", "mod") else os.path.join(base, stem)
        for m in re.finditer(r"\bmod\s+(\w+)\s*;", text):
            name = m.group(1)
            for cand in (os.path.join(child_dir, name + ".rs"), os.path.join(child_dir, name, "mod.rs")):
                if os.path.exists(cand):
                    mods[path + (name,)] = cand
                    walk(path + (name,), cand)
                    break

    walk((), mods[()])
    return mods


def split_top(s, sep=","):
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def expand_use(tree, prefix=()):
    """`a::{b, c::{self, D as E}}` -> [(path tuple, alias or None)]."""
    tree = tree.strip()
    if tree.startswith("::"):
        tree = tree[2:]
    out = []
    m = re.match(r"^((?:\w+\s*::\s*)*)\{(.*)\}$", tree, re.S)
    if m:
        head = tuple(x for x in re.sub(r"\s+", "", m.group(1)).split("::") if x)
        for part in split_top(m.group(2)):
            out.extend(expand_use(part, prefix + head))
        return out
    alias = None
    a = re.match(r"^(.*?)\s+as\s+(\w+)$", tree, re.S)
    if a:
        tree, alias = a.group(1), a.group(2)
    tree = re.sub(r"\s+", "", tree)
    segs = tuple(x for x in tree.split("::") if x)
    if segs and segs[-1] == "self":
        segs = segs[:-1]
        alias = alias or (segs[-1] if segs else None)
    path = prefix + segs
    if path and path[-1] != "*" and alias is None:
        alias = path[-1]
    return [(path, alias)]


class Crate:
    def __init__(self, src_dir):
        self.src_dir = src_dir
        self.mods = crate_modules(src_dir)
        self.text = {m: strip(open(f, encoding="utf-8").read()) for m, f in self.mods.items()}
        # module -> name -> (module of the item, visible outside the module)
        self.aliases = {m: {} for m in self.mods}
        self.inline = {m: inline_mods(self.text[m]) for m in self.mods}
        # Aliases of modules, resolved until stable.
        for _ in range(4):
            for m, text in self.text.items():
                for u in re.finditer(r"\b(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", text):
                    for path, alias in expand_use(u.group(2)):
                        if not alias or path[-1:] == ("*",):
                            continue
                        # A module, or an item of one (a re-export such as
                        # `pub use zone::Zone` leads to the module `zone`).
                        # A private import is seen only from the module
                        # and its descendants.
                        where = m + self.inline_at(m, u.start())
                        t = self.resolve(where, path)
                        if t is not None and t != m:
                            self.aliases[m][alias] = (t, bool(u.group(1)))

    def visible(self, alias, owner, where):
        """Whether an import of module `owner` is seen from `where`."""
        if alias is None:
            return False
        return alias[1] or self.file_module(where)[:len(owner)] == owner

    def inline_at(self, m, pos):
        return tuple(name for (name, a, b, _) in self.inline[m] if a <= pos < b)

    def file_module(self, path):
        while path not in self.mods:
            path = path[:-1]
        return path

    def resolve(self, where, segs, exact=False):
        """The module `segs` (seen from module `where`, which may lie inside
        a file's inline modules) names or whose item it names; None if it is
        outside the crate. With exact, only a path that is a module."""
        segs = list(segs)
        if not segs:
            return None
        if segs[0] == "crate":
            base, segs = (), segs[1:]
        elif segs[0] in ("super", "self"):
            base = where
            while segs and segs[0] in ("super", "self"):
                if segs[0] == "super":
                    base = base[:-1]
                segs = segs[1:]
        else:
            fm = self.file_module(where)
            if where + (segs[0],) in self.mods:
                base, segs = where + (segs[0],), segs[1:]
            elif segs[0] in self.aliases.get(fm, {}):
                base, segs = self.aliases[fm][segs[0]][0], segs[1:]
            else:
                return None
        base = self.file_module(base) if base not in self.mods else base
        while segs:
            nxt = base + (segs[0],)
            if nxt in self.mods:
                base = nxt
            elif self.visible(self.aliases.get(base, {}).get(segs[0]), base, where):
                base = self.aliases[base][segs[0]][0]
            else:
                break
            segs = segs[1:]
        if exact and segs:
            return None
        return base

    def edges(self):
        deps = {m: set() for m in self.mods}
        for m, text in self.text.items():
            found = []
            for u in re.finditer(r"\buse\s+([^;]+);", text):
                for path, _ in expand_use(u.group(1)):
                    found.append((u.start(), [s for s in path if s != "*"]))
            for p in re.finditer(r"(?<![\w:])((?:\w+::)+\w+)", text):
                found.append((p.start(), p.group(1).split("::")))
            for pos, segs in found:
                t = self.resolve(m + self.inline_at(m, pos), segs)
                if t is not None and t != m:
                    deps[m].add(t)
        return deps


def inline_mods(text):
    """[(name, body start, body end, cfg(test))] of `mod x { ... }`."""
    out = []
    for m in re.finditer(r"\bmod\s+(\w+)\s*\{", text):
        start = m.end() - 1
        end = match_brace(text, start)
        before = text[max(0, m.start() - 200):m.start()]
        test = bool(re.search(r"#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?$", before))
        out.append((m.group(1), start, end, test))
    return out


def match_brace(text, start):
    depth = 0
    for j in range(start, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(text)


def sccs(graph):
    """Tarjan's strongly connected components."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


# ---------------------------------------------------------------- functions


def test_files(crate):
    """Modules declared under #[cfg(test)] (test-only files)."""
    out = set()
    for m, text in crate.text.items():
        for d in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", text):
            out.add(m + (d.group(1),))
    return {m for m in crate.mods if any(m[:len(t)] == t for t in out)}


def long_functions(crate, limit):
    tests = test_files(crate)
    found = []
    for m, text in crate.text.items():
        if m in tests:
            continue
        test_ranges = [(a, b) for (_, a, b, t) in crate.inline[m] if t]
        for f in re.finditer(r"\bfn\s+(\w+)", text):
            if any(a <= f.start() < b for a, b in test_ranges):
                continue
            if re.search(r"#\[test\]\s*$", text[max(0, f.start() - 300):f.start()].split(";")[-1].split("}")[-1]):
                continue
            j, depth = f.end(), 0
            while j < len(text):
                ch = text[j]
                if ch in "([":
                    depth += 1
                elif ch in ")]":
                    depth -= 1
                elif depth == 0 and ch in "{;":
                    break
                j += 1
            if j >= len(text) or text[j] == ";":
                continue
            end = match_brace(text, j)
            first = text.count("\n", 0, f.start()) + 1
            last = text.count("\n", 0, end) + 1
            if last - first + 1 > limit:
                rel = os.path.relpath(crate.mods[m])
                found.append((last - first + 1, f"{rel}:{first}", f.group(1)))
    return sorted(found, reverse=True)


# ---------------------------------------------------------------- main


def modname(m):
    return "crate" if not m else "::".join(m)


def check(dirs, max_fn, graph):
    bad = 0
    for d in dirs:
        src = os.path.join(d, "src")
        crate = Crate(src)
        if not crate.mods:
            continue
        deps = crate.edges()
        cyc = [c for c in sccs(deps) if len(c) > 1]
        name = os.path.basename(os.path.normpath(d))
        print(f"{name}: {len(crate.mods)} modules, {sum(len(v) for v in deps.values())} dependencies, "
              f"{len(cyc)} import cycle(s)")
        if graph:
            for m in sorted(deps):
                print(f"  {modname(m)} -> {', '.join(modname(t) for t in sorted(deps[m])) or '-'}")
        for c in cyc:
            bad += 1
            print(f"  CYCLE: {', '.join(modname(m) for m in c)}")
            for m in c:
                inner = sorted(t for t in deps[m] if t in c)
                print(f"    {modname(m)} -> {', '.join(modname(t) for t in inner)}")
        if max_fn is not None:
            for lines, where, fname in long_functions(crate, max_fn):
                bad += 1
                print(f"  LONG: {fname} ({lines} lines) at {where}")
    return bad


def self_test():
    """The checks find what they must (and nothing else) in small crates."""
    with tempfile.TemporaryDirectory() as t:
        def crate(name, files):
            for p, body in files.items():
                path = os.path.join(t, name, "src", p)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                open(path, "w").write(body)
            return os.path.join(t, name)

        body = "\n".join("    let _x = 1;" for _ in range(30))
        ok = crate("ok", {
            "main.rs": "mod a;\nmod b;\nuse a::x as y;\nfn main() { b::f(); }\n",
            "a/mod.rs": "//! uses crate::b::f in a comment only\npub mod x;\npub fn g() {}\n",
            "a/x.rs": "use super::g;\npub fn h() { g(); let _s = \"crate::b::f\"; }\n",
            "b.rs": "use crate::a::{self, x::h};\npub fn f() { a::g(); h(); crate::y::h(); }\n"
                    "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn t() {\n" + body + "\n    }\n}\n",
        })
        cyc = crate("cyc", {
            "lib.rs": "mod a;\nmod b;\nmod c;\npub use c::C;\n",
            "a.rs": "pub fn f() { crate::b::g() }\n",
            "b.rs": "use super::c;\npub fn g() { c::h() }\n",
            "c.rs": "pub struct C;\npub fn h() { super::a::f() }\nfn long() {\n" + body + "\n}\n",
        })
        alias = crate("alias", {
            "main.rs": "mod ops;\nmod d;\nuse ops::counters;\nfn main() {}\n",
            "ops/mod.rs": "pub mod counters;\npub mod api;\n",
            "ops/counters.rs": "pub struct C;\n",
            "ops/api.rs": "pub fn f() { crate::d::g() }\n",
            "d.rs": "pub fn g() { let _c: crate::counters::C; }\npub fn h() { crate::ops::api::f() }\n",
        })
        # A function and a private import of the same name: a path to the
        # function from elsewhere is no use of the import.
        names = crate("names", {
            "lib.rs": "mod api;\nmod http;\nmod reload;\npub use api::reload as again;\n",
            "api.rs": "use crate::reload;\npub fn reload() { reload::go() }\n",
            "http.rs": "pub fn f() { crate::api::reload(); crate::again(); }\n",
            "reload.rs": "pub fn go() {}\n",
        })
        gn = Crate(os.path.join(names, "src")).edges()
        assert gn[("http",)] == {("api",)}, gn
        assert gn[("api",)] == {("reload",)}, gn
        g = Crate(os.path.join(ok, "src")).edges()
        assert g[("b",)] == {("a",), ("a", "x")}, g
        assert g[("a", "x")] == {("a",)}, g
        assert g[("a",)] == set(), "a comment or string is not a dependency"
        assert [c for c in sccs(g) if len(c) > 1] == []
        c = Crate(os.path.join(cyc, "src"))
        assert [c2 for c2 in sccs(c.edges()) if len(c2) > 1] == [[("a",), ("b",), ("c",)]]
        assert [x[2] for x in long_functions(c, 20)] == ["long"]
        assert long_functions(Crate(os.path.join(ok, "src")), 20) == [], "test functions are not counted"
        a = Crate(os.path.join(alias, "src"))
        ga = a.edges()
        assert ga[("d",)] == {("ops", "counters"), ("ops", "api")}, ga
        assert [x for x in sccs(ga) if len(x) > 1] == [[("d",), ("ops", "api")]]
        assert expand_use("crate::x::{self, y::{Z as W, V}}") == [
            (("crate", "x"), "x"), (("crate", "x", "y", "Z"), "W"), (("crate", "x", "y", "V"), "V")]
        assert "crate" not in strip("// crate::a\nlet s = r#\"crate::b\"#; let c = '\"'; /* x /* y */ */")
    print("self-test passed")


def main(argv):
    if "--self-test" in argv:
        self_test()
        return 0
    max_fn, graph, dirs = None, False, []
    it = iter(argv)
    for a in it:
        if a == "--max-fn-lines":
            max_fn = int(next(it))
        elif a == "--graph":
            graph = True
        else:
            dirs.append(a)
    if not dirs:
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "crates")
        dirs = sorted(os.path.join(root, d) for d in os.listdir(root))
    return 1 if check(dirs, max_fn, graph) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
