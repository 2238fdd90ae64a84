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
mod out;

pub use out::Out;

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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    /// Lines made of the characters both grammars care about.
    fn conf_text() -> impl Strategy<Value = String> {
        prop::collection::vec("[ a-z0-9:@./%\\-\\[\\],\"'#&*\t]{0,30}", 0..30).prop_map(|l| l.join("\n"))
    }

    proptest! {
        /// Any text is converted or refused without a panic, in the
        /// readers and in rendering (what `run` writes is then checked by
        /// levee's configuration reader, `convert_checked`).
        #[test]
        fn any_text_is_converted_or_refused(text in conf_text(), knot in any::<bool>()) {
            let p = std::path::Path::new("t.conf");
            if let Ok(out) = super::convert(knot, p, &text) {
                let toml = out.render("t.conf");
                prop_assert!(toml.contains("version = 1"));
            }
        }
    }
}
