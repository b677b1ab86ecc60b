//! The real `tongdai` binary in a private set of XDG folders: start it
//! (`--headless`), drive it with `tongdai ctl`, read its files.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_tongdai");

/// A fresh directory for one test's XDG folders.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tongdai-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `tongdai` with every XDG place under `dir` (`config`, `state`, `data`,
/// `run`, `home`), so the test touches nothing of the user's; umask 022,
/// the common default, so file modes are the program's choice.
pub fn tongdai(dir: &Path) -> Command {
    use std::os::unix::process::CommandExt;
    let mut c = Command::new(BIN);
    for (var, sub) in [
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_RUNTIME_DIR", "run"),
        ("HOME", "home"),
    ] {
        let p = dir.join(sub);
        std::fs::create_dir_all(&p).unwrap();
        c.env(var, p);
    }
    c.env("LANG", "C.UTF-8")
        .env_remove("TONGDAI_BACKEND")
        .env_remove("TONGDAI_SIP_PASSWORD");
    // SAFETY: umask is async-signal-safe and touches no memory.
    unsafe {
        c.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        });
    }
    c
}

/// Where `tongdai` keeps its history under [`tongdai`]'s folders.
pub fn history_path(dir: &Path) -> PathBuf {
    dir.join("data/tongdai/history.sqlite3")
}

/// `tongdai --socket-name <socket> ctl <args…>`.
pub fn ctl(dir: &Path, socket: &str, args: &[&str]) -> Output {
    tongdai(dir)
        .args(["--socket-name", socket, "ctl"])
        .args(args)
        .output()
        .unwrap()
}

/// `ctl` that must succeed.
pub fn ctl_ok(dir: &Path, socket: &str, args: &[&str]) -> Output {
    let out = ctl(dir, socket, args);
    assert!(
        out.status.success(),
        "ctl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `ctl --json status` until `pred` holds on its `status` object.
pub fn wait_status(dir: &Path, socket: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = String::new();
    while Instant::now() < deadline {
        let out = ctl(dir, socket, &["--json", "status"]);
        last = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        if out.status.success()
            && let Ok(v) = serde_json::from_slice::<Value>(&out.stdout)
            && pred(&v["status"])
        {
            return v;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: not seen in 20 s; last status: {last}");
}

/// A running console, killed on drop.
pub struct Console(pub Child);

impl Console {
    /// SIGTERM, and the exit must be clean.
    pub fn stop(mut self) {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        kill(Pid::from_raw(self.0.id() as i32), Signal::SIGTERM).unwrap();
        let status = self.0.wait().unwrap();
        assert!(status.success(), "console exit: {status:?}");
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `tongdai history --json`, parsed.
pub fn history_json(dir: &Path) -> Vec<Value> {
    let out = tongdai(dir).args(["history", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "history: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("history --json: {e}\n{text}"))
}

/// The permission bits of `p`.
pub fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}
