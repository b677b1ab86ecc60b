//! `tongdai demo --headless` does what the console does besides the screen:
//! it keeps the call history and plays the call-progress sounds. The real
//! binary, driven by `tongdai ctl`, stopped by SIGTERM.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::console::{Console, ctl, history_json, temp_dir, tongdai};
use serde_json::Value;
use tongdai::media::device::read_wav;
use tongdai::media::tone;

fn wait_status(dir: &std::path::Path, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    common::console::wait_status(dir, "hist", what, pred)
}

#[test]
fn a_headless_call_lands_in_the_history() {
    let dir = temp_dir("headless-history");
    let console = Console(
        tongdai(&dir)
            .args(["--headless", "--socket-name", "hist", "demo"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_status(&dir, "ready", |v| v["connection"] == "ready");

    let out = ctl(&dir, "hist", &["call", "0912345678"]);
    assert!(
        out.status.success(),
        "ctl call: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_status(&dir, "talking", |v| {
        v["call"]["number"] == "0912345678" && v["call"]["phase"] == "connected"
    });
    let out = ctl(&dir, "hist", &["end"]);
    assert!(
        out.status.success(),
        "ctl end: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_status(&dir, "ended", |v| v["call"].is_null());

    console.stop();

    let rows = history_json(&dir);
    let call = rows
        .iter()
        .find(|r| r.to_string().contains("0912345678"))
        .unwrap_or_else(|| panic!("the call is not in the history:\n{rows:#?}"));
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
    let console = Console(
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
    let out = ctl(&dir, "hist", &["call", "0912345486"]);
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
    console.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
