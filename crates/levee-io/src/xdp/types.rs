//! The AF_XDP path's settings, modes and errors (shared by the socket
//! and the worker).

use std::fmt;
use std::io;

/// How an AF_XDP socket moves frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The driver DMAs straight into the UMEM.
    ZeroCopy,
    /// The kernel copies frames between its buffers and the UMEM (every
    /// driver with XDP, veth included).
    Copy,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::ZeroCopy => "zero-copy",
            Mode::Copy => "copy",
        })
    }
}

/// The fixed resources of one socket.
#[derive(Clone, Copy, Debug)]
pub struct XskConfig {
    /// Frames in the UMEM (a power of two, 64..=65536): half receive,
    /// half send.
    pub frames: u32,
    /// Octets per frame (2048 or 4096).
    pub frame_size: u32,
    /// `Some(true)`: zero-copy only; `Some(false)`: copy only; `None`:
    /// zero-copy, else copy.
    pub zero_copy: Option<bool>,
}

impl Default for XskConfig {
    fn default() -> Self {
        XskConfig { frames: 4096, frame_size: 4096, zero_copy: None }
    }
}

/// Why the AF_XDP path could not start on an interface.
#[derive(Debug)]
pub enum XdpError {
    /// No interface of that name.
    NoInterface(String),
    /// The process lacks the privileges (EPERM / EACCES).
    Privileges(io::Error),
    /// The kernel has no AF_XDP sockets.
    Unsupported(io::Error),
    /// Binding to the queue failed in this mode (driver without XDP or
    /// without zero-copy, queue out of range, queue busy).
    Bind(Mode, io::Error),
    /// A step of setting the socket up failed.
    Setup(&'static str, io::Error),
    /// Loading or attaching the XDP program failed.
    Program(String),
}

impl XdpError {
    pub(crate) fn from_socket(e: io::Error) -> XdpError {
        match e.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => XdpError::Privileges(e),
            Some(libc::EAFNOSUPPORT) => XdpError::Unsupported(e),
            _ => XdpError::Setup("socket", e),
        }
    }
}

impl fmt::Display for XdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XdpError::NoInterface(i) => write!(f, "no interface named {i:?}"),
            XdpError::Privileges(e) => {
                write!(f, "not permitted ({e}): AF_XDP and XDP programs need CAP_NET_ADMIN and CAP_BPF (or root) at start")
            }
            XdpError::Unsupported(e) => write!(f, "this kernel has no AF_XDP sockets ({e})"),
            XdpError::Bind(m, e) => write!(f, "cannot bind an AF_XDP socket in {m} mode ({e}): driver without XDP support, or queue busy or out of range"),
            XdpError::Setup(what, e) => write!(f, "AF_XDP set-up failed at {what}: {e}"),
            XdpError::Program(e) => write!(f, "cannot load or attach the XDP program: {e}"),
        }
    }
}

impl std::error::Error for XdpError {}
