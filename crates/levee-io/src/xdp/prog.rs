//! The XDP program that feeds the AF_XDP sockets, loaded with aya.
//!
//! Without the flood gate this is `bpf/xsk_redirect.c`: UDP to levee's
//! port, and to one of its listen addresses unless it listens on a
//! wildcard, goes to the `xsks` entry of its receive queue, everything
//! else to the kernel. With the gate on (`--gate`), the daemon attaches the
//! gate's `levee_xdp` instead (`levee_io::gate::Gate::attach_xdp` and
//! `register_xsk`, in `daemon/xdp.rs`), which admits first and redirects
//! to the same kind of `xsks` map. The object is built by `bpf/build.sh`
//! and committed, so building levee needs no C toolchain.
//!
//! The program is attached in native (driver) mode through a BPF link,
//! which the kernel removes when the last descriptor to it closes: an
//! exiting levee leaves nothing behind, even after dropping root.

use aya::maps::{HashMap, XskMap};
use aya::programs::{Xdp, XdpFlags};
use aya::{Ebpf, EbpfLoader};
use std::net::IpAddr;
use std::os::fd::AsRawFd;

use super::types::XdpError;
use super::{Interface, Xsk};

/// The committed BPF object (`bpf/build.sh` rebuilds it), aligned: the ELF
/// parser reads its headers in place and refuses a misaligned buffer,
/// which a plain `include_bytes!` may give ("error parsing ELF data",
/// depending on where the linker put it).
pub const OBJECT: &[u8] = aya::include_bytes_aligned!("../../bpf/xsk_redirect.o");
/// The XDP program in [`OBJECT`].
pub const PROGRAM: &str = "xsk_redirect";

/// The program attached to one interface; detached when dropped (or when
/// the process exits).
pub struct Attached {
    ebpf: Ebpf,
    iface: String,
}

impl Attached {
    /// Loads the program for UDP port `port` of `addrs` (empty: any
    /// address; at most [`MAX_ADDRS`]) and attaches it to `iface` in native
    /// mode.
    pub fn attach(iface: &Interface, port: u16, addrs: &[IpAddr]) -> Result<Attached, XdpError> {
        let err = |e: &dyn std::fmt::Display| XdpError::Program(format!("{}: {e}", iface.name));
        if addrs.len() > MAX_ADDRS {
            return Err(err(&format!("{} listen addresses, at most {MAX_ADDRS}", addrs.len())));
        }
        let match_addrs = u8::from(!addrs.is_empty());
        let mut loader = EbpfLoader::new();
        loader.set_global("dns_port", &port, true).set_global("match_addrs", &match_addrs, true);
        let mut ebpf = loader.load(OBJECT).map_err(|e| {
            if not_permitted(&e) {
                XdpError::Privileges(std::io::Error::from_raw_os_error(libc::EPERM))
            } else {
                err(&e)
            }
        })?;
        let prog: &mut Xdp = ebpf
            .program_mut(PROGRAM)
            .ok_or_else(|| err(&"program missing from the object"))?
            .try_into()
            .map_err(|e| err(&e))?;
        prog.load().map_err(|e| {
            if not_permitted(&e) {
                XdpError::Privileges(std::io::Error::from_raw_os_error(libc::EPERM))
            } else {
                err(&e)
            }
        })?;
        let map = ebpf.map_mut("addrs").ok_or_else(|| err(&"no addrs map"))?;
        let mut table: HashMap<_, [u8; 16], u8> = HashMap::try_from(map).map_err(|e| err(&e))?;
        for a in addrs {
            table.insert(levee_limit::gate::model::addr(*a), 1, 0).map_err(|e| err(&e))?;
        }
        let prog: &mut Xdp = ebpf
            .program_mut(PROGRAM)
            .ok_or_else(|| err(&"program missing from the object"))?
            .try_into()
            .map_err(|e| err(&e))?;
        prog.attach_to_if_index(iface.index, XdpFlags::DRV_MODE)
            .map_err(|e| err(&format!("native XDP refused (driver without XDP support?): {e}")))?;
        Ok(Attached { ebpf, iface: iface.name.clone() })
    }

    /// Sends what receive queue `queue` gets for levee to `xsk`.
    pub fn register(&mut self, queue: u32, xsk: &Xsk) -> Result<(), XdpError> {
        let map = self.ebpf.map_mut("xsks").ok_or_else(|| XdpError::Program("no xsks map".into()))?;
        let mut xsks = XskMap::try_from(map).map_err(|e| XdpError::Program(e.to_string()))?;
        xsks.set(queue, xsk.as_raw_fd(), 0).map_err(|e| XdpError::Program(format!("{} queue {queue}: {e}", self.iface)))
    }
}

/// Entries of the program's `addrs` map.
pub const MAX_ADDRS: usize = 64;

/// An error somewhere in `e`'s chain is EPERM or EACCES (map or program
/// creation without CAP_BPF / CAP_NET_ADMIN).
fn not_permitted(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(io.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES)) {
                return true;
            }
        }
        cur = e.source();
    }
    false
}
