//! Issue 18, "A dying path": the namespace's path dies in the middle of a
//! WebRTC call (the real `tongdai --headless` binary, a plain SIP account
//! over WS, JsSIP in Chromium). The call never hangs silent:
//!
//! 1. a 3 s outage is survived: the console restarts ICE by re-INVITE
//!    (RFC 8445 §9), and tone flows both ways again, in the same call; the
//!    browser then restarts ICE itself, and the call goes on;
//! 2. an outage that lasts ends the call with a notice within 10 s of the
//!    path's death (BYE, `transport_lost`).
//!
//! The namespace and peers: tests/common/browser.rs.
//! Run: `sudo -E cargo test --test webrtc_dying_path -- --nocapture`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::bin::BinConsole;
use common::browser::{
    CHILD_ENV, Phone, T, call_phase, check_we_hear, kamailio, new_recording, recordings,
    run_child_in_netns, sox_tone,
};
use serde_json::{Value, json};

const RATE: u32 = 48_000;

#[test]
fn a_dying_path_recovers_from_3_s_and_ends_within_10_s_when_it_stays_dead() {
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
/// fails with EINVAL, as with a dead route) and back. Chromium takes that
/// error as fatal and closes its UDP socket: only an ICE restart (new
/// candidates on the browser's side) brings such a call back.
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

fn packets(s: &Value, key: &str) -> u64 {
    s[key].as_u64().unwrap_or(0)
}

/// The console calls the browser, which answers; both talk 2 s.
fn connect(td: &BinConsole, phone: &mut Phone, kam_ip: &str, what: &str) {
    let r = td.request(json!({"cmd": "call", "number": format!("sip:alice@{kam_ip}")}));
    assert_eq!(r["ok"], true, "{r}");
    phone.expect("incoming", T);
    phone.send(json!({"cmd": "answer"}));
    phone.expect("confirmed", T);
    td.wait_status("connected", T, |s| call_phase(s) == Some("connected"));
    std::thread::sleep(Duration::from_secs(2));
    phone.check_hears(1000.0, what);
}

/// Cut the path for `secs`; checks that the browser heard nothing meanwhile.
fn outage(prefix: &str, phone: &mut Phone, secs: f64) {
    cut(prefix, true);
    std::thread::sleep(Duration::from_millis(1000));
    let mid = packets(&phone.stats(), "packetsReceived");
    std::thread::sleep(Duration::from_secs_f64(secs - 1.1));
    let late = packets(&phone.stats(), "packetsReceived");
    cut(prefix, false);
    assert!(
        late <= mid + 5,
        "the path was not cut: {mid} → {late} packets"
    );
}

fn survives_3_s(td: &BinConsole, phone: &mut Phone, prefix: &str, kam_ip: &str, rec: &Path) {
    let what = "a 3 s outage";
    let before_rec = recordings(rec);
    connect(td, phone, kam_ip, "before the 3 s outage");
    outage(prefix, phone, 3.0);
    let up = Instant::now();
    // Within 10 s: the browser hears our tone again, in the same call.
    let mut last = phone.stats();
    loop {
        assert!(
            up.elapsed() < Duration::from_secs(10),
            "{what}: 10 s after the path came back the browser still hears nothing: {last}\n{}",
            td.log()
        );
        std::thread::sleep(Duration::from_millis(500));
        let s = td.status();
        assert!(
            !s["call"].is_null(),
            "{what}: the call ended: {}\n{}",
            s["last_call"],
            td.log()
        );
        let st = phone.stats();
        let tone = st["toneHz"].as_f64().unwrap_or(0.0);
        let more = packets(&st, "packetsReceived") >= packets(&last, "packetsReceived") + 20;
        last = st;
        if more && (tone - 1000.0).abs() <= 30.0 {
            break;
        }
    }
    eprintln!(
        "{what}: the browser hears us again {:?} after the path came back",
        up.elapsed()
    );
    // The far end restarts ICE too (JsSIP's re-INVITE with new
    // credentials): answered, and the call goes on.
    let ufrag = phone.stats()["ufrag"].clone();
    phone.send(json!({"cmd": "restartIce"}));
    let re = phone.expect("renegotiated", T);
    assert!(
        re["ufrag"].is_string() && re["ufrag"] != ufrag,
        "{ufrag} → {re}"
    );
    // The browser sends again, and we hear it: the last 2 s we recorded,
    // all after the outage, are its 440 Hz.
    let a = packets(&phone.stats(), "packetsSent");
    std::thread::sleep(Duration::from_millis(2500));
    let st = phone.check_hears(1000.0, "after the 3 s outage");
    assert!(
        packets(&st, "packetsSent") > a + 50,
        "{what}: the browser sends: {a} → {st}"
    );
    assert!(!td.status()["call"].is_null(), "{what}: the call ended");
    let r = td.request(json!({"cmd": "end"}));
    assert_eq!(r["ok"], true, "{r}");
    phone.expect("ended", T);
    td.wait_status("idle", T, |s| s["call"].is_null());
    check_we_hear(
        &new_recording(rec, &before_rec, 4.0, RATE),
        RATE,
        440.0,
        what,
    );
    assert!(
        td.log().contains("ICE restart by re-INVITE"),
        "{what}: recovered without an ICE restart?\n{}",
        td.log()
    );
}

fn ends_within_10_s(td: &BinConsole, phone: &mut Phone, prefix: &str, kam_ip: &str) {
    let what = "a lasting outage";
    connect(td, phone, kam_ip, "before the lasting outage");
    let events = td.subscribe();
    cut(prefix, true);
    let dead = Instant::now();
    let mut status = td.status();
    while !status["call"].is_null() {
        assert!(
            dead.elapsed() < Duration::from_secs(10),
            "{what}: 10 s after the path died the call is still up: {status}\n{}",
            td.log()
        );
        std::thread::sleep(Duration::from_millis(200));
        status = td.status();
    }
    eprintln!(
        "{what}: ended {:?} after the path died: {}",
        dead.elapsed(),
        status["last_call"]
    );
    cut(prefix, false);
    assert_eq!(status["last_call"]["reason"], "transport_lost", "{status}");
    // The agent was told why, in words.
    let notice = events
        .try_iter()
        .filter(|e| e["event"] == "notice")
        .map(|e| e["text"]["en"].as_str().unwrap_or_default().to_string())
        .find(|t| t.contains("media path died"));
    assert!(notice.is_some(), "{what}: no notice\n{}", td.log());
    eprintln!("{what}: notice: {notice:?}");
    // Our BYE reaches the browser once the path is back.
    phone.expect("ended", T);
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
    let rec = dir.join("rec");
    std::fs::create_dir_all(&rec).expect("record dir");
    let config = format!(
        "backend = \"sip\"\n\
         [audio]\ndevice = \"file\"\nmic_wav = \"{}\"\nrecord_dir = \"{}\"\n\
         [sip]\nuser = \"bob\"\nserver = \"{kam_ip}:8080\"\ntransport = \"ws\"\n\
         ws_url = \"ws://{kam_ip}:8080\"\ndomain = \"{kam_ip}\"\nbind = \"{prefix}.2\"\n\
         media = \"webrtc\"\n",
        wav1000.display(),
        rec.display(),
    );
    let td = BinConsole::start(
        "webrtc-dying-bin",
        &config,
        &[("TONGDAI_SIP_PASSWORD", "bobpw")],
    );
    td.wait_status("registered", T, |s| {
        s["registration"]["state"] == "registered"
    });
    survives_3_s(&td, &mut phone, &prefix, &kam_ip, &rec);
    ends_within_10_s(&td, &mut phone, &prefix, &kam_ip);
    phone.quit();
    drop(td);
    let _ = std::fs::remove_dir_all(&dir);
}
