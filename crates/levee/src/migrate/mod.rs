//! `levee migrate knot FILE` and `levee migrate nsd FILE`: a Knot DNS or
//! NSD configuration converted into a levee.toml.
//!
//! Each reader ([`knot`], [`nsd`]) walks its file and fills an [`Out`]:
//! the levee keys it could map (zones and their files, primaries,
//! notify targets, transfer and NOTIFY ACLs, TSIG keys, rate limiting,
//! listen addresses, TCP limits, identity) and a [`Note`] with the source
//! line for every setting that has no levee equivalent. A file it cannot
//! read (a syntax outside the reader's grammar, an `include`) is refused
//! with the line; nothing is guessed. The TOML written is checked with
//! levee's own configuration reader before it is written, and holds the
//! TSIG secrets: the output file is created with mode 0600.
//!
//! docs/migrating.md lists the mapping key by key.

mod knot;
mod knotyaml;
mod nsd;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `levee migrate` arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The server whose configuration FILE is.
    #[arg(value_enum)]
    from: From,
    /// knot.conf or nsd.conf.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Write levee.toml here (created with mode 0600: it holds the TSIG
    /// secrets; an existing file is not replaced). Default: standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

/// The source server.
#[derive(Clone, Copy, clap::ValueEnum)]
enum From {
    /// Knot DNS 3.x knot.conf (YAML).
    Knot,
    /// NSD 4.x nsd.conf.
    Nsd,
}

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

/// Converts the text of `path`; errors are for the user as they are.
pub fn convert(from_knot: bool, path: &Path, text: &str) -> Result<Out, String> {
    let place = path.display();
    let out = if from_knot { knot::convert(text) } else { nsd::convert(text) };
    out.map_err(|e| format!("{place}: {e}"))
}

/// Converts and checks: the rendered TOML must be a valid levee
/// configuration (read by levee's own reader).
pub fn convert_checked(from_knot: bool, path: &Path, text: &str) -> Result<(Out, String), String> {
    let out = convert(from_knot, path, text)?;
    let toml = out.render(&path.display().to_string());
    levee_config::file::parse(&toml, "the converted configuration").map_err(|e| {
        format!("{}: the converted configuration is not valid ({e}); please report this with the input", path.display())
    })?;
    Ok((out, toml))
}

/// Runs `levee migrate`.
pub fn run(args: Args) -> ExitCode {
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("levee migrate: cannot read {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let (out, toml) = match convert_checked(matches!(args.from, From::Knot), &args.file, &text) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("levee migrate: {e}");
            return ExitCode::from(2);
        }
    };
    for n in &out.notes {
        eprintln!("{}:{}: {}: not carried over: {}", args.file.display(), n.line, n.setting, n.why);
    }
    eprintln!(
        "levee migrate: {} zone(s), {} key(s); {} setting(s) not carried over",
        out.zones.len(),
        out.keys.len(),
        out.notes.len()
    );
    match &args.output {
        None => {
            print!("{toml}");
            ExitCode::SUCCESS
        }
        Some(p) => match write_private(p, &toml) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("levee migrate: cannot write {}: {e}", p.display());
                ExitCode::from(2)
            }
        },
    }
}

/// Creates `path` with mode 0600 (never replacing a file) and writes `text`.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}
