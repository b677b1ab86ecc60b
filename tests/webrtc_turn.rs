//! Issue 18, "TURN": WebRTC calls through a real coturn relay, through the
//! real `tongdai --headless` binary and a config file.
//!
//! coturn (Debian `coturn`) runs inside the test's private namespace with
//! long-term credentials. Both ends are relay-only: the browser by
//! `iceTransportPolicy: "relay"`, tongdai by `[sip] ice_policy = "relay"`,
//! so the audio can only flow if both TURN allocations work; it is checked
//! by tone both ways (the browser plays 440 Hz, we play 1000 Hz), for a call
//! we place and one we answer. Our TURN password comes from a 0600 file and
//! must not appear in our log.
//!
//! A dead TURN server (a UDP socket that never answers) costs at most 2 s:
//! the call we place ends by then, with a notice naming the server.
//!
//! The namespace and peers: tests/common/browser.rs.
//! Run: `sudo -E cargo test --test webrtc_turn -- --nocapture`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::bin::BinConsole;
use common::browser::{
    CHILD_ENV, Phone, T, calls_both_ways, kamailio, run_child_in_netns, sox_tone,
};
use serde_json::json;

const TURN_PORT: u16 = 3478;
const TURN_USER: &str = "agent7";
const TURN_PW: &str = "turn-Secret-93c1";

#[test]
fn webrtc_calls_through_turn_relay_only_and_a_dead_turn_costs_at_most_2_s() {
    run_child_in_netns("child_turn");
}

fn config(
    prefix: &str,
    kam_ip: &str,
    turn: &str,
    pw_file: &Path,
    mic: &Path,
    rec: &Path,
) -> String {
    format!(
        "backend = \"sip\"\n\
         [audio]\ndevice = \"file\"\nmic_wav = \"{}\"\nrecord_dir = \"{}\"\n\
         [sip]\nuser = \"bob\"\nserver = \"{kam_ip}:8080\"\ntransport = \"ws\"\n\
         ws_url = \"ws://{kam_ip}:8080\"\ndomain = \"{kam_ip}\"\nbind = \"{prefix}.2\"\n\
         media = \"webrtc\"\nturn_servers = [\"{turn}\"]\nturn_user = \"{TURN_USER}\"\n\
         turn_password_file = \"{}\"\nice_policy = \"relay\"\n",
        mic.display(),
        rec.display(),
        pw_file.display()
    )
}

#[test]
fn child_turn() {
    let Ok(prefix) = std::env::var(CHILD_ENV) else {
        return; // only inside the namespace, started by the test above
    };
    let kam_ip = format!("{prefix}.1");
    let dir = common::tempdir("webrtc-turn");
    let _kam = kamailio(&kam_ip, &dir);
    let turn = common::turn::coturn(
        &kam_ip,
        TURN_PORT,
        (49160, 49260),
        TURN_USER,
        TURN_PW,
        &dir,
        false,
    )
    .expect("coturn");
    let turn_url = format!("turn:{kam_ip}:{TURN_PORT}?transport=udp");

    // The browser: alice, relay-only through coturn, speaking 440 Hz.
    let wav440 = dir.join("440.wav");
    sox_tone(&wav440, 440);
    let pc = json!({
        "iceServers": [{"urls": turn_url, "username": TURN_USER, "credential": TURN_PW}],
        "iceTransportPolicy": "relay",
    });
    let mut phone = Phone::registered_at(
        &format!("ws://{kam_ip}:8080"),
        &kam_ip,
        "alice",
        "alicepw",
        &wav440,
        &[format!("--pc-config={pc}")],
    );

    // tongdai: bob, relay-only, the TURN password in a 0600 file.
    let pw_file = common::write_secret(&dir, TURN_PW);
    let wav1000 = dir.join("1000.wav");
    sox_tone(&wav1000, 1000);
    let rec = dir.join("rec");
    std::fs::create_dir_all(&rec).expect("record dir");
    let td = BinConsole::start(
        "webrtc-turn-bin",
        &config(&prefix, &kam_ip, &turn_url, &pw_file, &wav1000, &rec),
        &[("TONGDAI_SIP_PASSWORD", "bobpw")],
    );
    td.wait_status("registered", T, |s| {
        s["registration"]["state"] == "registered"
    });

    // Each call listens 3 s, as on the direct path, and the recording must
    // hold 2 s of it. When we called, first audio through the relay used to
    // come 2-3.5 s after the answer: the ICE stack waited 2 s before it
    // would nominate a relay pair, even with nothing better to wait for.
    calls_both_ways(
        &td,
        &mut phone,
        &kam_ip,
        &rec,
        Duration::from_secs(3),
        ", relay only",
    );
    // coturn relayed for both ends (two allocations per call).
    let allocations = turn.allocations();
    eprintln!("coturn: {allocations} successful allocations");
    assert!(
        allocations >= 4,
        "coturn should have allocated for both ends of both calls:\n{}",
        std::fs::read_to_string(&turn.log).unwrap_or_default()
    );
    assert!(
        !td.log().contains(TURN_PW),
        "the TURN password is in our log"
    );
    drop(td);

    // 3. A dead TURN server: a socket that never answers.
    let dead = std::net::UdpSocket::bind(format!("{kam_ip}:0")).expect("bind");
    let dead_url = format!(
        "turn:{}?transport=udp",
        dead.local_addr().expect("dead addr")
    );
    let td = BinConsole::start(
        "webrtc-turn-dead",
        &config(&prefix, &kam_ip, &dead_url, &pw_file, &wav1000, &rec)
            .replace("[sip]\n", "[sip]\nregister = false\n"),
        &[("TONGDAI_SIP_PASSWORD", "bobpw")],
    );
    let events = td.subscribe();
    std::thread::sleep(Duration::from_millis(200));
    let t0 = Instant::now();
    let r = td.request(json!({"cmd": "call", "number": format!("sip:alice@{kam_ip}")}));
    assert_eq!(r["ok"], true, "{r}");
    let mut notice = None;
    let mut ended = None;
    while (notice.is_none() || ended.is_none()) && t0.elapsed() < T {
        let Ok(e) = events.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        if e["event"] == "notice" && notice.is_none() {
            notice = Some((t0.elapsed(), e.clone()));
        }
        if e["event"] == "cs_end_call" && ended.is_none() {
            ended = Some((t0.elapsed(), e.clone()));
        }
    }
    let (at, notice) = notice.expect("a notice about the dead TURN server");
    let (ended_at, end) = ended.expect("the call ends");
    eprintln!("dead TURN: notice after {at:?}: {notice}");
    eprintln!("dead TURN: call ended after {ended_at:?}: {end}");
    let text = notice["text"]["en"].as_str().unwrap_or_default();
    assert!(
        text.contains("TURN") && text.contains(&dead_url),
        "the notice names the TURN server: {notice}"
    );
    assert!(
        ended_at <= Duration::from_secs(2),
        "a dead TURN server cost {ended_at:?} of call setup (at most 2 s)"
    );
    assert!(
        !td.log().contains(TURN_PW),
        "the TURN password is in our log"
    );
    drop(td);

    phone.quit();
    let _ = std::fs::remove_dir_all(&dir);
}
