//! One AF_XDP socket: its UMEM (a fixed number of frames in one `mmap`)
//! and its four rings (fill, completion, RX, TX), each a single-producer,
//! single-consumer ring shared with the kernel through `mmap` at the
//! offsets `XDP_MMAP_OFFSETS` reports.
//!
//! The UMEM is split once: the first half of the frames belongs to
//! receiving (handed to the kernel through the fill ring, returned through
//! RX, given back at once), the second half to sending (a free stack here,
//! handed to the kernel through TX, returned through completion). No frame
//! is ever created or freed after [`Xsk::open`].

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use super::types::{Mode, XdpError, XskConfig};

/// One of the four rings: `T` is `u64` (a frame address) for fill and
/// completion, `xdp_desc` for RX and TX.
pub(crate) struct Ring<T> {
    map: NonNull<libc::c_void>,
    map_len: usize,
    producer: *const AtomicU32,
    consumer: *const AtomicU32,
    flags: *const AtomicU32,
    descs: *mut T,
    mask: u32,
    /// Our copy of the index we advance (producer of fill/TX, consumer of
    /// RX/completion).
    local: u32,
}

// SAFETY: a ring is used by the one thread that owns its socket; the raw
// pointers point into a mapping that lives as long as the ring.
unsafe impl<T> Send for Ring<T> {}

impl<T: Copy> Ring<T> {
    /// Maps the ring of `entries` entries at page offset `pgoff` of `fd`.
    fn map(fd: RawFd, off: &libc::xdp_ring_offset, entries: u32, pgoff: u64, producer_side: bool) -> io::Result<Self> {
        let map_len = off.desc as usize + entries as usize * size_of::<T>();
        // SAFETY: a shared mapping of the socket's ring at the kernel's
        // page offset; the result is checked before use.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd,
                pgoff as libc::off_t,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = p as *mut u8;
        // SAFETY: the offsets come from XDP_MMAP_OFFSETS and lie inside the
        // mapping of `map_len` octets; the kernel aligns them for u32 / T.
        let (producer, consumer, flags, descs) = unsafe {
            (
                base.add(off.producer as usize) as *const AtomicU32,
                base.add(off.consumer as usize) as *const AtomicU32,
                base.add(off.flags as usize) as *const AtomicU32,
                base.add(off.desc as usize) as *mut T,
            )
        };
        let mut r = Ring {
            map: NonNull::new(p).expect("mmap is not null"),
            map_len,
            producer,
            consumer,
            flags,
            descs,
            mask: entries - 1,
            local: 0,
        };
        r.local = if producer_side { r.prod().load(Ordering::Relaxed) } else { r.cons().load(Ordering::Relaxed) };
        Ok(r)
    }

    fn prod(&self) -> &AtomicU32 {
        // SAFETY: points into the live mapping (see `map`).
        unsafe { &*self.producer }
    }

    fn cons(&self) -> &AtomicU32 {
        // SAFETY: as above.
        unsafe { &*self.consumer }
    }

    /// The kernel asks to be woken (`XDP_RING_NEED_WAKEUP`).
    pub(crate) fn needs_wakeup(&self) -> bool {
        // SAFETY: as above.
        unsafe { &*self.flags }.load(Ordering::Relaxed) & libc::XDP_RING_NEED_WAKEUP != 0
    }

    /// Entries in the ring minus one (its index mask).
    pub(crate) fn mask(&self) -> u32 {
        self.mask
    }

    // --- our side produces (fill, TX) ---

    /// Free entries we may produce.
    pub(crate) fn free(&self) -> u32 {
        (self.mask + 1) - self.local.wrapping_sub(self.cons().load(Ordering::Acquire))
    }

    /// Writes `v` at the next producer slot (not yet visible: [`Ring::submit`]).
    /// The caller checked [`Ring::free`].
    pub(crate) fn push(&mut self, v: T) {
        // SAFETY: the index is masked into the ring's `mask + 1` entries,
        // a slot the kernel does not read until the producer index passes it.
        unsafe { self.descs.add((self.local & self.mask) as usize).write(v) };
        self.local = self.local.wrapping_add(1);
    }

    /// Makes the pushed entries visible to the kernel.
    pub(crate) fn submit(&mut self) {
        self.prod().store(self.local, Ordering::Release);
    }

    // --- the kernel produces (RX, completion) ---

    /// Entries ready to consume, at most `max`.
    pub(crate) fn ready(&self, max: u32) -> u32 {
        self.prod().load(Ordering::Acquire).wrapping_sub(self.local).min(max)
    }

    /// The `i`-th ready entry (`i` < [`Ring::ready`]).
    pub(crate) fn get(&self, i: u32) -> T {
        // SAFETY: a masked index into the ring, at a slot the kernel
        // published (producer index past it) and does not reuse until we
        // release it.
        unsafe { self.descs.add((self.local.wrapping_add(i) & self.mask) as usize).read() }
    }

    /// Gives `n` consumed entries back to the kernel.
    pub(crate) fn release(&mut self, n: u32) {
        self.local = self.local.wrapping_add(n);
        self.cons().store(self.local, Ordering::Release);
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping created in `map`.
        unsafe { libc::munmap(self.map.as_ptr(), self.map_len) };
    }
}

/// The UMEM: `frames` frames of `frame_size` octets in one anonymous mapping.
pub(crate) struct Umem {
    base: NonNull<u8>,
    len: usize,
    pub(crate) frame_size: u32,
}

// SAFETY: owned by one worker thread at a time; see `Ring`.
unsafe impl Send for Umem {}

impl Umem {
    fn new(frames: u32, frame_size: u32) -> io::Result<Umem> {
        let len = frames as usize * frame_size as usize;
        // SAFETY: a fresh private anonymous mapping, checked below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Umem { base: NonNull::new(p as *mut u8).expect("mmap is not null"), len, frame_size })
    }

    /// The octets `[addr, addr + len)` of the UMEM.
    ///
    /// # Safety
    /// The range must lie in one frame that user space owns right now
    /// (consumed from RX, or free for TX), no other live slice may cover
    /// it, and the slice must not outlive the UMEM (the lifetime is the
    /// caller's to bound: the borrow of the ring it came from must not
    /// pin the whole socket).
    pub(crate) unsafe fn slice_mut<'a>(&self, addr: u64, len: usize) -> &'a mut [u8] {
        assert!(addr as usize + len <= self.len, "UMEM range out of bounds");
        // SAFETY: in bounds (checked); exclusivity is the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.base.as_ptr().add(addr as usize), len) }
    }
}

impl Drop for Umem {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping created in `new`; the socket
        // (which pins it) is closed first (field order in `Xsk`).
        unsafe { libc::munmap(self.base.as_ptr() as *mut libc::c_void, self.len) };
    }
}

/// An AF_XDP socket bound to one (interface, queue), with its UMEM and rings.
pub struct Xsk {
    // Rings are unmapped before the socket closes, and the socket closes
    // before the UMEM is unmapped (fields drop in declaration order).
    pub(crate) fill: Ring<u64>,
    pub(crate) comp: Ring<u64>,
    pub(crate) rx: Ring<libc::xdp_desc>,
    pub(crate) tx: Ring<libc::xdp_desc>,
    fd: OwnedFd,
    pub(crate) umem: Umem,
    /// Frames of the TX half not in the kernel's hands.
    pub(crate) tx_free: Vec<u64>,
    mode: Mode,
    /// The interface's MTU when opened.
    pub(crate) mtu: usize,
}

fn setsockopt<T>(fd: RawFd, opt: libc::c_int, v: &T) -> io::Result<()> {
    // SAFETY: `v` is a live value of the size passed.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_XDP,
            opt,
            v as *const T as *const libc::c_void,
            size_of::<T>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl Xsk {
    /// Opens a socket on (`ifindex`, `queue`) with `cfg`'s frames: zero
    /// copy first (unless `cfg.zero_copy` is `Some(false)`), then copy mode
    /// (unless it is `Some(true)`).
    pub(crate) fn open(ifindex: u32, queue: u32, mtu: usize, cfg: &XskConfig) -> Result<Xsk, XdpError> {
        let modes: &[Mode] = match cfg.zero_copy {
            Some(true) => &[Mode::ZeroCopy],
            Some(false) => &[Mode::Copy],
            None => &[Mode::ZeroCopy, Mode::Copy],
        };
        let mut last = None;
        for &mode in modes {
            match Xsk::open_mode(ifindex, queue, mtu, cfg, mode) {
                Ok(x) => return Ok(x),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("at least one mode"))
    }

    fn open_mode(ifindex: u32, queue: u32, mtu: usize, cfg: &XskConfig, mode: Mode) -> Result<Xsk, XdpError> {
        // SAFETY: plain socket(2); the result is checked.
        let raw = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(XdpError::from_socket(io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let sys = |what: &'static str| move |e: io::Error| XdpError::Setup(what, e);
        let frames = cfg.frames;
        let umem = Umem::new(frames, cfg.frame_size).map_err(sys("UMEM mmap"))?;
        let reg = libc::xdp_umem_reg {
            addr: umem.base.as_ptr() as u64,
            len: umem.len as u64,
            chunk_size: cfg.frame_size,
            headroom: 0,
            flags: 0,
            tx_metadata_len: 0,
        };
        setsockopt(raw, libc::XDP_UMEM_REG, &reg).map_err(XdpError::from_socket)?;
        let half = frames / 2;
        for opt in [libc::XDP_UMEM_FILL_RING, libc::XDP_UMEM_COMPLETION_RING, libc::XDP_RX_RING, libc::XDP_TX_RING] {
            setsockopt(raw, opt, &half).map_err(sys("ring size"))?;
        }
        // SAFETY: all-zero is a valid xdp_mmap_offsets.
        let mut off: libc::xdp_mmap_offsets = unsafe { zeroed() };
        let mut len = size_of::<libc::xdp_mmap_offsets>() as libc::socklen_t;
        // SAFETY: `off` is writable for `len` octets.
        let r = unsafe {
            libc::getsockopt(
                raw,
                libc::SOL_XDP,
                libc::XDP_MMAP_OFFSETS,
                &mut off as *mut _ as *mut libc::c_void,
                &mut len,
            )
        };
        if r != 0 {
            return Err(XdpError::Setup("XDP_MMAP_OFFSETS", io::Error::last_os_error()));
        }
        let fill =
            Ring::map(raw, &off.fr, half, libc::XDP_UMEM_PGOFF_FILL_RING, true).map_err(sys("fill ring mmap"))?;
        let comp = Ring::map(raw, &off.cr, half, libc::XDP_UMEM_PGOFF_COMPLETION_RING, false)
            .map_err(sys("completion ring mmap"))?;
        let rx = Ring::map(raw, &off.rx, half, libc::XDP_PGOFF_RX_RING as u64, false).map_err(sys("RX ring mmap"))?;
        let tx = Ring::map(raw, &off.tx, half, libc::XDP_PGOFF_TX_RING as u64, true).map_err(sys("TX ring mmap"))?;
        let mut x = Xsk { fill, comp, rx, tx, fd, umem, tx_free: Vec::with_capacity(half as usize), mode, mtu };
        // Receive frames to the kernel; send frames on our free stack.
        for i in 0..half {
            x.fill.push(u64::from(i) * u64::from(cfg.frame_size));
            x.tx_free.push(u64::from(half + i) * u64::from(cfg.frame_size));
        }
        x.fill.submit();
        let flags =
            libc::XDP_USE_NEED_WAKEUP | if mode == Mode::ZeroCopy { libc::XDP_ZEROCOPY } else { libc::XDP_COPY };
        let sa = libc::sockaddr_xdp {
            sxdp_family: libc::AF_XDP as u16,
            sxdp_flags: flags,
            sxdp_ifindex: ifindex,
            sxdp_queue_id: queue,
            sxdp_shared_umem_fd: 0,
        };
        // SAFETY: `sa` is a live sockaddr_xdp of the size passed.
        let r = unsafe {
            libc::bind(
                raw,
                &sa as *const _ as *const libc::sockaddr,
                size_of::<libc::sockaddr_xdp>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(XdpError::Bind(mode, io::Error::last_os_error()));
        }
        Ok(x)
    }

    /// The mode the socket runs in.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Kicks the kernel to send what TX holds (`sendto` with no data).
    pub(crate) fn kick_tx(&self) {
        // SAFETY: a zero-length sendto on our socket; errors (EAGAIN,
        // EBUSY, ENOBUFS) only mean "try again on the next batch".
        unsafe { libc::sendto(self.fd.as_raw_fd(), std::ptr::null(), 0, libc::MSG_DONTWAIT, std::ptr::null(), 0) };
    }

    /// Waits up to `ms` for received frames (and lets the kernel refill
    /// its receive frames when it asked to be woken). True when readable.
    pub(crate) fn wait(&self, ms: i32) -> bool {
        let mut p = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one live pollfd.
        unsafe { libc::poll(&mut p, 1, ms) > 0 }
    }

    /// The kernel's drop counts for this socket (`XDP_STATISTICS`):
    /// frames dropped for want of room in RX or of fill frames, and
    /// invalid descriptors.
    pub(crate) fn kernel_drops(&self) -> u64 {
        // SAFETY: all-zero is a valid xdp_statistics.
        let mut s: libc::xdp_statistics = unsafe { zeroed() };
        let mut len = size_of::<libc::xdp_statistics>() as libc::socklen_t;
        // SAFETY: `s` is writable for `len` octets.
        let r = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_XDP,
                libc::XDP_STATISTICS,
                &mut s as *mut _ as *mut libc::c_void,
                &mut len,
            )
        };
        if r != 0 {
            return 0;
        }
        s.rx_dropped + s.rx_ring_full + s.rx_invalid_descs
    }
}

impl AsRawFd for Xsk {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
