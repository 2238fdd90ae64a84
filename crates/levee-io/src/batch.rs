//! Safe batched datagram syscalls for connected UDP sockets:
//! `sendmmsg`, `recvmmsg` and `poll`, for clients such as the load
//! generator (`levee perf`).
//!
//! The server's workers (`udp.rs`) need addresses and control messages per
//! datagram; a client talking to one server over *connected* sockets needs
//! neither, so these wrappers are simpler: message headers without names
//! or control data, allocated once, pointed at the caller's buffers for the
//! duration of one call.

use std::io;
use std::mem::zeroed;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

use socket2::{Domain, Protocol, Socket, Type};

/// Most datagrams one call sends or receives.
pub const MAX_BATCH: usize = 64;
/// Most sockets [`poll_readable`] watches at once.
pub const MAX_POLL: usize = 64;

/// A non-blocking UDP socket on an ephemeral port, connected to `target`,
/// with 4 MiB send and receive buffers (so a burst of replies is not
/// dropped while the client is busy sending).
pub fn client_socket(target: SocketAddr) -> io::Result<UdpSocket> {
    let domain = if target.is_ipv4() { Domain::IPV4 } else { Domain::IPV6 };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    let _ = s.set_recv_buffer_size(4 << 20);
    let _ = s.set_send_buffer_size(4 << 20);
    s.connect(&target.into())?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// Sends several datagrams on a connected socket with one `sendmmsg`.
pub struct BatchSender {
    iov: Box<[libc::iovec]>,
    hdr: Box<[libc::mmsghdr]>,
}

// SAFETY: the raw pointers in the headers are only set and used inside
// `send`, which borrows the datagrams for the whole call; between calls
// they are stale and never dereferenced.
unsafe impl Send for BatchSender {}

impl Default for BatchSender {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchSender {
    /// Headers for up to [`MAX_BATCH`] datagrams.
    pub fn new() -> Self {
        let z_iov = libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 };
        // SAFETY: mmsghdr is a plain C struct for which all-zero is valid.
        let z_hdr: libc::mmsghdr = unsafe { zeroed() };
        BatchSender { iov: vec![z_iov; MAX_BATCH].into_boxed_slice(), hdr: vec![z_hdr; MAX_BATCH].into_boxed_slice() }
    }

    /// Sends `msgs` (at most [`MAX_BATCH`] are looked at) on the connected
    /// socket without blocking; returns how many the kernel took (the first
    /// `n`). `WouldBlock` means none.
    pub fn send<M: AsRef<[u8]>>(&mut self, sock: &UdpSocket, msgs: &[M]) -> io::Result<usize> {
        let n = msgs.len().min(MAX_BATCH);
        if n == 0 {
            return Ok(0);
        }
        for (i, m) in msgs[..n].iter().enumerate() {
            let m = m.as_ref();
            // The kernel only reads through iov_base for a send.
            self.iov[i] = libc::iovec { iov_base: m.as_ptr() as *mut libc::c_void, iov_len: m.len() };
            arm(&mut self.hdr[i], &mut self.iov[i]);
        }
        // SAFETY: headers [0, n) point at iovecs in `self.iov`, which point
        // at the caller's datagrams, all alive for this call; the socket fd
        // is valid while `sock` is borrowed; the kernel reads nothing past
        // `n` headers.
        let r =
            unsafe { libc::sendmmsg(sock.as_raw_fd(), self.hdr.as_mut_ptr(), n as libc::c_uint, libc::MSG_DONTWAIT) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(r as usize)
    }
}

/// Receives several datagrams from a socket with one `recvmmsg`, into
/// buffers it owns.
pub struct BatchReceiver {
    bufs: Box<[u8]>,
    size: usize,
    lens: [usize; MAX_BATCH],
    iov: Box<[libc::iovec]>,
    hdr: Box<[libc::mmsghdr]>,
}

// SAFETY: the headers point into this struct's own heap allocations, which
// move with it between threads.
unsafe impl Send for BatchReceiver {}

impl BatchReceiver {
    /// Up to `batch` (at most [`MAX_BATCH`]) datagrams of up to `size` octets each.
    pub fn new(batch: usize, size: usize) -> Self {
        let batch = batch.clamp(1, MAX_BATCH);
        let z_iov = libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 };
        // SAFETY: mmsghdr is a plain C struct for which all-zero is valid.
        let z_hdr: libc::mmsghdr = unsafe { zeroed() };
        let mut r = BatchReceiver {
            bufs: vec![0u8; batch * size].into_boxed_slice(),
            size,
            lens: [0; MAX_BATCH],
            iov: vec![z_iov; batch].into_boxed_slice(),
            hdr: vec![z_hdr; batch].into_boxed_slice(),
        };
        for i in 0..batch {
            r.iov[i].iov_base = r.bufs[i * size..].as_mut_ptr() as *mut libc::c_void;
            r.iov[i].iov_len = size;
        }
        r
    }

    /// Receives what is queued on `sock` without blocking; returns how many
    /// datagrams arrived (0 when none was waiting). Read them with [`get`](Self::get).
    pub fn recv(&mut self, sock: &UdpSocket) -> io::Result<usize> {
        let batch = self.hdr.len();
        for i in 0..batch {
            arm(&mut self.hdr[i], &mut self.iov[i]);
        }
        // SAFETY: `batch` initialised headers point at iovecs covering
        // disjoint `size`-octet slices of `self.bufs`; the fd is valid while
        // `sock` is borrowed; no timeout pointer.
        let r = unsafe {
            libc::recvmmsg(
                sock.as_raw_fd(),
                self.hdr.as_mut_ptr(),
                batch as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::WouldBlock { Ok(0) } else { Err(e) };
        }
        let n = r as usize;
        for i in 0..n {
            self.lens[i] = (self.hdr[i].msg_len as usize).min(self.size);
        }
        Ok(n)
    }

    /// Datagram `i` of the last [`recv`](Self::recv).
    pub fn get(&self, i: usize) -> &[u8] {
        &self.bufs[i * self.size..i * self.size + self.lens[i]]
    }
}

/// Waits up to `timeout_ms` until one of `socks` (the first [`MAX_POLL`])
/// has a datagram to read; returns whether one has.
pub fn poll_readable(socks: &[UdpSocket], timeout_ms: i32) -> io::Result<bool> {
    let n = socks.len().min(MAX_POLL);
    let mut fds = [libc::pollfd { fd: -1, events: 0, revents: 0 }; MAX_POLL];
    for (p, s) in fds.iter_mut().zip(&socks[..n]) {
        p.fd = s.as_raw_fd();
        p.events = libc::POLLIN;
    }
    // SAFETY: `fds` holds `n` initialised pollfds for sockets borrowed for
    // the duration of the call.
    let r = unsafe { libc::poll(fds.as_mut_ptr(), n as libc::nfds_t, timeout_ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted { Ok(false) } else { Err(e) };
    }
    Ok(r > 0)
}

/// Points `h` at the one buffer `iov` (no address, no control message),
/// for a connected socket's sendmmsg/recvmmsg.
fn arm(h: &mut libc::mmsghdr, iov: &mut libc::iovec) {
    h.msg_hdr.msg_name = std::ptr::null_mut();
    h.msg_hdr.msg_namelen = 0;
    h.msg_hdr.msg_iov = iov;
    h.msg_hdr.msg_iovlen = 1;
    h.msg_hdr.msg_control = std::ptr::null_mut();
    h.msg_hdr.msg_controllen = 0;
    h.msg_hdr.msg_flags = 0;
    h.msg_len = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_roundtrip_over_loopback() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.connect(b.local_addr().unwrap()).unwrap();
        b.connect(a.local_addr().unwrap()).unwrap();
        let mut tx = BatchSender::new();
        let msgs: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 1 + i as usize]).collect();
        assert_eq!(tx.send(&a, &msgs).unwrap(), 10);
        assert!(poll_readable(std::slice::from_ref(&b), 2000).unwrap());
        let mut rx = BatchReceiver::new(64, 512);
        let mut got = Vec::new();
        for _ in 0..100 {
            let n = rx.recv(&b).unwrap();
            got.extend((0..n).map(|i| rx.get(i).to_vec()));
            if got.len() == 10 {
                break;
            }
            poll_readable(std::slice::from_ref(&b), 100).unwrap();
        }
        assert_eq!(got, msgs);
        // Nothing left: a non-blocking receive returns 0, and poll times out.
        assert_eq!(rx.recv(&b).unwrap(), 0);
        assert!(!poll_readable(std::slice::from_ref(&b), 10).unwrap());
    }

    #[test]
    fn long_datagram_is_cut_to_the_buffer() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.connect(b.local_addr().unwrap()).unwrap();
        let mut tx = BatchSender::new();
        assert_eq!(tx.send(&a, &[[7u8; 100]]).unwrap(), 1);
        assert!(poll_readable(std::slice::from_ref(&b), 2000).unwrap());
        let mut rx = BatchReceiver::new(4, 16);
        assert_eq!(rx.recv(&b).unwrap(), 1);
        assert_eq!(rx.get(0), &[7u8; 16][..]);
    }
}
