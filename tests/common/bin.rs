//! The real `tongdai` binary, started `--headless` with a config file in a
//! fresh directory (every XDG place inside it), driven through its control
//! socket, stopped with SIGTERM on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_tongdai");

/// `tongdai` with every XDG place (and HOME) in `dir`, English, no backend
/// or SIP password from the environment, umask 022 (the common default,
/// so the modes of the files it creates are its own choice).
pub fn tongdai(dir: &Path) -> Command {
    use std::os::unix::process::CommandExt;
    let mut c = Command::new(BIN);
    // SAFETY: umask is async-signal-safe and touches no memory.
    unsafe {
        c.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        });
    }
    for (var, sub) in [
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_RUNTIME_DIR", "run"),
        ("HOME", "home"),
    ] {
        let p = dir.join(sub);
        std::fs::create_dir_all(&p).expect("xdg dir");
        c.env(var, p);
    }
    c.env("LANG", "C.UTF-8")
        .env_remove("TONGDAI_BACKEND")
        .env_remove("TONGDAI_SIP_PASSWORD");
    c
}

/// A headless console process.
pub struct BinConsole {
    child: Child,
    pub dir: PathBuf,
    pub socket: PathBuf,
}

impl BinConsole {
    /// Write `config` (TOML) and start `tongdai --config … --headless run`;
    /// returns once the control socket answers `status`.
    pub fn start(tag: &str, config: &str, env: &[(&str, &str)]) -> BinConsole {
        BinConsole::start_in(super::tempdir(tag), config, env)
    }

    /// [`BinConsole::start`] in a directory the test prepared (files the
    /// console finds at start: a damaged history, an old log).
    pub fn start_in(dir: PathBuf, config: &str, env: &[(&str, &str)]) -> BinConsole {
        let cmd = tongdai(&dir);
        BinConsole::start_cmd(cmd, dir, config, env)
    }

    /// [`BinConsole::start_in`], the binary run by `wrapper` (a program
    /// and its arguments, then the binary and its own): e.g. in a mount
    /// namespace with a tiny file system. The console's PID is the
    /// wrapper's, so it must `exec` the binary.
    pub fn start_wrapped(dir: PathBuf, config: &str, wrapper: &[&str]) -> BinConsole {
        let plain = tongdai(&dir);
        let mut cmd = Command::new(wrapper[0]);
        cmd.args(&wrapper[1..]).arg(BIN);
        for (k, v) in plain.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        BinConsole::start_cmd(cmd, dir, config, &[])
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn start_cmd(mut cmd: Command, dir: PathBuf, config: &str, env: &[(&str, &str)]) -> BinConsole {
        let cfg = dir.join("config.toml");
        std::fs::write(&cfg, config).expect("write config");
        cmd.arg("--config")
            .arg(&cfg)
            .args(["--headless", "--socket-name", "t", "run"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn tongdai");
        let socket = dir.join("run/tongdai/t.sock");
        let c = BinConsole { child, dir, socket };
        c.wait_status("the control socket", Duration::from_secs(20), |_| true);
        c
    }

    /// One request line; the raw answer (`ok` or `error`).
    pub fn request(&self, req: Value) -> Value {
        tongdai::control::client::send(&self.socket, &req.to_string())
            .unwrap_or_else(|e| panic!("{req}: {e}\nlog:\n{}", self.log()))
    }

    /// `status`, or `None` while the socket is not up yet.
    pub fn try_status(&self) -> Option<Value> {
        let r = tongdai::control::client::send(&self.socket, r#"{"cmd":"status"}"#).ok()?;
        Some(r["status"].clone())
    }

    pub fn status(&self) -> Value {
        self.try_status().expect("status answers")
    }

    /// Poll `status` until `pred` holds; panics with the last one after `within`.
    pub fn wait_status(
        &self,
        what: &str,
        within: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + within;
        let mut last = None;
        while Instant::now() < deadline {
            if let Some(s) = self.try_status() {
                if pred(&s) {
                    return s;
                }
                last = Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "status never {what} within {within:?}; last: {last:#?}\nlog:\n{}",
            self.log()
        );
    }

    /// Subscribe on a connection of its own: every event the console
    /// pushes (notices, call events), one JSON value each.
    pub fn subscribe(&self) -> std::sync::mpsc::Receiver<Value> {
        use std::io::{BufRead, BufReader, Write};
        let mut sock =
            std::os::unix::net::UnixStream::connect(&self.socket).expect("control socket");
        writeln!(sock, "{}", serde_json::json!({"id": 1, "cmd": "subscribe"})).expect("subscribe");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(sock).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && tx.send(v).is_err()
                {
                    break;
                }
            }
        });
        rx
    }

    /// `tongdai history --json`: newest first.
    pub fn history(&self) -> Vec<Value> {
        let out = tongdai(&self.dir)
            .args(["history", "--json"])
            .output()
            .expect("tongdai history");
        assert!(
            out.status.success(),
            "history: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("history --json is JSON")
    }

    /// The console's log file so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("state/tongdai/tongdai.log")).unwrap_or_default()
    }
}

impl Drop for BinConsole {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
