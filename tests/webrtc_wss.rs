//! Issue 18, "WSS": SIP over secure WebSocket to Kamailio's TLS module,
//! through the real `tongdai --headless` binary and a config file. A test
//! CA (made with openssl, tests/common/pki.rs) signs Kamailio's
//! certificate for its address; the console is told that CA (`[sip]
//! ca_file`) and verifies the server against it.
//!
//! 1. A self-signed certificate is refused, and the reason (the
//!    certificate) is kept in `status` and said in a notice.
//! 2. Kamailio's real certificate without our CA (the system's CAs) is
//!    refused the same way: the issuer is unknown.
//! 3. With the CA: REGISTER over wss, then calls both ways with JsSIP over
//!    wss in Chromium, WebRTC audio checked by tone both ways (the browser
//!    plays 440 Hz, we play 1000 Hz).
//!
//! Chromium trusts Kamailio's key by its SPKI hash
//! (`--ignore-certificate-errors-spki-list`), not by skipping checks.
//! The namespace and peers: tests/common/browser.rs.
//! Run: `sudo -E cargo test --test webrtc_wss -- --nocapture`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::bin::BinConsole;
use common::browser::{
    CHILD_ENV, Phone, T, WSS_PORT, calls_both_ways, kamailio_with, run_child_in_netns, sox_tone,
};

#[test]
fn wss_verifies_the_certificate_registers_and_calls_both_ways() {
    run_child_in_netns("child_wss");
}

fn config(prefix: &str, kam_ip: &str, ca: Option<&Path>, mic: &Path, rec: &Path) -> String {
    let ca = ca
        .map(|p| format!("ca_file = \"{}\"\n", p.display()))
        .unwrap_or_default();
    format!(
        "backend = \"sip\"\n\
         [audio]\ndevice = \"file\"\nmic_wav = \"{}\"\nrecord_dir = \"{}\"\n\
         [sip]\nuser = \"bob\"\nserver = \"{kam_ip}:{WSS_PORT}\"\ntransport = \"wss\"\n\
         ws_url = \"wss://{kam_ip}:{WSS_PORT}\"\ndomain = \"{kam_ip}\"\nbind = \"{prefix}.2\"\n\
         media = \"webrtc\"\n{ca}",
        mic.display(),
        rec.display()
    )
}

/// The console never registers, and says why: the certificate.
fn refused(td: &BinConsole, what: &str, needle: &str) {
    let s = td.wait_status(what, T, |s| s["registration_failure"].is_string());
    let reason = s["registration_failure"].as_str().unwrap_or_default();
    eprintln!("{what}: {reason}");
    assert!(
        reason.to_lowercase().contains(needle),
        "{what}: the reason should name the certificate ({needle}): {reason}"
    );
    assert_ne!(s["registration"]["state"], "registered", "{s}");
}

#[test]
fn child_wss() {
    let Ok(prefix) = std::env::var(CHILD_ENV) else {
        return; // only inside the namespace, started by the test above
    };
    let kam_ip = format!("{prefix}.1");
    let dir = common::tempdir("webrtc-wss");
    let pki = common::pki::make(&dir.join("pki"), &kam_ip);
    let wav1000 = dir.join("1000.wav");
    sox_tone(&wav1000, 1000);
    let rec = dir.join("rec");
    std::fs::create_dir_all(&rec).expect("record dir");
    let pw = [("TONGDAI_SIP_PASSWORD", "bobpw")];

    // 1. A self-signed certificate: refused, though our CA is configured.
    {
        let kam_dir = dir.join("kam-self");
        std::fs::create_dir_all(&kam_dir).expect("kam dir");
        let _kam = kamailio_with(&kam_ip, &kam_dir, Some(&pki.self_signed_cfg));
        let td = BinConsole::start(
            "wss-self",
            &config(&prefix, &kam_ip, Some(&pki.ca), &wav1000, &rec),
            &pw,
        );
        refused(&td, "refused (self-signed)", "self-signed");
    }

    let kam_dir = dir.join("kam");
    std::fs::create_dir_all(&kam_dir).expect("kam dir");
    let _kam = kamailio_with(&kam_ip, &kam_dir, Some(&pki.signed_cfg));

    // 2. The right server, but our CA not configured: the issuer is unknown.
    {
        let td = BinConsole::start(
            "wss-noca",
            &config(&prefix, &kam_ip, None, &wav1000, &rec),
            &pw,
        );
        refused(&td, "refused (unknown issuer)", "ca we do not trust");
    }

    // 3. With our CA: registered over wss.
    let t0 = Instant::now();
    let td = BinConsole::start(
        "wss-bin",
        &config(&prefix, &kam_ip, Some(&pki.ca), &wav1000, &rec),
        &pw,
    );
    td.wait_status("registered over wss", T, |s| {
        s["registration"]["state"] == "registered"
    });
    eprintln!("registered over wss {:?} after start", t0.elapsed());

    // The browser: alice over wss, speaking 440 Hz.
    let wav440 = dir.join("440.wav");
    sox_tone(&wav440, 440);
    let mut phone = Phone::registered_at(
        &format!("wss://{kam_ip}:{WSS_PORT}"),
        &kam_ip,
        "alice",
        "alicepw",
        &wav440,
        &[format!(
            "--chromium-arg=--ignore-certificate-errors-spki-list={}",
            pki.spki_sha256
        )],
    );

    calls_both_ways(
        &td,
        &mut phone,
        &kam_ip,
        &rec,
        Duration::from_secs(3),
        " over wss",
    );

    phone.quit();
    drop(td);
    let _ = std::fs::remove_dir_all(&dir);
}
