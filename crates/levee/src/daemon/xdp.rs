//! `--xdp IFACE` / `[xdp] interfaces`: setting up the AF_XDP answering
//! path at start, while levee still holds its privileges.
//!
//! For each interface: look it up, attach the XDP program
//! (`levee_io::xdp::prog`), open one AF_XDP socket per receive queue and
//! register it in the program's `xsks` map. Any failure on an interface
//! (no such interface, no CAP_NET_ADMIN/CAP_BPF, a driver without XDP)
//! leaves that interface to the UDP sockets, which are bound as always,
//! with a warning naming the cause: the server starts either way.
//!
//! What this returns must live until the drivers stop: the program is
//! detached when [`Setup::programs`] is dropped (or when the process
//! exits, since it is attached through a BPF link). Nothing here needs
//! privileges afterwards, so the path keeps working after `[server] user`
//! takes effect.

use levee_config::Config;
use levee_io::xdp::prog::Attached;

use crate::gate::Loaded;
use levee_io::xdp::{Interface, XdpError, Xsk, XskConfig};

/// One opened queue, waiting for its worker.
pub struct Queue {
    /// The interface's name.
    pub iface: String,
    /// The receive queue.
    pub queue: u32,
    /// Its socket.
    pub xsk: Xsk,
}

/// The AF_XDP path as set up at start.
#[derive(Default)]
pub struct Setup {
    /// The sockets, one per (interface, queue).
    pub queues: Vec<Queue>,
    /// The attached programs (keep until shutdown).
    pub programs: Vec<Attached>,
    /// With the flood gate: each interface, how its program is attached
    /// or why it is not (`levee ctl gate`).
    pub gated: Vec<crate::gate::XdpPlace>,
}

/// Sets up every configured interface; the ones that fail are logged and
/// left to the sockets. With the flood gate open (`gate`), its program
/// (`levee_xdp`: admission, then the redirect) is attached instead of
/// the plain redirect.
pub fn setup(cfg: &Config, mut gate: Option<&mut Loaded>) -> Setup {
    let mut s = Setup::default();
    if cfg.xdp.interfaces.is_empty() {
        return s;
    }
    let port = cfg.listen.first().map_or(53, |a| a.port());
    if cfg.listen.iter().any(|a| a.port() != port) {
        tracing::warn!(port, "listen addresses use several ports; the AF_XDP path answers port {port} only");
    }
    // The plain redirect takes only datagrams to levee's addresses, unless
    // it listens on a wildcard (the gate's program does the same with its
    // own address map).
    let addrs = cfg.served_addresses();
    let xc = XskConfig { frames: cfg.xdp.frames, frame_size: cfg.xdp.frame_size, zero_copy: cfg.xdp.zero_copy };
    for name in &cfg.xdp.interfaces {
        let r = match gate.as_deref_mut() {
            Some(g) => {
                let r = gated(g, name, cfg.xdp.queues, &xc);
                s.gated.push(place(name, &r));
                r.map(|(_, q)| (None, q))
            }
            None => interface(name, port, &addrs, cfg.xdp.queues, &xc).map(|(p, q)| (Some(p), q)),
        };
        match r {
            Ok((prog, queues)) => {
                let mode = queues.first().map(|q| q.xsk.mode());
                let gated = prog.is_none();
                tracing::info!(interface = %name, queues = queues.len(), mode = %mode.map(|m| m.to_string()).unwrap_or_default(), port, gated, "AF_XDP answering path on {name}");
                s.programs.extend(prog);
                s.queues.extend(queues);
            }
            Err(e) => {
                tracing::warn!(interface = %name, "AF_XDP path not available on {name}, UDP stays on the sockets: {e}")
            }
        }
    }
    s
}

/// One interface behind the flood gate: the gate's XDP program attached
/// (it stays attached while the gate lives), then a socket per queue
/// registered in the gate's `xsks` map.
fn gated(
    g: &mut Loaded,
    name: &str,
    max_queues: u32,
    xc: &XskConfig,
) -> Result<(levee_io::gate::XdpMode, Vec<Queue>), XdpError> {
    let iface = Interface::find(name)?;
    let gate = g.gate_mut();
    let mode = gate.attach_xdp(name).map_err(|e| XdpError::Program(e.to_string()))?;
    if mode != levee_io::gate::XdpMode::Native {
        tracing::warn!(interface = %name, "the flood gate's XDP program runs in generic mode on {name}: it works, but saves less");
    }
    let n = if max_queues == 0 { iface.queues } else { iface.queues.min(max_queues) };
    let mut queues = Vec::with_capacity(n as usize);
    for queue in 0..n {
        let xsk = iface.open(queue, xc)?;
        gate.register_xsk(queue, std::os::fd::AsRawFd::as_raw_fd(&xsk))
            .map_err(|e| XdpError::Program(format!("{name} queue {queue}: {e}")))?;
        queues.push(Queue { iface: name.to_string(), queue, xsk });
    }
    Ok((mode, queues))
}

/// What became of an interface behind the gate, for the operator.
fn place(name: &str, r: &Result<(levee_io::gate::XdpMode, Vec<Queue>), XdpError>) -> crate::gate::XdpPlace {
    let mut p = crate::gate::XdpPlace { interface: name.to_string(), ..Default::default() };
    match r {
        Ok((mode, queues)) => {
            p.mode = match mode {
                levee_io::gate::XdpMode::Native => "native".into(),
                levee_io::gate::XdpMode::Generic => "generic".into(),
            };
            p.queues = queues.len();
            p.socket_mode = queues.first().map(|q| q.xsk.mode().to_string()).unwrap_or_default();
        }
        Err(e) => p.error = Some(e.to_string()),
    }
    p
}

/// One interface: the program attached, then a socket per queue.
fn interface(
    name: &str,
    port: u16,
    addrs: &[std::net::IpAddr],
    max_queues: u32,
    xc: &XskConfig,
) -> Result<(Attached, Vec<Queue>), XdpError> {
    let iface = Interface::find(name)?;
    let mut prog = Attached::attach(&iface, port, addrs)?;
    let n = if max_queues == 0 { iface.queues } else { iface.queues.min(max_queues) };
    let mut queues = Vec::with_capacity(n as usize);
    for queue in 0..n {
        let xsk = iface.open(queue, xc)?;
        prog.register(queue, &xsk)?;
        queues.push(Queue { iface: name.to_string(), queue, xsk });
    }
    Ok((prog, queues))
}
