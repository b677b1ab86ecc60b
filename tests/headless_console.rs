//! `tongdai demo --headless` does what the console does besides the screen:
//! it keeps the call history and plays the call-progress sounds. The real
//! binary, driven by `tongdai ctl`, stopped by SIGTERM.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tongdai::media::device::read_wav;
use tongdai::media::tone;

const BIN: &str = env!("CARGO_BIN_EXE_tongdai");

/// Every XDG place in a fresh directory, so the test touches nothing of the user's.
fn tongdai(dir: &Path) -> Command {
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
    c.env("LANG", "C.UTF-8").env_remove("TONGDAI_BACKEND");
    c
}

fn ctl(dir: &Path, args: &[&str]) -> Output {
    tongdai(dir)
        .args(["--socket-name", "hist", "ctl"])
        .args(args)
        .output()
        .unwrap()
}

/// `ctl --json status` until `pred` holds on its `status` object.
fn wait_status(dir: &Path, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = String::new();
    while Instant::now() < deadline {
        let out = ctl(dir, &["--json", "status"]);
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

struct Console(Child);

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tongdai-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_headless_call_lands_in_the_history() {
    let dir = temp_dir("headless-history");
    let mut console = Console(
        tongdai(&dir)
            .args(["--headless", "--socket-name", "hist", "demo"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_status(&dir, "ready", |v| v["connection"] == "ready");

    let out = ctl(&dir, &["call", "0912345678"]);
    assert!(
        out.status.success(),
        "ctl call: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_status(&dir, "talking", |v| {
        v["call"]["number"] == "0912345678" && v["call"]["phase"] == "connected"
    });
    let out = ctl(&dir, &["end"]);
    assert!(
        out.status.success(),
        "ctl end: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_status(&dir, "ended", |v| v["call"].is_null());

    kill(Pid::from_raw(console.0.id() as i32), Signal::SIGTERM).unwrap();
    let status = console.0.wait().unwrap();
    assert!(status.success(), "headless exit: {status:?}");

    let out = tongdai(&dir).args(["history", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "history: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Value> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("history --json: {e}\n{text}"));
    let call = rows
        .iter()
        .find(|r| r.to_string().contains("0912345678"))
        .unwrap_or_else(|| panic!("the call is not in the history:\n{text}"));
    assert_eq!(call["direction"], "outbound", "{call}");
    assert!(!call["ended_at"].is_null(), "the end is recorded: {call}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `[audio] device = "file"` writes the sounds it plays to `record_dir`: a
/// call-out the switchboard answers 486 gives `busy-<n>.wav` with the
/// 425 Hz busy tone (`media::alert`).
#[test]
fn a_failed_headless_callout_plays_the_busy_tone() {
    let dir = temp_dir("headless-busy");
    let rec = dir.join("rec");
    std::fs::create_dir_all(&rec).unwrap();
    let cfg = dir.join("tongdai.toml");
    std::fs::write(
        &cfg,
        format!(
            "[audio]\ndevice = \"file\"\nrecord_dir = \"{}\"\n",
            rec.display()
        ),
    )
    .unwrap();
    let mut console = Console(
        tongdai(&dir)
            .arg("--config")
            .arg(&cfg)
            .args(["--headless", "--socket-name", "hist", "demo"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_status(&dir, "ready", |v| v["connection"] == "ready");
    let out = ctl(&dir, &["call", "0912345486"]);
    assert!(
        out.status.success(),
        "ctl call: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_status(&dir, "the call-out failed", |v| {
        v["last_call"]["sip_code"] == 486 || v["last_call"]["sip_code"] == "486"
    });
    // The busy tone lasts 3 s; the file is complete when the player closes it.
    let deadline = Instant::now() + Duration::from_secs(10);
    let busy = loop {
        let found = std::fs::read_dir(&rec)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("busy-"))
            });
        if let Some(p) = found
            && let Ok(x) = read_wav(&p, 8000)
            && x.len() >= 8000 * 29 / 10
        {
            break x;
        }
        assert!(
            Instant::now() < deadline,
            "no 3 s busy-*.wav in {}",
            rec.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // 0.5 s on / 0.5 s off: the first half second carries 425 Hz.
    let d = tone::detect_tone(&busy[..4000], 8000, 100.0, 3900.0);
    assert!(
        (d.freq - 425.0).abs() < 15.0 && d.level_dbfs > -30.0,
        "busy tone: {d:?}"
    );
    kill(Pid::from_raw(console.0.id() as i32), Signal::SIGTERM).unwrap();
    assert!(console.0.wait().unwrap().success());
    let _ = std::fs::remove_dir_all(&dir);
}
