#!/usr/bin/env python3
"""Checks that the names a design document gives are real.

    python3 tests/structure/names.py [--list] [DOC.md ...]   (default: ARCHITECTURE.md)

Every `code span` of the document is one of:

* a file path (it has a `/` or ends in a file extension): it must exist,
  relative to the repository root, to `crates/`, or (a bare file name such
  as `worker.rs`) somewhere under `crates/*/src`;
* a Rust name or path (`Worker::answer`, `levee_answer::Worker`,
  `ResponseCache::find`, `Dropped::Short`, `recvmmsg`): every segment must
  occur as an identifier in the code of `crates/` (comments and strings
  blanked, so a name that survives only in a doc comment is not real);
  `crate`, `self` and `super` are skipped, a trailing `()` is ignored;
* a single word the code has only in a string literal (an HTTP header
  such as `Host`, a ctl command such as `retransfer`) counts as real;
* anything else (a URL path such as `/metrics`, a configuration key such as `tcp.buffer-memory-mib`, a
  DNS name, `READY=1`, a command line) is not checked: spans with spaces,
  `-`, `.`, `=`, `<` or quotes.

With --list it prints every checked span and how it was resolved (for the
closing note of the issue that asked for the names to be checked). Exits
1 if any name is missing, listing them with their line numbers.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from modules import strip  # noqa: E402  (same comment/string blanking)

EXT = re.compile(r"\.(rs|md|toml|py|sh|html|json|mjs|txt|service|conf)$")
RUST = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*(\(\))?$")


def code_words():
    """Every identifier in the Rust code of crates/ and fuzz/ (comments and
    strings blanked), every word of their string literals, and every
    source path (relative to the repository)."""
    words, texts, files = set(), set(), set()
    for top in ("crates", "fuzz"):
        for base, dirs, names in os.walk(os.path.join(ROOT, top)):
            dirs[:] = [d for d in dirs if d not in ("target", "corpus", "artifacts")]
            for n in names:
                path = os.path.relpath(os.path.join(base, n), ROOT)
                files.add(path)
                if not n.endswith(".rs"):
                    continue
                with open(os.path.join(base, n), encoding="utf-8") as f:
                    src = f.read()
                code = strip(src)
                words.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code))
                # What strip() blanked that is not a comment: string literals.
                for lit in re.findall(r'"((?:[^"\\\n]|\\.)*)"', src):
                    texts.update(re.findall(r"[A-Za-z_][A-Za-z0-9_-]*", lit))
    return words, texts, files


def spans(text):
    """(line number, span) for every inline code span outside fenced blocks."""
    out, fenced = [], False
    for i, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            out.extend((i, m) for m in re.findall(r"`([^`\n]+)`", line))
    return out


def check_path(p, files):
    p = p.rstrip("/")
    for base in (ROOT, os.path.join(ROOT, "crates")):
        if os.path.exists(os.path.join(base, p)):
            return "path"
    # A path given relative to its crate or module folder
    # (`replication/xfrin.rs`, `src/snapshot/`, `worker.rs`).
    for f in files:
        if f.endswith("/" + p) or ("/" + p + "/") in f:
            return "path under crates/ or fuzz/"
    return None


def main(argv):
    listing = "--list" in argv
    docs = [a for a in argv if not a.startswith("--")] or ["ARCHITECTURE.md"]
    words, texts, files = code_words()
    missing, checked = [], 0
    for doc in docs:
        with open(os.path.join(ROOT, doc), encoding="utf-8") as f:
            text = f.read()
        for line, s in spans(text):
            if "<" in s or " " in s or '"' in s or "'" in s or s.startswith("/"):
                continue
            if "/" in s or EXT.search(s):
                how = check_path(s, files)
            elif RUST.match(s):
                segs = [x for x in s.removesuffix("()").split("::") if x not in ("crate", "self", "super")]
                gone = [x for x in segs if x not in words]
                how = None if gone else "identifier"
                if gone and len(segs) == 1 and segs[0] in texts:
                    # A word the code spells in a string: an HTTP header,
                    # a ctl command, a log field.
                    how = "word in a string of the code"
            else:
                continue
            checked += 1
            if how is None:
                missing.append(f"{doc}:{line}: `{s}`")
            elif listing:
                print(f"{doc}:{line}: `{s}` ({how})")
    for m in missing:
        print(f"MISSING {m}")
    print(f"{', '.join(docs)}: {checked} names checked, {len(missing)} missing")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
