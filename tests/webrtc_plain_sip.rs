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

use std::time::Duration;

use common::bin::BinConsole;
use common::browser::{
    CHILD_ENV, Phone, T, calls_both_ways, kamailio, run_child_in_netns, sox_tone,
};

#[test]
fn plain_sip_webrtc_calls_carry_audio_both_ways() {
    run_child_in_netns("child_plain_sip");
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

    calls_both_ways(&td, &mut phone, &kam_ip, &rec, Duration::from_secs(3), "");

    phone.quit();
    drop(td);
    let _ = std::fs::remove_dir_all(&dir);
}
