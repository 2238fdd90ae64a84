//! A file system whose files never finish a read: a hung network file
//! system, for the tests of zone loads that must not wedge the server.
//!
//! A minimal FUSE server (the kernel protocol on `/dev/fuse`, no library):
//! the root directory holds one regular file, `hung.zone`; `stat` and
//! `open` answer at once, `read` is never answered, except that a read
//! whose process gets a signal is failed with EINTR (as an NFS mount
//! lets a process be killed while its server is away; FUSE would
//! otherwise keep the reader in an uninterruptible wait). Mounted with
//! `mount -t fuse -o fd=0,...` (root only), with `/dev/fuse` as the mount
//! command's standard input. Dropping the value unmounts (lazily) and
//! closes the device, which makes the kernel fail the pending reads.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// `O_NONBLOCK` on Linux (x86-64, arm64): the serving thread polls, so it
/// can stop, and the device's last close aborts the connection.
const O_NONBLOCK: i32 = 0o4000;

const LOOKUP: u32 = 1;
const FORGET: u32 = 2;
const GETATTR: u32 = 3;
const OPEN: u32 = 14;
const READ: u32 = 15;
const RELEASE: u32 = 18;
const FLUSH: u32 = 25;
const INIT: u32 = 26;
const INTERRUPT: u32 = 36;
const BATCH_FORGET: u32 = 42;
const EPERM: i32 = 1;
const EINTR: i32 = 4;
const ENOENT: i32 = 2;
const ENOSYS: i32 = 38;

/// The mounted file system.
pub struct HungFs {
    dir: PathBuf,
    stop: Arc<AtomicBool>,
}

impl HungFs {
    /// Mounts at `dir` (created); `None` without root or FUSE.
    pub fn mount(dir: &Path) -> Result<HungFs, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let dev = File::options()
            .read(true)
            .write(true)
            .custom_flags(O_NONBLOCK)
            .open("/dev/fuse")
            .map_err(|e| format!("/dev/fuse: {e}"))?;
        let for_mount = dev.try_clone().map_err(|e| e.to_string())?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        std::thread::spawn(move || serve(dev, &stop2));
        let out = Command::new("mount")
            .args(["-i", "-t", "fuse", "-o", "fd=0,rootmode=40000,user_id=0,group_id=0,allow_other", "levee-hung"])
            .arg(dir)
            .stdin(Stdio::from(for_mount))
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            stop.store(true, Ordering::Relaxed);
            return Err(format!("mount: {}", String::from_utf8_lossy(&out.stderr)));
        }
        Ok(HungFs { dir: dir.to_path_buf(), stop })
    }

    /// The file whose reads hang.
    pub fn file(&self) -> PathBuf {
        self.dir.join("hung.zone")
    }
}

impl Drop for HungFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        // The serving thread stops and closes the device: the kernel
        // aborts the connection and pending reads fail (ENOTCONN).
        self.stop.store(true, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(b[i..i + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i..i + 8].try_into().unwrap())
}

/// `struct fuse_attr` (88 octets).
fn attr(ino: u64) -> Vec<u8> {
    let (mode, size): (u32, u64) = if ino == 1 { (0o040755, 0) } else { (0o100644, 4096) };
    let mut a = Vec::new();
    for v in [ino, size, size.div_ceil(512), 0, 0, 0] {
        a.extend_from_slice(&v.to_le_bytes());
    }
    for v in [0u32, 0, 0, mode, 1, 0, 0, 0, 4096, 0] {
        a.extend_from_slice(&v.to_le_bytes());
    }
    a
}

fn reply(dev: &mut File, unique: u64, error: i32, body: &[u8]) {
    let mut m = Vec::with_capacity(16 + body.len());
    m.extend_from_slice(&((16 + body.len()) as u32).to_le_bytes());
    m.extend_from_slice(&(-error).to_le_bytes());
    m.extend_from_slice(&unique.to_le_bytes());
    m.extend_from_slice(body);
    let _ = dev.write_all(&m);
}

fn serve(mut dev: File, stop: &AtomicBool) {
    let mut buf = vec![0u8; (1 << 20) + 4096];
    while !stop.load(Ordering::Relaxed) {
        let n = match dev.read(&mut buf) {
            Ok(n) if n >= 40 => n,
            // Nothing yet; EPERM until the mount has attached the device.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.raw_os_error() == Some(EPERM) => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            _ => return,
        };
        let req = &buf[..n];
        let (opcode, unique, node) = (u32_at(req, 4), u64_at(req, 8), u64_at(req, 16));
        let arg = &req[40..];
        match opcode {
            INIT => {
                let mut out = Vec::new();
                out.extend_from_slice(&7u32.to_le_bytes()); // major
                out.extend_from_slice(&31u32.to_le_bytes()); // minor
                out.extend_from_slice(&u32_at(arg, 8).to_le_bytes()); // max_readahead
                out.extend_from_slice(&0u32.to_le_bytes()); // flags
                out.extend_from_slice(&16u16.to_le_bytes()); // max_background
                out.extend_from_slice(&12u16.to_le_bytes()); // congestion_threshold
                out.extend_from_slice(&(128u32 << 10).to_le_bytes()); // max_write
                out.extend_from_slice(&1u32.to_le_bytes()); // time_gran
                out.resize(64, 0);
                reply(&mut dev, unique, 0, &out);
            }
            LOOKUP => {
                let name = arg.split(|&b| b == 0).next().unwrap_or_default();
                if node == 1 && name == b"hung.zone" {
                    let mut out = Vec::new();
                    for v in [2u64, 0, 1, 1] {
                        out.extend_from_slice(&v.to_le_bytes());
                    }
                    out.extend_from_slice(&[0u8; 8]);
                    out.extend_from_slice(&attr(2));
                    reply(&mut dev, unique, 0, &out);
                } else {
                    reply(&mut dev, unique, ENOENT, &[]);
                }
            }
            GETATTR => {
                let mut out = Vec::new();
                out.extend_from_slice(&1u64.to_le_bytes());
                out.extend_from_slice(&[0u8; 8]);
                out.extend_from_slice(&attr(node));
                reply(&mut dev, unique, 0, &out);
            }
            OPEN => reply(&mut dev, unique, 0, &[0u8; 16]),
            INTERRUPT => reply(&mut dev, u64_at(arg, 0), EINTR, &[]),
            READ | FORGET | BATCH_FORGET => {} // never answered / no answer
            RELEASE | FLUSH => reply(&mut dev, unique, 0, &[]),
            _ => reply(&mut dev, unique, ENOSYS, &[]),
        }
    }
}
