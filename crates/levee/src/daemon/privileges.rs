//! Giving up root after the sockets are bound: `[server] user` and
//! `group` (`levee_io::privs`: setgroups, setresgid, setresuid).

use levee_config::Config;

/// Becomes `[server] user`/`group` when configured (after binding). A
/// configured user that cannot be taken stops the start: running as root
/// by mistake is worse than not running.
pub fn drop_privileges(cfg: &Config) -> Result<(), String> {
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
