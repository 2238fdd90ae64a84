//! The converted configuration ([`Out`]): levee keys set by section, the
//! `[[key]]` and `[[zone]]` tables, the settings not carried over, and
//! its rendering as TOML; and the small helpers both readers use.

use std::path::Path;

/// A setting without a levee equivalent.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    /// Line in the source file.
    pub line: usize,
    /// The setting (`server.rundir`, `zone[example.com].dnssec-signing`).
    pub setting: String,
    /// Why it is not carried over.
    pub why: String,
}

/// A TOML value.
#[derive(Debug, Clone)]
pub enum V {
    /// A string.
    S(String),
    /// An integer.
    I(i64),
    /// A boolean.
    B(bool),
    /// A list of strings.
    L(Vec<String>),
}

impl V {
    fn render(&self) -> String {
        let q = |s: &str| serde_json::to_string(s).expect("a string serializes");
        match self {
            V::S(s) => q(s),
            V::I(i) => i.to_string(),
            V::B(b) => b.to_string(),
            V::L(l) => format!("[{}]", l.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ")),
        }
    }
}

/// `key = value` lines of one table.
pub type Table = Vec<(&'static str, V)>;

/// The converted configuration.
#[derive(Debug, Default)]
pub struct Out {
    /// `[section]` tables, in the order first set.
    pub sections: Vec<(&'static str, Table)>,
    /// `[[key]]` tables.
    pub keys: Vec<Table>,
    /// `[[zone]]` tables.
    pub zones: Vec<Table>,
    /// Settings not carried over.
    pub notes: Vec<Note>,
    /// Remarks for the header of the file (defaults that differ).
    pub remarks: Vec<String>,
}

impl Out {
    /// Sets `section.key` (a later value replaces an earlier one).
    pub fn set(&mut self, section: &'static str, key: &'static str, v: V) {
        let i = match self.sections.iter().position(|s| s.0 == section) {
            Some(i) => i,
            None => {
                self.sections.push((section, Vec::new()));
                self.sections.len() - 1
            }
        };
        let t = &mut self.sections[i].1;
        t.retain(|(k, _)| *k != key);
        t.push((key, v));
    }

    /// Records a setting without an equivalent.
    /// A template's setting used by several zones is listed once.
    pub fn note(&mut self, line: usize, setting: impl Into<String>, why: impl Into<String>) {
        let n = Note { line, setting: setting.into(), why: why.into() };
        if !self.notes.iter().any(|m| m.line == n.line && m.setting == n.setting) {
            self.notes.push(n);
        }
    }

    /// The levee.toml text.
    pub fn render(&self, source: &str) -> String {
        let mut t = format!("# levee.toml converted by `levee migrate` from {source}\n");
        for r in &self.remarks {
            t.push_str(&format!("# {r}\n"));
        }
        if !self.notes.is_empty() {
            t.push_str("#\n# Settings of the source with no levee equivalent (not carried over):\n");
            for n in &self.notes {
                t.push_str(&format!("#   line {}: {}: {}\n", n.line, n.setting, n.why));
            }
        }
        t.push_str("\nversion = 1\n");
        let table = |t: &mut String, head: String, rows: &Table| {
            t.push_str(&format!("\n{head}\n"));
            for (k, v) in rows {
                t.push_str(&format!("{k} = {}\n", v.render()));
            }
        };
        for (name, rows) in &self.sections {
            table(&mut t, format!("[{name}]"), rows);
        }
        for k in &self.keys {
            table(&mut t, "[[key]]".into(), k);
        }
        for z in &self.zones {
            table(&mut t, "[[zone]]".into(), z);
        }
        t
    }
}

/// Where the package keeps levee's state.
pub const PACKAGE_STORAGE: &str = "/var/lib/levee";

/// Secondary zones need `server.storage-dir`: the package's directory
/// when the source named none that maps to it.
pub fn storage_for_secondaries(out: &mut Out) {
    let secondary = out.zones.iter().any(|z| z.iter().any(|(k, _)| *k == "primaries"));
    let has = out.sections.iter().any(|(s, t)| *s == "server" && t.iter().any(|(k, _)| *k == "storage-dir"));
    if secondary && !has {
        out.set("server", "storage-dir", V::S(PACKAGE_STORAGE.into()));
        out.remarks.push(format!(
            "server.storage-dir = {PACKAGE_STORAGE:?} (received copies of the secondary zones and journals) was added: levee needs one for secondary zones."
        ));
    }
}

/// `ADDR:PORT` as levee writes it (`[v6]:port`).
pub fn socket(addr: &str, port: u16) -> String {
    if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}

/// A zone name with its final dot.
pub fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

/// `path` relative to `base` unless absolute.
pub fn resolve(base: &Path, path: &str) -> String {
    let p = Path::new(path);
    if p.is_absolute() {
        path.to_string()
    } else {
        base.join(p).display().to_string()
    }
}
