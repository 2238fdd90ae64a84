//! `levee serve`: starting the server, running it, stopping it.
//!
//! * [`limits`]: the open-file limit the configuration needs, fitted at
//!   start;
//! * [`privileges`]: becoming `[server] user` after binding;
//! * [`sd_notify`]: telling systemd READY, RELOADING, STOPPING.

pub mod limits;
pub mod privileges;
pub mod sd_notify;
