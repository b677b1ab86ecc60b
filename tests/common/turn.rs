//! A real TURN server for the tests: coturn (Debian `coturn`,
//! `tests/peers/install.sh`) with long-term credentials, killed on drop.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running coturn; SIGTERM then SIGKILL on drop.
pub struct Coturn {
    child: Child,
    /// Its log (`--verbose`): "ALLOCATE processed, success" per allocation.
    pub log: std::path::PathBuf,
}

impl Coturn {
    /// The number of successful allocations so far.
    pub fn allocations(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .matches("ALLOCATE processed, success")
            .count()
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let end = Instant::now() + Duration::from_secs(3);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Why coturn cannot run here, if it cannot.
pub fn missing() -> Option<String> {
    let ok = Command::new("sh")
        .args(["-c", "command -v turnserver"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (!ok).then(|| "`turnserver` is not installed (tests/peers/install.sh)".to_string())
}

/// coturn on `ip:port` relaying from `ip` (ports `relay_ports`), with the
/// long-term credential `user:password`, its files in `dir`; returns once
/// it answers a STUN binding request. `loopback_peers`: relay to 127.0.0.1
/// peers too (coturn refuses them by default).
pub fn coturn(
    ip: &str,
    port: u16,
    relay_ports: (u16, u16),
    user: &str,
    password: &str,
    dir: &Path,
    loopback_peers: bool,
) -> Result<Coturn, String> {
    let log = dir.join("turnserver.log");
    let mut cmd = Command::new("turnserver");
    cmd.args(["-n", "--no-tls", "--no-dtls", "--no-cli", "--lt-cred-mech"])
        .args(["--realm", "tongdai.test", "--fingerprint"])
        .arg(format!("--listening-ip={ip}"))
        .arg(format!("--relay-ip={ip}"))
        .arg(format!("--listening-port={port}"))
        .arg("--min-port")
        .arg(relay_ports.0.to_string())
        .arg("--max-port")
        .arg(relay_ports.1.to_string())
        .arg(format!("--user={user}:{password}"))
        .arg("--log-file")
        .arg(&log)
        .args(["--simple-log", "--no-stdout-log", "--verbose"])
        .arg("--pidfile")
        .arg(dir.join("turnserver.pid"));
    if loopback_peers {
        cmd.arg("--allow-loopback-peers");
    }
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("turnserver: {e} (tests/peers/install.sh)"))?;
    let turn = Coturn { child, log };
    let s = std::net::UdpSocket::bind(format!("{ip}:0")).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(|e| e.to_string())?;
    let mut req = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
    req.extend_from_slice(&[7u8; 12]);
    let end = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 512];
    while Instant::now() < end {
        let _ = s.send_to(&req, format!("{ip}:{port}"));
        if s.recv_from(&mut buf).is_ok() {
            return Ok(turn);
        }
    }
    Err(format!("coturn does not answer on {ip}:{port}"))
}
