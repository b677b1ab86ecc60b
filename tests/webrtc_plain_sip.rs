//! Issue 18, "Plain-SIP WebRTC": a plain SIP account with `transport =
//! "ws"` and `media = "webrtc"`, run as the real `tongdai --headless` binary
//! with a config file, calls JsSIP in headless Chromium through Kamailio
//! and is called by it; each call carries audio both ways, checked by tone:
//! the browser's fake microphone plays 440 Hz and its page measures what it
//! hears (WebAudio analyser, tests/browser/page.js); our `[audio]` file
//! device plays a 1000 Hz WAV and records what it hears to a WAV.
//!
//! Before the UA pumped WebRTC audio itself, only the VCC voice leg did:
//! ICE and DTLS came up, but the browser received nothing and nothing was
//! recorded here.
//!
//! The namespace and peers: tests/common/browser.rs (root, Chromium, Kamailio;
//! skips with the reason otherwise, fails under `CI=true`).
//! Run: `sudo -E cargo test --test webrtc_plain_sip -- --nocapture`.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::bin::BinConsole;
use common::browser::{CHILD_ENV, Phone, T, kamailio, run_child_in_netns, sox_tone};
use serde_json::{Value, json};
use tongdai::media::device::read_wav;
use tongdai::media::tone::detect_tone;

const RATE: u32 = 48_000;

#[test]
fn plain_sip_webrtc_calls_carry_audio_both_ways() {
    run_child_in_netns("child_plain_sip");
}

/// The call-<n>-heard.wav files in `dir`.
fn recordings(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("call-") && n.ends_with("-heard.wav"))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The one new recording since `before`, once its WAV is closed and holds
/// at least `secs` of audio.
fn new_recording(dir: &Path, before: &[PathBuf], secs: f64) -> Vec<i16> {
    let end = Instant::now() + T;
    let mut last = String::new();
    while Instant::now() < end {
        let new: Vec<PathBuf> = recordings(dir)
            .into_iter()
            .filter(|p| !before.contains(p))
            .collect();
        if let [p] = &new[..] {
            match read_wav(p, RATE) {
                Ok(x) if x.len() as f64 >= secs * f64::from(RATE) => return x,
                Ok(x) => last = format!("{}: {} samples", p.display(), x.len()),
                Err(e) => last = e.to_string(),
            }
        } else {
            last = format!("new recordings: {new:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no recording of {secs} s in {}: {last}", dir.display());
}

/// We heard the browser's 440 Hz: the best 500 ms window of the
/// recording's last 2 s is that tone, and pure (a loaded machine may cut
/// the audio now and then, so no single window is demanded).
fn check_we_hear(x: &[i16], what: &str) {
    let tail = &x[x.len().saturating_sub(2 * RATE as usize)..];
    let win = RATE as usize / 2;
    let best = tail
        .chunks(win / 2)
        .enumerate()
        .filter_map(|(i, _)| tail.get(i * win / 2..i * win / 2 + win))
        .map(|w| detect_tone(w, RATE, 200.0, 2000.0))
        .max_by(|a, b| a.purity.total_cmp(&b.purity));
    let Some(d) = best else {
        panic!("{what}: recording too short ({} samples)", x.len());
    };
    eprintln!(
        "tongdai hears {:.0} Hz, purity {:.2} ({what})",
        d.freq, d.purity
    );
    assert!(
        (d.freq - 440.0).abs() < 15.0 && d.purity > 0.5,
        "{what}: strongest tone {} Hz (purity {:.2}), expected 440 Hz",
        d.freq,
        d.purity
    );
}

fn call_phase(s: &Value) -> Option<&str> {
    s["call"]["phase"].as_str()
}

#[test]
fn child_plain_sip() {
    let Ok(prefix) = std::env::var(CHILD_ENV) else {
        return; // only inside the namespace, started by the test above
    };
    let kam_ip = format!("{prefix}.1");
    let dir = common::tempdir("webrtc-plain");
    let _kam = kamailio(&kam_ip, &dir);

    // The browser: alice, speaking 440 Hz.
    let wav440 = dir.join("440.wav");
    sox_tone(&wav440, 440);
    let mut phone = Phone::registered(&kam_ip, "alice", "alicepw", &wav440);

    // tongdai: bob, a plain SIP account over WS with WebRTC media, its
    // microphone a 1000 Hz WAV, what it hears recorded.
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
        rec.display()
    );
    let td = BinConsole::start(
        "webrtc-plain-bin",
        &config,
        &[("TONGDAI_SIP_PASSWORD", "bobpw")],
    );
    td.wait_status("registered", T, |s| {
        s["registration"]["state"] == "registered"
    });

    // 1. tongdai calls the browser.
    let before = recordings(&rec);
    let r = td.request(json!({"cmd": "call", "number": format!("sip:alice@{kam_ip}")}));
    assert_eq!(r["ok"], true, "{r}");
    phone.expect("incoming", T);
    phone.send(json!({"cmd": "answer"}));
    phone.expect("confirmed", T);
    td.wait_status("connected (we called)", T, |s| {
        call_phase(s) == Some("connected")
    });
    std::thread::sleep(Duration::from_secs(3));
    phone.check_hears(1000.0, "tongdai called");
    let r = td.request(json!({"cmd": "end"}));
    assert_eq!(r["ok"], true, "{r}");
    phone.expect("ended", T);
    td.wait_status("idle", T, |s| s["call"].is_null());
    check_we_hear(&new_recording(&rec, &before, 2.0), "tongdai called");
    eprintln!("ok: tongdai → browser: audio both ways");

    // 2. The browser calls tongdai.
    let before = recordings(&rec);
    phone.send(json!({"cmd": "call", "target": format!("sip:bob@{kam_ip}")}));
    td.wait_status("ringing (the browser calls)", T, |s| {
        call_phase(s) == Some("ringing") && s["call"]["direction"] == "inbound"
    });
    let r = td.request(json!({"cmd": "answer"}));
    assert_eq!(r["ok"], true, "{r}");
    phone.expect("confirmed", T);
    td.wait_status("connected (the browser called)", T, |s| {
        call_phase(s) == Some("connected")
    });
    std::thread::sleep(Duration::from_secs(3));
    phone.check_hears(1000.0, "the browser called");
    phone.send(json!({"cmd": "hangup"}));
    td.wait_status("idle after the browser's BYE", T, |s| s["call"].is_null());
    check_we_hear(&new_recording(&rec, &before, 2.0), "the browser called");
    eprintln!("ok: browser → tongdai: audio both ways");

    phone.quit();
    drop(td);
    let _ = std::fs::remove_dir_all(&dir);
}
