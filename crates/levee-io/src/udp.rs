//! UDP workers: one thread per socket, batched `recvmmsg`/`sendmmsg`, and
//! replies sent from the address each query arrived at.
//!
//! Each worker owns one `SO_REUSEPORT` socket, so the kernel spreads
//! queries over the workers without any shared state in user space. A
//! worker loops:
//!
//! ```text
//! recvmmsg(up to BATCH datagrams, with IP_PKTINFO/IPV6_PKTINFO)
//! for each datagram: handler.handle(query, client, reply buffer)
//! sendmmsg(all replies, each with a PKTINFO cmsg naming its source address)
//! ```
//!
//! All buffers, iovecs, message headers and control buffers are allocated
//! once when the worker starts; the loop itself never allocates. The
//! socket has a receive timeout so the worker notices the stop flag.

use std::io;
use std::mem::{size_of, size_of_val, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Protocol, Type};

/// The socket type [`bind_udp`] returns and [`run_worker`] takes (so a
/// caller can hold sockets bound before it starts the workers).
pub use socket2::Socket;

/// Datagrams per `recvmmsg`/`sendmmsg` call.
pub const BATCH: usize = 32;
/// Largest query accepted over UDP.
pub const MAX_QUERY: usize = 4096;
/// Room for one PKTINFO control message (IPv6 is the larger).
const CMSG_ROOM: usize = 64;
/// Receive buffer we ask for: enough to ride out a scheduling hiccup at a
/// few hundred thousand packets per second (about 10 ms of small queries)
/// instead of dropping, without letting a sustained flood queue for long.
pub const RCVBUF: usize = 4 << 20;

/// What the kernel told us about one receive batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchInfo {
    /// Datagrams received in this batch (1..=[`BATCH`]).
    pub received: usize,
    /// The batch was full: more datagrams are queued behind it.
    pub full: bool,
    /// Datagrams the kernel dropped on this socket since the previous
    /// batch because the receive buffer was full (SO_MEMINFO's drop
    /// count, read after full batches only: the kernel drops only when the
    /// queue is full, so drops always show up by the next full batch).
    pub dropped: u32,
}

/// What a UDP worker calls for each datagram.
pub trait UdpHandler: Send {
    /// Called once per receive batch, before its datagrams are handled:
    /// the place to read clocks and judge load once per batch.
    fn batch(&mut self, _info: BatchInfo) {}
    /// Answers `query` from `client` into `out`; `Some(n)` sends `n` octets.
    fn handle(&mut self, query: &[u8], client: SocketAddr, out: &mut [u8]) -> Option<usize>;
    /// Called when a receive times out (no datagram for the socket's
    /// timeout): the place to let go of state a busy worker would drop on
    /// its next query, such as a replaced zone snapshot.
    fn idle(&mut self) {}
}

/// Creates one UDP socket bound to `addr` with `SO_REUSEPORT`, packet-info
/// reporting on wildcard addresses, and a receive timeout.
pub fn bind_udp(addr: SocketAddr) -> io::Result<Socket> {
    let domain = if addr.is_ipv4() { Domain::IPV4 } else { Domain::IPV6 };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    // On a wildcard address, ask for the destination address of each
    // datagram so the reply leaves from it. A socket bound to one address
    // replies from that address anyway, and skipping the control message
    // saves the kernel work on every datagram.
    let fd = s.as_raw_fd();
    if addr.ip().is_unspecified() {
        let (level, opt) = if addr.is_ipv4() {
            (libc::IPPROTO_IP, libc::IP_PKTINFO)
        } else {
            (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO)
        };
        set_int(fd, level, opt, 1)?;
    }
    // Kernel drops are read with SO_MEMINFO after full batches
    // (`socket_drops`), not with SO_RXQ_OVFL: that option makes the kernel
    // build a control message for every datagram (about 5 % of the CPU a
    // query costs on loopback, in a perf profile).
    // Past net.core.rmem_max when privileged (SO_RCVBUFFORCE), else as
    // much as the system allows.
    let forced = set_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, RCVBUF as libc::c_int).is_ok();
    if !forced {
        let _ = s.set_recv_buffer_size(RCVBUF);
    }
    let _ = s.set_send_buffer_size(4 << 20);
    s.set_read_timeout(Some(Duration::from_millis(250)))?;
    s.bind(&addr.into())?;
    Ok(s)
}

/// `setsockopt` with an integer value, which socket2 lacks for these options.
fn set_int(fd: std::os::fd::RawFd, level: libc::c_int, opt: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: the caller passes a socket it owns; the option value points
    // to a live c_int of the size passed.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            &value as *const libc::c_int as *const libc::c_void,
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Preallocated batch state: every pointer in the headers points into the
/// boxed slices of the same struct, which never move after creation.
struct Batch {
    rx_bufs: Box<[[u8; MAX_QUERY]]>,
    rx_names: Box<[libc::sockaddr_storage]>,
    rx_iov: Box<[libc::iovec]>,
    rx_ctrl: Box<[[u8; CMSG_ROOM]]>,
    rx_hdr: Box<[libc::mmsghdr]>,
    tx_bufs: Box<[u8]>,
    tx_size: usize,
    tx_names: Box<[libc::sockaddr_storage]>,
    tx_iov: Box<[libc::iovec]>,
    tx_ctrl: Box<[[u8; CMSG_ROOM]]>,
    tx_hdr: Box<[libc::mmsghdr]>,
}

// SAFETY: the raw pointers inside the headers only point into this
// struct's own heap allocations, which move with it between threads.
unsafe impl Send for Batch {}

impl Batch {
    fn new(tx_size: usize) -> Box<Batch> {
        // SAFETY: these are plain C structs for which all-zero is valid.
        let z_ss: libc::sockaddr_storage = unsafe { zeroed() };
        let z_iov = libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 };
        // SAFETY: as above.
        let z_hdr: libc::mmsghdr = unsafe { zeroed() };
        let mut b = Box::new(Batch {
            rx_bufs: vec![[0u8; MAX_QUERY]; BATCH].into_boxed_slice(),
            rx_names: vec![z_ss; BATCH].into_boxed_slice(),
            rx_iov: vec![z_iov; BATCH].into_boxed_slice(),
            rx_ctrl: vec![[0u8; CMSG_ROOM]; BATCH].into_boxed_slice(),
            rx_hdr: vec![z_hdr; BATCH].into_boxed_slice(),
            tx_bufs: vec![0u8; BATCH * tx_size].into_boxed_slice(),
            tx_size,
            tx_names: vec![z_ss; BATCH].into_boxed_slice(),
            tx_iov: vec![z_iov; BATCH].into_boxed_slice(),
            tx_ctrl: vec![[0u8; CMSG_ROOM]; BATCH].into_boxed_slice(),
            tx_hdr: vec![z_hdr; BATCH].into_boxed_slice(),
        });
        for i in 0..BATCH {
            b.rx_iov[i].iov_base = b.rx_bufs[i].as_mut_ptr() as *mut libc::c_void;
            b.rx_iov[i].iov_len = MAX_QUERY;
        }
        b.reset_rx();
        b
    }

    /// Re-arms the receive headers (the kernel overwrites lengths).
    fn reset_rx(&mut self) {
        for i in 0..BATCH {
            let h = &mut self.rx_hdr[i].msg_hdr;
            h.msg_name = &mut self.rx_names[i] as *mut libc::sockaddr_storage as *mut libc::c_void;
            h.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = &mut self.rx_iov[i];
            h.msg_iovlen = 1;
            h.msg_control = self.rx_ctrl[i].as_mut_ptr() as *mut libc::c_void;
            h.msg_controllen = CMSG_ROOM as _;
            h.msg_flags = 0;
            self.rx_hdr[i].msg_len = 0;
        }
    }
}

/// Runs a UDP worker on `socket` until `stop` is set.
pub fn run_worker<H: UdpHandler>(socket: Socket, mut handler: H, tx_size: usize, stop: Arc<AtomicBool>) {
    let fd = socket.as_raw_fd();
    let mut b = Batch::new(tx_size.clamp(512, 65535));
    let mut drops_seen: u32 = 0;
    while !stop.load(Ordering::Relaxed) {
        b.reset_rx();
        // SAFETY: `rx_hdr` holds BATCH initialised headers whose pointers
        // refer to live buffers in `b`; `fd` is a valid socket.
        let n = unsafe {
            libc::recvmmsg(fd, b.rx_hdr.as_mut_ptr(), BATCH as libc::c_uint, libc::MSG_WAITFORONE, std::ptr::null_mut())
        };
        if n <= 0 {
            handler.idle();
            continue; // timeout, EINTR or a transient error: check the stop flag again
        }
        // The drop counter is cumulative; the batch's last datagram
        // carries the newest value (the kernel leaves it out while it is 0).
        // The drop counter is cumulative; it can only have grown while the
        // queue was full, which a full batch shows, so only then is it read.
        let mut dropped = 0;
        if n as usize == BATCH {
            if let Some(total) = socket_drops(fd) {
                dropped = total.wrapping_sub(drops_seen);
                drops_seen = total;
            }
        }
        handler.batch(BatchInfo { received: n as usize, full: n as usize == BATCH, dropped });
        let mut out = 0usize;
        for i in 0..n as usize {
            let len = b.rx_hdr[i].msg_len as usize;
            if b.rx_hdr[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                continue;
            }
            let Some(client) = sockaddr_to_std(&b.rx_names[i]) else { continue };
            let dst = pktinfo(&b.rx_hdr[i].msg_hdr);
            let tx_size = b.tx_size;
            let (query, tx) = (&b.rx_bufs[i][..len], &mut b.tx_bufs[out * tx_size..(out + 1) * tx_size]);
            let Some(rlen) = handler.handle(query, client, tx) else { continue };
            let rlen = rlen.min(tx_size);
            // Fill the send header for slot `out`. The reply goes to the
            // address the query came from: copy the octets the kernel
            // wrote, a sockaddr_in or sockaddr_in6 (a fixed size, so the
            // copy is two moves, not a call).
            // SAFETY: both are live, distinct sockaddr_storage values of the
            // batch, larger than a sockaddr_in6.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    &b.rx_names[i] as *const libc::sockaddr_storage as *const u8,
                    &mut b.tx_names[out] as *mut libc::sockaddr_storage as *mut u8,
                    size_of::<libc::sockaddr_in6>(),
                );
            }
            b.tx_iov[out].iov_base = tx.as_mut_ptr() as *mut libc::c_void;
            b.tx_iov[out].iov_len = rlen;
            let ctrl_len = write_pktinfo(&mut b.tx_ctrl[out], dst);
            let h = &mut b.tx_hdr[out].msg_hdr;
            h.msg_name = &mut b.tx_names[out] as *mut libc::sockaddr_storage as *mut libc::c_void;
            h.msg_namelen = sockaddr_len(client);
            h.msg_iov = &mut b.tx_iov[out];
            h.msg_iovlen = 1;
            h.msg_control =
                if ctrl_len > 0 { b.tx_ctrl[out].as_mut_ptr() as *mut libc::c_void } else { std::ptr::null_mut() };
            h.msg_controllen = ctrl_len as _;
            h.msg_flags = 0;
            out += 1;
        }
        let mut sent = 0usize;
        while sent < out {
            // SAFETY: headers [sent, out) were filled above and point into `b`.
            let r = unsafe { libc::sendmmsg(fd, b.tx_hdr.as_mut_ptr().add(sent), (out - sent) as libc::c_uint, 0) };
            if r <= 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                // Drop the rest of this batch (e.g. ENOBUFS, unreachable client).
                sent += 1;
                continue;
            }
            sent += r as usize;
        }
    }
}

/// The destination address reported by IP_PKTINFO / IPV6_PKTINFO.
fn pktinfo(h: &libc::msghdr) -> Option<(IpAddr, u32)> {
    // SAFETY: `h` was filled by recvmmsg; the CMSG macros walk within
    // msg_control/msg_controllen, and each data pointer is read with
    // read_unaligned for the type the level/type pair announces.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(h);
        while !c.is_null() {
            let hd = &*c;
            if hd.cmsg_level == libc::IPPROTO_IP && hd.cmsg_type == libc::IP_PKTINFO {
                let pi = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const libc::in_pktinfo);
                let a = Ipv4Addr::from(u32::from_be(pi.ipi_addr.s_addr));
                return Some((IpAddr::V4(a), pi.ipi_ifindex as u32));
            }
            if hd.cmsg_level == libc::IPPROTO_IPV6 && hd.cmsg_type == libc::IPV6_PKTINFO {
                let pi = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const libc::in6_pktinfo);
                return Some((IpAddr::V6(Ipv6Addr::from(pi.ipi6_addr.s6_addr)), pi.ipi6_ifindex));
            }
            c = libc::CMSG_NXTHDR(h, c);
        }
    }
    None
}

/// `SO_MEMINFO` (asm-generic/socket.h; not in the libc crate).
const SO_MEMINFO: libc::c_int = 55;

/// The socket's cumulative count of datagrams dropped on receive
/// (`SK_MEMINFO_DROPS` of `SO_MEMINFO`).
pub(crate) fn socket_drops(fd: libc::c_int) -> Option<u32> {
    let mut info = [0u32; libc::SK_MEMINFO_DROPS as usize + 1];
    let mut len = size_of_val(&info) as libc::socklen_t;
    // SAFETY: `info` is a live, writable buffer of `len` octets; the kernel
    // writes at most `len` octets and stores the length it wrote.
    let r =
        unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, SO_MEMINFO, info.as_mut_ptr() as *mut libc::c_void, &mut len) };
    (r == 0 && len as usize >= size_of_val(&info)).then_some(info[libc::SK_MEMINFO_DROPS as usize])
}

/// Writes a PKTINFO control message selecting the reply's source address.
fn write_pktinfo(buf: &mut [u8; CMSG_ROOM], dst: Option<(IpAddr, u32)>) -> usize {
    let Some((addr, ifindex)) = dst else { return 0 };
    buf.fill(0);
    // SAFETY: a msghdr whose control buffer is `buf` lets the CMSG macros
    // compute positions inside `buf`; CMSG_SPACE of either pktinfo struct
    // is below CMSG_ROOM, and the data is written with write_unaligned.
    unsafe {
        let mut h: libc::msghdr = zeroed();
        h.msg_control = buf.as_mut_ptr() as *mut libc::c_void;
        h.msg_controllen = CMSG_ROOM as _;
        let c = libc::CMSG_FIRSTHDR(&h);
        match addr {
            IpAddr::V4(a) => {
                (*c).cmsg_level = libc::IPPROTO_IP;
                (*c).cmsg_type = libc::IP_PKTINFO;
                (*c).cmsg_len = libc::CMSG_LEN(size_of::<libc::in_pktinfo>() as u32) as _;
                let pi = libc::in_pktinfo {
                    ipi_ifindex: 0,
                    ipi_spec_dst: libc::in_addr { s_addr: u32::from(a).to_be() },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut libc::in_pktinfo, pi);
                libc::CMSG_SPACE(size_of::<libc::in_pktinfo>() as u32) as usize
            }
            IpAddr::V6(a) => {
                (*c).cmsg_level = libc::IPPROTO_IPV6;
                (*c).cmsg_type = libc::IPV6_PKTINFO;
                (*c).cmsg_len = libc::CMSG_LEN(size_of::<libc::in6_pktinfo>() as u32) as _;
                let pi = libc::in6_pktinfo { ipi6_addr: libc::in6_addr { s6_addr: a.octets() }, ipi6_ifindex: ifindex };
                std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut libc::in6_pktinfo, pi);
                libc::CMSG_SPACE(size_of::<libc::in6_pktinfo>() as u32) as usize
            }
        }
    }
}

fn sockaddr_to_std(ss: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match ss.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let sin = unsafe { &*(ss as *const libc::sockaddr_storage as *const libc::sockaddr_in) };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(sin.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let sin6 = unsafe { &*(ss as *const libc::sockaddr_storage as *const libc::sockaddr_in6) };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

fn sockaddr_len(a: SocketAddr) -> libc::socklen_t {
    match a {
        SocketAddr::V4(_) => size_of::<libc::sockaddr_in>() as libc::socklen_t,
        SocketAddr::V6(_) => size_of::<libc::sockaddr_in6>() as libc::socklen_t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    struct Echo;
    impl UdpHandler for Echo {
        fn handle(&mut self, q: &[u8], _c: SocketAddr, out: &mut [u8]) -> Option<usize> {
            if q == b"drop" {
                return None;
            }
            out[..q.len()].copy_from_slice(q);
            out[0] ^= 0xFF;
            Some(q.len())
        }
    }

    fn roundtrip(bind: &str, target: &str) {
        let s = bind_udp(bind.parse().unwrap()).unwrap();
        let port = s.local_addr().unwrap().as_socket().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let st = stop.clone();
        let t = std::thread::spawn(move || run_worker(s, Echo, 512, st));
        let c = UdpSocket::bind(if target.contains(':') { "[::1]:0" } else { "127.0.0.1:0" }).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let dst: SocketAddr =
            format!("{}:{port}", if target.contains(':') { format!("[{target}]") } else { target.to_string() })
                .parse()
                .unwrap();
        c.send_to(b"drop", dst).unwrap();
        c.send_to(b"hello", dst).unwrap();
        let mut buf = [0u8; 64];
        let (n, from) = c.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[1..n], b"ello");
        assert_eq!(buf[0], b'h' ^ 0xFF);
        // The reply comes from the address the query was sent to.
        assert_eq!(from, dst);
        stop.store(true, Ordering::Relaxed);
        t.join().unwrap();
    }

    #[test]
    fn wildcard_v4_replies_from_destination() {
        // 127.0.0.2 is on lo; the socket is bound to 0.0.0.0.
        roundtrip("0.0.0.0:0", "127.0.0.2");
    }

    #[test]
    fn socket_drops_counts_datagrams_the_full_buffer_refused() {
        let r = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        r.set_recv_buffer_size(1).unwrap(); // the kernel's minimum: a few datagrams
        r.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into()).unwrap();
        let to = r.local_addr().unwrap().as_socket().unwrap();
        assert_eq!(socket_drops(r.as_raw_fd()), Some(0));
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        for _ in 0..200 {
            c.send_to(&[0u8; 200], to).unwrap();
        }
        let drops = socket_drops(r.as_raw_fd()).unwrap();
        assert!(drops > 100 && drops < 200, "{drops} drops");
    }

    #[test]
    fn wildcard_v6() {
        roundtrip("[::]:0", "::1");
    }
}
