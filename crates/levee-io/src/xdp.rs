//! The AF_XDP answering path: DNS over UDP read and written as whole
//! Ethernet frames in user space, below the kernel's socket layer.
//!
//! An XDP program on the interface ([`prog`]) redirects the UDP datagrams
//! for levee's port to the AF_XDP socket ([`Xsk`]) of the receive queue they
//! arrived on; everything else (TCP, ICMP, ARP, other ports, IPv4
//! fragments, IPv6 extension headers, VLAN-tagged frames) goes to the
//! kernel as before. One worker thread per (interface, queue) runs
//! [`run_worker`]:
//!
//! ```text
//! completion ring -> free TX frames
//! RX ring (up to BATCH frames) -> frame::parse -> handler.handle(payload)
//!     -> reply written after the headers in a free TX frame
//!     -> frame::write_reply (MACs, addresses, ports swapped; checksums)
//! RX frames -> fill ring;  replies -> TX ring;  sendto() only when the
//! kernel asks to be woken (XDP_USE_NEED_WAKEUP)
//! RX ring empty: after a batch of several frames, nap `coalesce` (then
//!                look again); otherwise poll() until a frame arrives
//! ```
//!
//! **Coalescing.** Under load, waking on every frame costs more than the
//! frame: on a veth pair in copy mode each wake-up is a cross-CPU wake
//! from the sender's softirq and each batch a `sendto` that pushes the
//! replies through the kernel, so one- or two-frame batches spend most of
//! the core on the kernel's per-batch work. After a batch of more than
//! one frame, when the RX ring is empty, the worker sends its replies,
//! then sleeps `coalesce` (`[xdp] coalesce-us`, default 100 µs) without
//! waiting on the socket, so the sender's softirq wakes no one, and takes
//! what arrived meanwhile as one batch; under load every nap yields a
//! batch of several frames, so the worker keeps napping, and when the
//! load falls to less than a frame per nap it goes back to blocking in
//! `poll()`. Only a frame that arrives during a nap waits, at most
//! `coalesce` (a NIC's interrupt moderation does the same); a lone query,
//! or a client that sends its next query when the answer comes, is
//! answered at once. `coalesce` = 0 turns it off.
//!
//! The handler is the UDP driver's ([`crate::udp::UdpHandler`]): the daemon
//! answers AF_XDP queries with the very same code, counters and load
//! signals as socket queries. The reply's room is the smallest of the TX
//! frame, the interface's MTU and the handler's `tx_size` (the configured
//! UDP payload size), so a large answer is truncated (TC=1) exactly as on
//! the socket path when it does not fit.
//!
//! Every buffer is fixed when the socket opens ([`XskConfig::frames`]
//! frames of [`XskConfig::frame_size`] octets); the loop never allocates.
//! Opening needs CAP_NET_ADMIN (and CAP_BPF or root for the program); a
//! socket once open keeps working after the process drops root.

use std::ffi::CString;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::frame;
use crate::udp::{BatchInfo, UdpHandler};

pub mod prog;
mod types;
mod xsk;

pub use types::{Mode, XdpError, XskConfig};
pub use xsk::Xsk;

/// Frames per RX/TX batch.
pub const BATCH: u32 = 64;

/// An interface as the AF_XDP path needs it.
#[derive(Clone, Debug)]
pub struct Interface {
    /// Its name.
    pub name: String,
    /// Its index.
    pub index: u32,
    /// Its MTU (bounds the reply size).
    pub mtu: usize,
    /// Its receive queues (one worker each).
    pub queues: u32,
}

impl Interface {
    /// Looks `name` up (index, MTU and receive queues from sysfs).
    pub fn find(name: &str) -> Result<Interface, XdpError> {
        let none = || XdpError::NoInterface(name.to_string());
        if name.is_empty() || name.contains('/') || name.len() >= libc::IF_NAMESIZE {
            return Err(none());
        }
        let c = CString::new(name).map_err(|_| none())?;
        // SAFETY: a NUL-terminated name.
        let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
        if index == 0 {
            return Err(none());
        }
        let sys = format!("/sys/class/net/{name}");
        let mtu =
            std::fs::read_to_string(format!("{sys}/mtu")).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(1500);
        let queues = std::fs::read_dir(format!("{sys}/queues"))
            .map(|d| d.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("rx-")).count() as u32)
            .unwrap_or(1)
            .max(1);
        Ok(Interface { name: name.to_string(), index, mtu, queues })
    }

    /// Opens the AF_XDP socket of receive queue `queue`.
    pub fn open(&self, queue: u32, cfg: &XskConfig) -> Result<Xsk, XdpError> {
        if !cfg.frames.is_power_of_two() || !(64..=65536).contains(&cfg.frames) {
            return Err(XdpError::Setup("frames", io::Error::from(io::ErrorKind::InvalidInput)));
        }
        if cfg.frame_size != 2048 && cfg.frame_size != 4096 {
            return Err(XdpError::Setup("frame size", io::Error::from(io::ErrorKind::InvalidInput)));
        }
        Xsk::open(self.index, queue, self.mtu, cfg)
    }
}

/// One worker's counters (relaxed atomics, added once per batch).
#[derive(Debug, Default)]
pub struct XdpStats {
    /// Frames received from the RX ring.
    pub received: AtomicU64,
    /// Replies put on the TX ring.
    pub sent: AtomicU64,
    /// Frames `frame::parse` refused (dropped).
    pub unparsable: AtomicU64,
    /// Replies dropped for want of a free TX frame or TX ring slot.
    pub tx_full: AtomicU64,
    /// Frames the kernel dropped before they reached this socket (RX ring
    /// full, no fill frame, invalid descriptor), as `XDP_STATISTICS` says.
    pub kernel_dropped: AtomicU64,
    /// Naps taken to coalesce the next batch.
    pub naps: AtomicU64,
}

/// Per-batch tallies, added to [`XdpStats`] once per batch.
#[derive(Default)]
struct Tally {
    received: u64,
    sent: u64,
    unparsable: u64,
    tx_full: u64,
}

/// How a worker runs.
#[derive(Clone, Copy, Debug)]
pub struct WorkerOptions {
    /// Octets of room for a reply (the configured UDP payload size).
    pub tx_size: usize,
    /// The nap after a batch when the RX ring is empty (zero: none); see
    /// "Coalescing" above.
    pub coalesce: Duration,
}

/// Runs the AF_XDP worker of `xsk` until `stop`: each datagram's payload
/// goes to `handler` exactly as the UDP worker's would, with at most
/// `opts.tx_size` octets of room for the reply.
pub fn run_worker<H: UdpHandler>(
    mut xsk: Xsk,
    mut handler: H,
    opts: WorkerOptions,
    stats: Arc<XdpStats>,
    stop: Arc<AtomicBool>,
) {
    let tx_size = opts.tx_size;
    let mut drops_seen = xsk.kernel_drops();
    if !opts.coalesce.is_zero() {
        set_timer_slack(opts.coalesce);
    }
    // Frames in the last batch since the last nap or poll.
    let mut last = 0;
    while !stop.load(Ordering::Relaxed) {
        reap_completions(&mut xsk);
        let n = xsk.rx.ready(BATCH);
        if n == 0 {
            if xsk.tx.needs_wakeup() && xsk.tx.free() <= xsk.tx.mask() {
                xsk.kick_tx();
            }
            // Nap only after a batch of several frames: several queries
            // came in while the last batch waited, so more will; after a
            // lone frame (a quiet link, or one client asking and waiting
            // for each answer), block instead, so that the next query is
            // answered the moment it arrives.
            if last > 1 && !opts.coalesce.is_zero() {
                last = 0;
                stats.naps.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(opts.coalesce);
                continue;
            }
            last = 0;
            if !xsk.wait(250) {
                handler.idle();
            }
            continue;
        }
        last = n;
        let mut dropped = 0;
        if n == BATCH {
            let total = xsk.kernel_drops();
            dropped = total.wrapping_sub(drops_seen);
            drops_seen = total;
            stats.kernel_dropped.fetch_add(dropped, Ordering::Relaxed);
        }
        handler.batch(BatchInfo {
            received: n as usize,
            full: n == BATCH,
            dropped: dropped.min(u32::MAX as u64) as u32,
        });
        let mut t = Tally { received: u64::from(n), ..Tally::default() };
        for i in 0..n {
            let d = xsk.rx.get(i);
            answer_one(&mut xsk, &mut handler, d, tx_size, &mut t);
        }
        // The RX frames go straight back to the kernel. The fill ring has
        // room: it holds at most the receive half, and these n are out of it.
        for i in 0..n {
            let base = xsk.rx.get(i).addr & !(u64::from(xsk.umem.frame_size) - 1);
            xsk.fill.push(base);
        }
        xsk.rx.release(n);
        xsk.fill.submit();
        xsk.tx.submit();
        if t.sent > 0 && xsk.tx.needs_wakeup() {
            xsk.kick_tx();
        }
        stats.received.fetch_add(t.received, Ordering::Relaxed);
        stats.sent.fetch_add(t.sent, Ordering::Relaxed);
        stats.unparsable.fetch_add(t.unparsable, Ordering::Relaxed);
        stats.tx_full.fetch_add(t.tx_full, Ordering::Relaxed);
    }
}

/// Makes this thread's timers precise to a tenth of `nap` (at least 1 µs):
/// the kernel's default slack (50 µs) would stretch a 50 µs nap to 100.
fn set_timer_slack(nap: Duration) {
    let ns = (nap.as_nanos() / 10).clamp(1_000, 50_000) as libc::c_ulong;
    // SAFETY: PR_SET_TIMERSLACK takes an integer and affects only the
    // calling thread; a failure leaves the default slack.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, ns, 0 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong) };
}

/// Moves sent frames from the completion ring back to the free stack.
fn reap_completions(xsk: &mut Xsk) {
    let n = xsk.comp.ready(u32::MAX);
    for i in 0..n {
        let a = xsk.comp.get(i);
        xsk.tx_free.push(a);
    }
    xsk.comp.release(n);
}

/// Parses one received frame, answers it into a free TX frame and queues
/// the reply on TX.
fn answer_one<H: UdpHandler>(xsk: &mut Xsk, handler: &mut H, d: libc::xdp_desc, tx_size: usize, t: &mut Tally) {
    // SAFETY: the descriptor came from the RX ring, so the kernel handed
    // this range of one receive frame to us until we give it back (after
    // this function); no other slice covers it (TX frames are the other
    // half of the UMEM), and `xsk`, which owns the UMEM, outlives it.
    let rx: &[u8] = unsafe { xsk.umem.slice_mut(d.addr, d.len as usize) };
    let Ok(dgram) = frame::parse(rx) else {
        t.unparsable += 1;
        return;
    };
    if xsk.tx_free.is_empty() {
        reap_completions(xsk);
    }
    if xsk.tx.free() == 0 || xsk.tx_free.is_empty() {
        t.tx_full += 1;
        return;
    }
    let addr = xsk.tx_free.pop().expect("checked above");
    let hlen = dgram.reply_header_len();
    let ip_udp = hlen - frame::ETH_LEN;
    let room = (xsk.umem.frame_size as usize - hlen).min(xsk.mtu.saturating_sub(ip_udp)).min(tx_size);
    // SAFETY: `addr` was on the free stack: a TX frame we own, distinct
    // from the RX frame `rx` lies in; `xsk` outlives the slice.
    let tx = unsafe { xsk.umem.slice_mut(addr, xsk.umem.frame_size as usize) };
    let query = &rx[dgram.payload.clone()];
    let Some(n) = handler.handle(query, dgram.src, &mut tx[hlen..hlen + room]) else {
        xsk.tx_free.push(addr);
        return;
    };
    match frame::write_reply(&dgram, tx, n.min(room)) {
        Some(len) => {
            xsk.tx.push(libc::xdp_desc { addr, len: len as u32, options: 0 });
            t.sent += 1;
        }
        None => xsk.tx_free.push(addr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_interface_is_named() {
        for name in ["nosuchif0", "", "a/b", "much-too-long-name"] {
            let e = Interface::find(name).unwrap_err();
            assert!(matches!(e, XdpError::NoInterface(_)), "{name}: {e}");
            assert!(e.to_string().contains("no interface named"), "{e}");
        }
    }

    #[test]
    fn loopback_is_found_with_its_mtu_and_a_queue() {
        let lo = Interface::find("lo").unwrap();
        assert_eq!(lo.index, 1);
        assert!(lo.mtu >= 1500, "{}", lo.mtu);
        assert!(lo.queues >= 1);
    }

    #[test]
    fn bad_socket_resources_are_refused_before_any_syscall() {
        let lo = Interface::find("lo").unwrap();
        for cfg in [
            XskConfig { frames: 1000, ..XskConfig::default() },
            XskConfig { frames: 32, ..XskConfig::default() },
            XskConfig { frame_size: 3000, ..XskConfig::default() },
        ] {
            assert!(matches!(lo.open(0, &cfg), Err(XdpError::Setup(..))), "{cfg:?}");
        }
    }

    #[test]
    fn the_embedded_object_is_an_aligned_bpf_elf_with_its_program_and_map() {
        let o = prog::OBJECT;
        // The ELF parser reads headers in place: a misaligned buffer is
        // refused at load time ("error parsing ELF data").
        assert_eq!(o.as_ptr() as usize % 8, 0, "OBJECT is not 8-octet aligned");
        assert_eq!(&o[..4], b"\x7fELF");
        assert_eq!(u16::from_le_bytes([o[18], o[19]]), 247, "e_machine is not EM_BPF");
        let has = |s: &[u8]| o.windows(s.len()).any(|w| w == s);
        assert!(has(prog::PROGRAM.as_bytes()) && has(b"xsks\0") && has(b"dns_port\0"));
    }

    #[test]
    fn errors_say_what_is_needed() {
        let e = XdpError::from_socket(io::Error::from_raw_os_error(libc::EPERM));
        assert!(e.to_string().contains("CAP_NET_ADMIN and CAP_BPF"), "{e}");
        let e = XdpError::from_socket(io::Error::from_raw_os_error(libc::EAFNOSUPPORT));
        assert!(e.to_string().contains("no AF_XDP"), "{e}");
        let e = XdpError::Bind(Mode::ZeroCopy, io::Error::from_raw_os_error(libc::EOPNOTSUPP));
        assert!(e.to_string().contains("zero-copy mode") && e.to_string().contains("driver without XDP"), "{e}");
    }
}
