//! Issue 18, "A dying path": the namespace's path dies for 3 s in the
//! middle of a WebRTC call (the real `tongdai --headless` binary, a plain
//! SIP account over WS, JsSIP in Chromium); the call must then either carry
//! audio both ways again, or end with a clear notice, within 10 s. It must
//! never hang silent.
//!
//! The namespace and peers: tests/common/browser.rs.
//! Run: `sudo -E cargo test --test webrtc_dying_path -- --nocapture`.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::bin::BinConsole;
use common::browser::{CHILD_ENV, Phone, T, call_phase, kamailio, run_child_in_netns, sox_tone};
use serde_json::json;

#[test]
fn a_dying_path_recovers_or_ends_with_a_notice_within_10_s() {
    run_child_in_netns("child_dying_path");
}

fn ip(args: &[&str]) {
    let ok = Command::new("ip")
        .args(args)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "ip {args:?}");
}

/// Cut (or restore) every path between the namespace's addresses. Taking
/// the veth pair down cuts nothing here: both ends are local addresses of
/// one namespace, so their traffic takes the local table. So the local
/// table's rule moves behind a blackhole rule for the /24 (sendto then
/// fails, as with a dead route) and back.
fn cut(prefix: &str, on: bool) {
    let net = format!("{prefix}.0/24");
    if on {
        ip(&["rule", "add", "pref", "100", "table", "local"]);
        ip(&["rule", "del", "pref", "0", "table", "local"]);
        ip(&["rule", "add", "pref", "10", "to", &net, "blackhole"]);
    } else {
        ip(&["rule", "del", "pref", "10", "to", &net, "blackhole"]);
        ip(&["rule", "add", "pref", "0", "table", "local"]);
        ip(&["rule", "del", "pref", "100", "table", "local"]);
    }
}

#[test]
fn child_dying_path() {
    let Ok(prefix) = std::env::var(CHILD_ENV) else {
        return; // only inside the namespace, started by the test above
    };
    let kam_ip = format!("{prefix}.1");
    let dir = common::tempdir("webrtc-dying");
    let _kam = kamailio(&kam_ip, &dir);
    let wav440 = dir.join("440.wav");
    sox_tone(&wav440, 440);
    let mut phone = Phone::registered(&kam_ip, "alice", "alicepw", &wav440);
    let wav1000 = dir.join("1000.wav");
    sox_tone(&wav1000, 1000);
    let config = format!(
        "backend = \"sip\"\n\
         [audio]\ndevice = \"file\"\nmic_wav = \"{}\"\n\
         [sip]\nuser = \"bob\"\nserver = \"{kam_ip}:8080\"\ntransport = \"ws\"\n\
         ws_url = \"ws://{kam_ip}:8080\"\ndomain = \"{kam_ip}\"\nbind = \"{prefix}.2\"\n\
         media = \"webrtc\"\n",
        wav1000.display(),
    );
    let td = BinConsole::start(
        "webrtc-dying-bin",
        &config,
        &[("TONGDAI_SIP_PASSWORD", "bobpw")],
    );
    td.wait_status("registered", T, |s| {
        s["registration"]["state"] == "registered"
    });
    let r = td.request(json!({"cmd": "call", "number": format!("sip:alice@{kam_ip}")}));
    assert_eq!(r["ok"], true, "{r}");
    phone.expect("incoming", T);
    phone.send(json!({"cmd": "answer"}));
    phone.expect("confirmed", T);
    td.wait_status("connected", T, |s| call_phase(s) == Some("connected"));
    std::thread::sleep(Duration::from_secs(3));
    let before = phone.check_hears(1000.0, "before the outage");

    // The path dies for 3 s: the browser hears nothing meanwhile.
    cut(&prefix, true);
    std::thread::sleep(Duration::from_millis(1000));
    let mid = phone.stats()["packetsReceived"].as_u64().unwrap_or(0);
    std::thread::sleep(Duration::from_millis(1900));
    let late = phone.stats()["packetsReceived"].as_u64().unwrap_or(0);
    cut(&prefix, false);
    assert!(
        late <= mid + 5,
        "the path was not cut: {mid} → {late} packets"
    );
    let up = Instant::now();

    // Within 10 s: audio both ways again, or the call ended.
    let mut last = before.clone();
    let mut outcome = None;
    while up.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(500));
        let s = td.status();
        if s["call"].is_null() {
            outcome = Some(format!("ended: {}", s["last_call"]));
            break;
        }
        let st = phone.stats();
        let got = st["packetsReceived"].as_u64().unwrap_or(0);
        let had = last["packetsReceived"].as_u64().unwrap_or(0);
        let tone = st["toneHz"].as_f64().unwrap_or(0.0);
        if got >= had + 20 && (tone - 1000.0).abs() <= 30.0 {
            outcome = Some(format!("recovered: {st}"));
            break;
        }
        last = st;
    }
    eprintln!("after the outage ({:?}): {outcome:?}", up.elapsed());
    let outcome = outcome.unwrap_or_else(|| {
        panic!(
            "10 s after the link came back the call neither carries audio nor ended: {last}\n{}",
            td.log()
        )
    });
    if outcome.starts_with("ended") {
        // Hung up for the path, and the browser got our BYE.
        assert!(outcome.contains("transport"), "{outcome}");
        phone.expect("ended", T);
    } else {
        // Our side hears again too: the browser's packets reach us (our
        // status shows the call, and the browser counts our packets).
        let a = phone.stats()["packetsSent"].as_u64().unwrap_or(0);
        std::thread::sleep(Duration::from_secs(1));
        let b = phone.stats()["packetsSent"].as_u64().unwrap_or(0);
        assert!(b > a + 20, "the browser sends again: {a} → {b}");
        let r = td.request(json!({"cmd": "end"}));
        assert_eq!(r["ok"], true, "{r}");
        phone.expect("ended", T);
    }
    phone.quit();
    drop(td);
    let _ = std::fs::remove_dir_all(&dir);
}
