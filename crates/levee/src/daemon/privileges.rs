//! Giving up root after the sockets are bound: `[server] user` and
//! `group` (`levee_io::privs`: setgroups, setresgid, setresuid); and,
//! for a server started unprivileged with capabilities (the systemd unit
//! gives `CAP_NET_BIND_SERVICE` as an ambient capability), clearing every
//! capability once the sockets are bound ([`drop_capabilities`]): nothing
//! after start needs one (reloads do not bind).

use levee_config::Config;

/// Becomes `[server] user`/`group` when configured (after binding). A
/// configured user that cannot be taken stops the start: running as root
/// by mistake is worse than not running.
pub fn drop_privileges(cfg: &Config) -> Result<(), String> {
    become_user(cfg)?;
    if levee_io::privs::euid() != 0 {
        drop_capabilities()?;
    }
    Ok(())
}

/// Clears the ambient, inheritable, effective and permitted sets of the
/// calling thread (called before any long-lived thread is started, so
/// every thread of the server inherits the empty sets). A process
/// without capabilities changes nothing. Root keeps its capabilities:
/// it is root either way, and `[server] user` is the way out of it.
pub fn drop_capabilities() -> Result<(), String> {
    use caps::CapSet;
    let held = caps::read(None, CapSet::Permitted).map_err(|e| format!("cannot read capabilities: {e}"))?;
    if held.is_empty() {
        return Ok(());
    }
    for set in [CapSet::Ambient, CapSet::Inheritable, CapSet::Effective, CapSet::Permitted] {
        caps::clear(None, set).map_err(|e| format!("cannot clear the {set:?} capabilities: {e}"))?;
    }
    let names: Vec<String> = held.iter().map(|c| c.to_string()).collect();
    tracing::info!(dropped = %names.join(","), "capabilities dropped after binding");
    Ok(())
}

/// `[server] user`/`group`, when configured.
fn become_user(cfg: &Config) -> Result<(), String> {
    let Some(user) = &cfg.user else {
        if cfg.group.is_some() {
            return Err("server.group is set without server.user".into());
        }
        return Ok(());
    };
    let ids = levee_io::privs::resolve(user, cfg.group.as_deref()).map_err(|e| format!("server.user: {e}"))?;
    if levee_io::privs::euid() != 0 {
        if levee_io::privs::euid() == ids.uid {
            return Ok(());
        }
        return Err(format!(
            "server.user = {user:?}: levee must start as root to change user (running as uid {})",
            levee_io::privs::euid()
        ));
    }
    levee_io::privs::drop_to(ids).map_err(|e| format!("cannot drop privileges to {user}: {e}"))?;
    tracing::info!(user = %user, uid = ids.uid, gid = ids.gid, "dropped root privileges");
    Ok(())
}
