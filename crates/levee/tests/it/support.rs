//! Helpers for tests that run the real `levee` binary on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use levee_wire::message::Message;

/// The binary under test (`LEVEE_IT_BIN` replaces it, e.g. to see a new
/// test fail against an older build).
pub fn levee_bin() -> PathBuf {
    std::env::var_os("LEVEE_IT_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_levee")), PathBuf::from)
}

/// The binary under test, as a command.
pub fn levee() -> Command {
    Command::new(levee_bin())
}

/// Runs `cmd` to its end, or for at most 10 s (then kills it): for
/// commands that must refuse to start, so a regression fails instead of
/// hanging.
pub fn run_bounded(cmd: &mut Command) -> std::process::Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start");
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

/// Writes a file only its owner may read (a configuration holding a
/// management token must not be readable by others).
pub fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("levee-it-{tag}-{}-{:?}", std::process::id(), Instant::now()));
        let p = PathBuf::from(p.to_string_lossy().replace([' ', '{', '}', ':', ','], "_"));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running server; stopped with SIGTERM on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `levee serve ARGS` (which must include a `--listen` with
    /// port 0) and waits until it logs the address it listens on. Port 0
    /// picks a free UDP port; the TCP port of the same number may be taken
    /// by another test's connection: then it tries again (three times).
    pub fn start(args: &[&str]) -> Server {
        Self::start_with(&[], args, &[])
    }

    /// [`Server::start`] with extra environment variables.
    pub fn start_env(args: &[&str], env: &[(&str, &str)]) -> Server {
        Self::start_with(&[], args, env)
    }

    /// As [`Server::start`], run through `wrapper` (a command and its
    /// arguments before the binary: `prlimit --nofile=...`, `sh -c ...`).
    pub fn start_wrapped(wrapper: &[&str], args: &[&str]) -> Server {
        Self::start_with(wrapper, args, &[])
    }

    fn start_with(wrapper: &[&str], args: &[&str], env: &[(&str, &str)]) -> Server {
        for _ in 0..2 {
            match Self::try_start(wrapper, args, env) {
                Ok(s) => return s,
                Err(log) if log.contains("Address already in use") => continue,
                Err(log) => panic!("levee did not start; log:\n{log}"),
            }
        }
        Self::try_start(wrapper, args, env).unwrap_or_else(|log| panic!("levee did not start; log:\n{log}"))
    }

    /// Starts the server and returns its log if it did not come up.
    pub fn try_start(wrapper: &[&str], args: &[&str], env: &[(&str, &str)]) -> Result<Server, String> {
        let mut cmd = match wrapper.split_first() {
            None => levee(),
            Some((w, rest)) => {
                let mut c = Command::new(w);
                c.args(rest).arg(levee_bin());
                c
            }
        };
        let mut child = cmd
            .arg("serve")
            .args(args)
            .envs(env.iter().copied())
            .env("LEVEE_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start levee");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let log2 = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log2.lock().unwrap().push_str(&line);
                log2.lock().unwrap().push('\n');
                if !sent {
                    if let Some(rest) = line.split("listening on ").nth(1) {
                        if let Some(a) = rest.split_whitespace().next().and_then(|a| a.parse::<SocketAddr>().ok()) {
                            let _ = tx.send(a);
                            sent = true;
                        }
                    }
                }
            }
        });
        // Generous: a debug build loading hundreds of zones (it::catalog)
        // while the other tests of the binary run took over 20 s on 2 cores.
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(log.lock().unwrap().clone());
            }
        };
        // "ready" comes right after the listen lines.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !log.lock().unwrap().contains("ready") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Server { child, addr, log })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill").arg(format!("-{sig}")).arg(self.pid().to_string()).status().unwrap();
        assert!(st.success());
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for the exit; returns how long it took
    /// (panics after 10 s, killing the process).
    pub fn stop(&mut self) -> Duration {
        let t0 = Instant::now();
        self.signal("TERM");
        while t0.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return t0.elapsed();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!("levee ignored SIGTERM for 10 s; log:\n{}", self.log());
    }

    /// Waits until the log contains `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Builds a query: name in presentation form, type, optional EDNS with DO.
pub fn query(id: u16, qname: &str, qtype: u16, edns: Option<bool>) -> Vec<u8> {
    let mut m = vec![(id >> 8) as u8, id as u8, 0, 0, 0, 1, 0, 0, 0, 0, 0, if edns.is_some() { 1 } else { 0 }];
    m.extend_from_slice(&levee_wire::name::from_text(qname, None).unwrap());
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    if let Some(d) = edns {
        m.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, if d { 0x80 } else { 0 }, 0, 0, 0]);
    }
    m
}

/// One UDP exchange (with a retry); returns the raw response.
pub fn udp(addr: SocketAddr, q: &[u8]) -> Option<Vec<u8>> {
    let bind = if addr.is_ipv4() { "127.0.0.1:0" } else { "[::1]:0" };
    let s = UdpSocket::bind(bind).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(1500))).unwrap();
    for _ in 0..2 {
        s.send_to(q, addr).unwrap();
        let mut buf = [0u8; 65535];
        if let Ok((n, from)) = s.recv_from(&mut buf) {
            assert_eq!(from, addr, "reply from the wrong address");
            return Some(buf[..n].to_vec());
        }
    }
    None
}

/// One TCP exchange; returns every message until the connection is idle
/// for 300 ms or `max` messages arrived.
pub fn tcp(addr: SocketAddr, q: &[u8], max: usize) -> Vec<Vec<u8>> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(1500))).unwrap();
    let mut out = (q.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(q);
    s.write_all(&out).unwrap();
    let mut msgs = Vec::new();
    while msgs.len() < max {
        let mut len = [0u8; 2];
        if s.read_exact(&mut len).is_err() {
            break;
        }
        let mut m = vec![0u8; u16::from_be_bytes(len) as usize];
        if s.read_exact(&mut m).is_err() {
            break;
        }
        msgs.push(m);
        s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    }
    msgs
}

/// Parses a response.
pub fn parse(m: &[u8]) -> Message {
    Message::parse(m).expect("response parses")
}

/// The answer section as `owner TYPE rdata-text` lines.
pub fn answers(m: &Message) -> Vec<String> {
    m.answer
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                levee_wire::name::to_text(&r.owner).to_lowercase(),
                levee_wire::rtype::type_to_text(r.rtype),
                levee_zone::zonefile::rdata_to_text(r.rtype, &r.rdata)
            )
        })
        .collect()
}
