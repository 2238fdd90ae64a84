//! A reader for the YAML subset Knot DNS's configuration uses.
//!
//! knot.conf is "simplified YAML" (Knot reads it with its own parser, not
//! a YAML library): top-level sections `name:` at column 0; under them
//! either one block of `key: value` lines (`server:`) or a list of such
//! blocks, each opened by `- ` (`zone:`, `acl:`); a value is a plain or
//! quoted scalar, a flow list `[a, b]`, or a block list of `- value`
//! lines under an empty `key:`. That is all this reader accepts. Full YAML
//! (anchors, aliases, block scalars, several documents, flow maps, tabs)
//! and Knot's `include:` are refused naming the line, never guessed at.
//!
//! A YAML library would accept more than Knot does and lose the line
//! numbers the converter reports (serde_yaml is no longer maintained);
//! this grammar is small enough to read exactly.

/// A value: a scalar or a list of scalars.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// One value.
    Scalar(String),
    /// `[a, b]` or a block list.
    List(Vec<String>),
}

impl Value {
    /// The values (a scalar is a list of one).
    pub fn items(&self) -> Vec<String> {
        match self {
            Value::Scalar(s) => vec![s.clone()],
            Value::List(l) => l.clone(),
        }
    }
}

/// `key: value` at a line.
#[derive(Debug, Clone)]
pub struct Item {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Value,
    /// 1-based line.
    pub line: usize,
}

/// One block of items (a `server:` body, or one `- ` entry of a list).
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// Where it starts.
    pub line: usize,
    /// Its items, in order.
    pub items: Vec<Item>,
}

impl Entry {
    /// The item named `key`.
    pub fn get(&self, key: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.key == key)
    }
}

/// A top-level section.
#[derive(Debug, Clone)]
pub struct Section {
    /// Its name.
    pub name: String,
    /// Its line.
    pub line: usize,
    /// Its entries (one for a plain block).
    pub entries: Vec<Entry>,
}

/// Splits off a comment (`#` outside quotes, at the start or after a blank).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let b = line.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        match (quote, c) {
            (None, b'"' | b'\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, b'#') if i == 0 || b[i - 1] == b' ' => return &line[..i],
            _ => {}
        }
    }
    line
}

/// A scalar: unquoted, or in double or single quotes.
fn scalar(text: &str, line: usize) -> Result<String, String> {
    let t = text.trim();
    for q in ['"', '\''] {
        if let Some(rest) = t.strip_prefix(q) {
            let inner = rest.strip_suffix(q).ok_or(format!("line {line}: unterminated quote"))?;
            return Ok(if q == '"' { inner.replace("\\\"", "\"").replace("\\\\", "\\") } else { inner.to_string() });
        }
    }
    if t.starts_with(['&', '*', '|', '>', '{', '!']) {
        return Err(format!("line {line}: `{t}`: YAML beyond knot.conf's subset (anchors, aliases, block scalars, flow maps, tags) is not read"));
    }
    Ok(t.to_string())
}

/// A value after `key:` (empty for a block list to come).
fn value(text: &str, line: usize) -> Result<Value, String> {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix('[') {
        let inner = rest.strip_suffix(']').ok_or(format!("line {line}: unterminated `[`"))?;
        let items: Result<Vec<_>, _> =
            inner.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| scalar(s, line)).collect();
        return Ok(Value::List(items?));
    }
    Ok(Value::Scalar(scalar(t, line)?))
}

/// Splits `key: value`; `None` without a `: ` (or a final `:`).
fn key_value(t: &str) -> Option<(&str, &str)> {
    if let Some(k) = t.strip_suffix(':') {
        return Some((k, ""));
    }
    let i = t.find(": ")?;
    Some((&t[..i], &t[i + 2..]))
}

/// Reads the sections of a knot.conf text.
pub fn parse(text: &str) -> Result<Vec<Section>, String> {
    let mut sections: Vec<Section> = Vec::new();
    // The key of the current entry whose block list is being read.
    let mut open_list: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = strip_comment(raw).trim_end();
        if l.trim().is_empty() {
            continue;
        }
        if l.contains('\t') {
            return Err(format!("line {line}: tab characters are not allowed in knot.conf"));
        }
        let indent = l.len() - l.trim_start().len();
        let t = l.trim_start();
        if t == "---" || t == "..." {
            return Err(format!("line {line}: YAML document markers are not read"));
        }
        if indent == 0 {
            open_list = None;
            let (k, v) = key_value(t).ok_or(format!("line {line}: expected `section:`"))?;
            if k == "include" {
                return Err(format!("line {line}: `include: {}`: included files are not followed; give levee migrate one file with everything (e.g. concatenate them)", v.trim()));
            }
            if !v.trim().is_empty() {
                return Err(format!("line {line}: `{k}: {}`: a top-level key must open a section", v.trim()));
            }
            sections.push(Section { name: k.to_string(), line, entries: Vec::new() });
            continue;
        }
        let sec = sections.last_mut().ok_or(format!("line {line}: indented line outside a section"))?;
        let (t, new_entry) = match t.strip_prefix("- ").or(if t == "-" { Some("") } else { None }) {
            Some(rest) => (rest.trim(), true),
            None => (t, false),
        };
        if new_entry {
            // `- value` under an empty `key:`: an item of a block list.
            if let Some(idx) = open_list {
                if key_value(t).is_none() {
                    let e = sec.entries.last_mut().unwrap();
                    let v = scalar(t, line)?;
                    match &mut e.items[idx].value {
                        Value::List(l) => l.push(v),
                        other => *other = Value::List(vec![v]),
                    }
                    continue;
                }
            }
            sec.entries.push(Entry { line, items: Vec::new() });
            open_list = None;
            if t.is_empty() {
                continue;
            }
        }
        let (k, v) = key_value(t).ok_or(format!("line {line}: expected `key: value`, got `{t}`"))?;
        if sec.entries.is_empty() {
            sec.entries.push(Entry { line, items: Vec::new() });
        }
        let e = sec.entries.last_mut().unwrap();
        if v.trim().is_empty() {
            e.items.push(Item { key: k.trim().to_string(), value: Value::List(Vec::new()), line });
            open_list = Some(e.items.len() - 1);
        } else {
            e.items.push(Item { key: k.trim().to_string(), value: value(v, line)?, line });
            open_list = None;
        }
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_blocks_lists_flow_and_block_lists() {
        let s = parse(
            "# c\nserver:\n    listen: 127.0.0.1@53 # here\n    rundir: \"/run/k # not a comment\"\n\
             acl:\n  - id: a\n    address: [127.0.0.1, \"::1\"]\n    action: transfer\n  - id: b\n    address:\n      - 10.0.0.0/8\n      - 192.0.2.1\n",
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].entries[0].get("listen").unwrap().value, Value::Scalar("127.0.0.1@53".into()));
        assert_eq!(s[0].entries[0].get("rundir").unwrap().value, Value::Scalar("/run/k # not a comment".into()));
        assert_eq!(s[1].entries.len(), 2);
        assert_eq!(s[1].entries[0].get("address").unwrap().value.items(), vec!["127.0.0.1", "::1"]);
        assert_eq!(s[1].entries[1].get("address").unwrap().value.items(), vec!["10.0.0.0/8", "192.0.2.1"]);
        assert_eq!(s[1].entries[1].get("address").unwrap().line, 10);
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for (text, needle) in [
            ("include: other.conf\n", "include"),
            ("server:\n\tlisten: 1\n", "tab"),
            ("server:\n  listen: &a 1\n", "subset"),
            ("---\nserver:\n", "document"),
            ("server: 1\n", "open a section"),
            ("  listen: 1\n", "outside a section"),
            ("server:\n  listen 1\n", "key: value"),
            ("server:\n  listen: \"1\n", "quote"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(needle) && e.starts_with("line "), "{text:?}: {e}");
        }
    }
}
