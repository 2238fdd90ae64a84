//! `levee gen-docs DIR` (hidden): the manual pages and shell completions,
//! generated from what the binary itself accepts, so they cannot drift.
//!
//! * levee(8): from the clap definitions of [`crate::Cli`] (every
//!   subcommand listed), and levee-SUBCOMMAND(8) for each subcommand's
//!   options (clap_mangen);
//! * levee.toml(5): from the configuration schema table
//!   (`levee_config::schema`), which a test keeps equal to the keys the
//!   configuration reader accepts;
//! * completions/levee.bash and completions/_levee (zsh) (clap_complete).
//!
//! The Debian package runs this at build time (dist/debian/build.sh).

use std::path::Path;
use std::process::ExitCode;

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn generate(dir: &Path, mut cmd: clap::Command) -> Result<(), String> {
    let man = dir.join("man");
    let comp = dir.join("completions");
    for d in [&man, &comp] {
        std::fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
    }
    // The pages list the real subcommands (no `help`, which has no page).
    let mut man_cmd = cmd.clone().disable_help_subcommand(true);
    man_cmd.build();
    cmd.build();
    let page = |c: clap::Command, section: &str| -> Result<Vec<u8>, String> {
        let mut buf = Vec::new();
        clap_mangen::Man::new(c).section(section).render(&mut buf).map_err(|e| e.to_string())?;
        Ok(buf)
    };
    let mut top = page(man_cmd.clone(), "8")?;
    top.extend_from_slice(b".SH \"SEE ALSO\"\n");
    let subs: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .map(|s| s.get_name().to_string())
        .collect();
    let refs: Vec<String> = subs.iter().map(|s| format!("\\fBlevee\\-{s}\\fR(8)")).collect();
    top.extend_from_slice(format!("{}, \\fBlevee.toml\\fR(5)\n", refs.join(", ")).as_bytes());
    write(&man.join("levee.8"), &top)?;
    for s in &subs {
        let sub = cmd
            .find_subcommand(s)
            .expect("listed above")
            .clone()
            .display_name(format!("levee-{s}"))
            .bin_name(format!("levee {s}"));
        write(&man.join(format!("levee-{s}.8")), &page(sub, "8")?)?;
    }
    write(&man.join("levee.toml.5"), levee_config::schema::man_page(env!("CARGO_PKG_VERSION")).as_bytes())?;
    let mut bash = Vec::new();
    clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, "levee", &mut bash);
    write(&comp.join("levee.bash"), &bash)?;
    let mut zsh = Vec::new();
    clap_complete::generate(clap_complete::Shell::Zsh, &mut cmd, "levee", &mut zsh);
    write(&comp.join("_levee"), &zsh)?;
    Ok(())
}

/// Writes DIR/man/*.8, DIR/man/levee.toml.5, DIR/completions/* for the
/// command line `cmd` (the binary's `Cli`).
pub fn run(dir: &Path, cmd: clap::Command) -> ExitCode {
    match generate(dir, cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("levee gen-docs: {e}");
            ExitCode::from(2)
        }
    }
}
