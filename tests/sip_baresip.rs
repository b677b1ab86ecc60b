//! The plain SIP softphone against baresip, through Kamailio: calls both
//! ways, hold and resume from each side.

mod common;

use std::time::Duration;

use common::*;
use tongdai::backends::sip::SipBackend;
use tongdai::engine::{Command, EndReason, Event, Notice, RegState};
use tongdai::sip::{SipConfig, Transport};

const T: Duration = Duration::from_secs(10);

fn alice(k: &Kamailio) -> SipConfig {
    SipConfig {
        domain: Some("127.0.0.1".into()),
        display_name: Some("Điện thoại viên".into()),
        ..sip_account(
            "alice",
            format!("127.0.0.1:{}", k.udp),
            Transport::Udp,
            "secret",
            true,
        )
    }
}

async fn registered(k: &Kamailio) -> Headless {
    let mut c = Headless::start(Box::new(SipBackend::new(alice(k))));
    c.expect("registered", T, |e| {
        matches!(e, Event::Registration(RegState::Registered { .. }))
    })
    .await;
    c
}

fn remote_hold_notice(e: &Event, held: bool) -> bool {
    let want = if held { "on hold" } else { "resumed" };
    matches!(e, Event::Notice(Notice::Info(t)) if t.contains(want))
}

#[tokio::test]
async fn we_call_baresip_and_both_sides_hold() {
    if !need("kamailio") || !need("baresip") {
        return;
    }
    let k = Kamailio::start();
    let bob = Baresip::start("bob", "secret", &format!("127.0.0.1:{}", k.udp));
    let mut c = registered(&k).await;
    c.send(Command::CallOut("sip:bob@127.0.0.1".into()));
    c.expect("baresip answers", T, |e| *e == Event::CustomerAnswered)
        .await;
    // Our hold: re-INVITE sendonly, answered by baresip.
    c.send(Command::ToggleHold);
    c.expect("held", T, |e| *e == Event::Held(true)).await;
    c.send(Command::ToggleHold);
    c.expect("resumed", T, |e| *e == Event::Held(false)).await;
    // baresip's hold: its re-INVITE reaches us and we answer it.
    assert!(bob.ctl(&["hold"]), "baresip hold");
    c.expect("held by baresip", T, |e| remote_hold_notice(e, true))
        .await;
    assert!(bob.ctl(&["resume"]), "baresip resume");
    c.expect("resumed by baresip", T, |e| remote_hold_notice(e, false))
        .await;
    c.send(Command::End);
    c.expect("ended", T, |e| *e == Event::Ended(EndReason::LocalHangup))
        .await;
    assert!(c.shutdown().await);
    let start = std::time::Instant::now();
    while !bob.log().to_lowercase().contains("closed") && start.elapsed() < T {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        bob.log().to_lowercase().contains("closed"),
        "baresip must see our BYE: {}",
        bob.log()
    );
}

#[tokio::test]
async fn baresip_calls_us_and_hangs_up() {
    if !need("kamailio") || !need("baresip") {
        return;
    }
    let k = Kamailio::start();
    let bob = Baresip::start("bob", "secret", &format!("127.0.0.1:{}", k.udp));
    let mut c = registered(&k).await;
    // baresip has no outbound proxy: name Kamailio in the URI.
    let target = format!("sip:alice@127.0.0.1:{}", k.udp);
    assert!(bob.ctl(&["dial", &target]), "baresip dial");
    let ring = c
        .expect("ringing", T, |e| matches!(e, Event::Ringing(_)))
        .await;
    let Event::Ringing(info) = ring else {
        unreachable!()
    };
    assert_eq!(info.phone, "bob");
    c.send(Command::Accept);
    c.expect("accepted", T, |e| *e == Event::Accepted).await;
    assert!(bob.ctl(&["hangup"]), "baresip hangup");
    c.expect("remote hang-up", T, |e| {
        *e == Event::Ended(EndReason::RemoteHangup)
    })
    .await;
    assert!(c.shutdown().await);
}

fn tone_in(samples: &[i16], freq: f64) -> tongdai::media::tone::Detected {
    let d = tongdai::media::tone::detect_tone(samples, 8000, 200.0, 2000.0);
    assert!(
        (d.freq - freq).abs() < 5.0 && d.purity > 0.5,
        "expected {freq} Hz, found {d:?}"
    );
    d
}

/// Audio both ways through Kamailio with baresip: our 1000 Hz tone is found
/// in baresip's recording and its 440 Hz tone in ours, also after we hold
/// and resume (one-way audio after unhold is a classic bug).
#[tokio::test]
async fn audio_flows_both_ways_and_after_unhold() {
    if !need("kamailio") || !need("baresip") {
        return;
    }
    use tongdai::media::{AudioConfig, DeviceKind};
    let k = Kamailio::start();
    let bob = Baresip::start("bob", "secret", &format!("127.0.0.1:{}", k.udp));
    let dir = tempdir("audio");
    let mic = dir.join("mic-1000.wav");
    tongdai::media::device::write_wav(
        &mic,
        8000,
        &tongdai::media::tone::sine(1000.0, 0.5, 8000, 2000),
    )
    .expect("mic wav");
    let audio = AudioConfig {
        device: DeviceKind::File,
        mic_wav: Some(mic),
        record_dir: Some(dir.clone()),
        input: None,
        output: None,
        ring: None,
    };
    let mut c = Headless::start(Box::new(SipBackend::new(alice(&k)).with_audio(audio)));
    c.expect("registered", T, |e| {
        matches!(e, Event::Registration(RegState::Registered { .. }))
    })
    .await;
    c.send(Command::CallOut("sip:bob@127.0.0.1".into()));
    c.expect("baresip answers", T, |e| *e == Event::CustomerAnswered)
        .await;
    c.expect("quality figures", T, |e| {
        matches!(e, Event::CallQuality { .. })
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    c.send(Command::ToggleHold);
    c.expect("held", T, |e| *e == Event::Held(true)).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    c.send(Command::ToggleHold);
    c.expect("resumed", T, |e| *e == Event::Held(false)).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    c.send(Command::End);
    c.expect("ended", T, |e| *e == Event::Ended(EndReason::LocalHangup))
        .await;
    assert!(c.shutdown().await);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let heard = tongdai::media::device::read_wav(&dir.join("call-1-heard.wav"), 8000)
        .expect("our recording");
    assert!(
        heard.len() > 8000 * 4,
        "recording too short: {}",
        heard.len()
    );
    // The first second of the call and the last second after the resume.
    tone_in(&heard[4000..12000], 440.0);
    tone_in(&heard[heard.len() - 9000..heard.len() - 1000], 440.0);

    let dump = std::fs::read_dir(&bob.dir)
        .expect("baresip dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("-dec.wav"))
        .expect("baresip recorded what it heard");
    let theirs = tongdai::media::device::read_wav(&dump, 8000).expect("baresip recording");
    assert!(theirs.len() > 8000, "baresip heard too little");
    tone_in(&theirs[2000..10000.min(theirs.len())], 1000.0);
}
