//! The plain SIP softphone against baresip, through Kamailio: calls both
//! ways, hold and resume from each side.

mod common;

use std::time::Duration;

use common::*;
use tongdai::backends::sip::SipBackend;
use tongdai::engine::CallEvent;
use tongdai::engine::{Command, EndReason, Event, Info, Notice, RegState};
use tongdai::media::audio_codec::AudioCodec;
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
    *e == Event::Notice(Notice::Info(tongdai::engine::Info::RemoteHold { held }))
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
    c.expect("baresip answers", T, |e| {
        e.call_event() == Some(&CallEvent::CustomerAnswered)
    })
    .await;
    // Our hold: re-INVITE sendonly, answered by baresip.
    c.send(Command::ToggleHold { call: None });
    c.expect("held", T, |e| {
        e.call_event() == Some(&CallEvent::Held(true))
    })
    .await;
    c.send(Command::ToggleHold { call: None });
    c.expect("resumed", T, |e| {
        e.call_event() == Some(&CallEvent::Held(false))
    })
    .await;
    // baresip's hold: its re-INVITE reaches us and we answer it.
    assert!(bob.ctl(&["hold"]), "baresip hold");
    c.expect("held by baresip", T, |e| remote_hold_notice(e, true))
        .await;
    assert!(bob.ctl(&["resume"]), "baresip resume");
    c.expect("resumed by baresip", T, |e| remote_hold_notice(e, false))
        .await;
    c.send(Command::End { call: None });
    c.expect("ended", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::LocalHangup))
    })
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
        .expect("ringing", T, |e| {
            matches!(e.call_event(), Some(CallEvent::Ringing(_)))
        })
        .await;
    let Some(CallEvent::Ringing(info)) = ring.call_event().cloned() else {
        unreachable!()
    };
    assert_eq!(info.phone, "bob");
    c.send(Command::Accept { call: None });
    c.expect("accepted", T, |e| {
        e.call_event() == Some(&CallEvent::Accepted)
    })
    .await;
    assert!(bob.ctl(&["hangup"]), "baresip hangup");
    c.expect("remote hang-up", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::RemoteHangup))
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
    c.expect("baresip answers", T, |e| {
        e.call_event() == Some(&CallEvent::CustomerAnswered)
    })
    .await;
    c.expect("quality figures", T, |e| {
        matches!(e.call_event(), Some(CallEvent::Quality(_)))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    c.send(Command::ToggleHold { call: None });
    c.expect("held", T, |e| {
        e.call_event() == Some(&CallEvent::Held(true))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    c.send(Command::ToggleHold { call: None });
    c.expect("resumed", T, |e| {
        e.call_event() == Some(&CallEvent::Held(false))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    c.send(Command::End { call: None });
    c.expect("ended", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::LocalHangup))
    })
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

/// A file device playing a 1000 Hz tone at -6 dBFS, recording into `dir`.
fn tone_device(dir: &std::path::Path) -> tongdai::media::AudioConfig {
    tone_audio(dir, 1000.0)
}

/// The tone in a recording (read at 8 kHz) at its frequency and at about
/// the level it was sent with (-6 dBFS), skipping the first half second.
fn tone_at_level(what: &str, samples: &[i16], freq: f64) {
    assert!(
        samples.len() > 12000,
        "{what}: recording too short: {}",
        samples.len()
    );
    let x = &samples[4000..samples.len().min(20000)];
    let d = tongdai::media::tone::detect_tone(x, 8000, 200.0, 2000.0);
    assert!(
        (d.freq - freq).abs() < 5.0 && d.purity > 0.5,
        "{what}: expected {freq} Hz, found {d:?}"
    );
    let level = tongdai::media::tone::dbfs(tongdai::media::tone::goertzel_amplitude(x, 8000, freq));
    eprintln!("{what}: {:.1} Hz at {level:.1} dBFS", d.freq);
    assert!(
        (level + 6.0).abs() < 4.0,
        "{what}: {freq} Hz at {level:.1} dBFS, sent at -6"
    );
}

/// One call each way with a baresip that speaks only `codec` (we offer
/// and accept all four): our 1000 Hz tone is in baresip's recordings and
/// its 440 Hz tone in ours, at their frequency and level.
async fn tones_both_ways(codec: AudioCodec) {
    if !need("kamailio") || !need("baresip") {
        return;
    }
    let k = Kamailio::start();
    let bob = Baresip::start_with_env(
        "bob",
        "secret",
        &format!("127.0.0.1:{}", k.udp),
        &baresip_codec_env(codec),
    );
    let dir = tempdir("codec");
    let backend = SipBackend::new(alice(&k)).with_audio(tone_device(&dir));
    let mut c = Headless::start(Box::new(backend));
    c.expect("registered", T, |e| {
        matches!(e, Event::Registration(RegState::Registered { .. }))
    })
    .await;
    // 1: we call baresip.
    c.send(Command::CallOut("sip:bob@127.0.0.1".into()));
    c.expect("baresip answers", T, |e| {
        e.call_event() == Some(&CallEvent::CustomerAnswered)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    c.send(Command::End { call: None });
    c.expect("ended", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::LocalHangup))
    })
    .await;
    // 2: baresip calls us. (Second on purpose: an inbound leg must not
    // reuse the number of our own earlier call, nor its call-1-heard.wav.)
    assert!(
        bob.ctl(&["dial", &format!("sip:alice@127.0.0.1:{}", k.udp)]),
        "baresip dial"
    );
    c.expect("ringing", T, |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    c.send(Command::Accept { call: None });
    c.expect("accepted", T, |e| {
        e.call_event() == Some(&CallEvent::Accepted)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(bob.ctl(&["hangup"]), "baresip hangup");
    c.expect("remote hang-up", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::RemoteHangup))
    })
    .await;
    assert!(c.shutdown().await);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The codec really was the one asked for: baresip logs its encoder.
    let log = bob.log();
    let name = codec.encoding_name().to_ascii_lowercase();
    assert!(
        log.to_ascii_lowercase()
            .contains(&format!("set audio encoder: {name}")),
        "baresip did not use {name}: {log}"
    );
    for n in 1..=2 {
        let heard =
            tongdai::media::device::read_wav(&dir.join(format!("call-{n}-heard.wav")), 8000)
                .expect("our recording");
        tone_at_level(&format!("{codec} call {n}, we heard"), &heard, 440.0);
    }
    let dumps = baresip_heard(&bob);
    assert_eq!(dumps.len(), 2, "baresip recordings: {dumps:?}");
    for (n, d) in dumps.iter().enumerate() {
        let theirs = tongdai::media::device::read_wav(d, 8000).expect("baresip recording");
        tone_at_level(
            &format!("{codec} call {}, baresip heard", n + 1),
            &theirs,
            1000.0,
        );
    }
}

#[tokio::test]
async fn tones_both_ways_with_opus() {
    tones_both_ways(AudioCodec::Opus).await;
}

#[tokio::test]
async fn tones_both_ways_with_g722() {
    tones_both_ways(AudioCodec::G722).await;
}

#[tokio::test]
async fn tones_both_ways_with_pcmu() {
    tones_both_ways(AudioCodec::Pcmu).await;
}

#[tokio::test]
async fn tones_both_ways_with_pcma() {
    tones_both_ways(AudioCodec::Pcma).await;
}

/// RFC 4733 both ways over Opus (telephone-event beside a 48 kHz RTP
/// clock): our digits are reported by baresip, baresip's reach us as
/// DtmfReceived. Then we hold and resume, and baresip's tone is still in
/// our recording. (baresip 1.0's decode dump stops for good at the first
/// media update — its player is re-created — whichever side holds, so
/// what it hears after the resume cannot be checked here; the session's
/// both-ways hold/unhold with Opus is in audio_loopback.rs.)
#[tokio::test]
async fn dtmf_both_ways_and_opus_after_unhold() {
    if !need("kamailio") || !need("baresip") {
        return;
    }
    let k = Kamailio::start();
    let bob = Baresip::start_with_env(
        "bob",
        "secret",
        &format!("127.0.0.1:{}", k.udp),
        &baresip_codec_env(AudioCodec::Opus),
    );
    let dir = tempdir("dtmf");
    let backend = SipBackend::new(alice(&k)).with_audio(tone_device(&dir));
    let mut c = Headless::start(Box::new(backend));
    c.expect("registered", T, |e| {
        matches!(e, Event::Registration(RegState::Registered { .. }))
    })
    .await;
    c.send(Command::CallOut("sip:bob@127.0.0.1".into()));
    c.expect("baresip answers", T, |e| {
        e.call_event() == Some(&CallEvent::CustomerAnswered)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for d in ['1', '5', '9', '#'] {
        c.send(Command::SendDtmf {
            call: None,
            digit: d,
        });
    }
    assert!(bob.ctl(&["dtmf", "4"]), "baresip sends 4");
    c.expect("baresip's digit", T, |e| {
        e.call_event() == Some(&CallEvent::DtmfReceived('4'))
    })
    .await;
    // baresip 1.0 logs each RFC 4733 event it receives.
    let start = std::time::Instant::now();
    let all_seen = |log: &str| {
        ['1', '5', '9', '#']
            .iter()
            .all(|d| log.contains(&format!("received event: '{d}'")))
    };
    while !all_seen(&bob.log()) && start.elapsed() < T {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        all_seen(&bob.log()),
        "baresip got our digits: {}",
        bob.log()
    );
    assert!(
        !bob.log().contains("received event: '2'"),
        "no digit we did not send"
    );

    c.send(Command::ToggleHold { call: None });
    c.expect("held", T, |e| {
        e.call_event() == Some(&CallEvent::Held(true))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    c.send(Command::ToggleHold { call: None });
    c.expect("resumed", T, |e| {
        e.call_event() == Some(&CallEvent::Held(false))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    c.send(Command::End { call: None });
    c.expect("ended", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::LocalHangup))
    })
    .await;
    assert!(c.shutdown().await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The last 1.5 s of each recording (after the resume) has the tone.
    let last = |x: &[i16]| x[x.len().saturating_sub(13000)..].to_vec();
    let ours = tongdai::media::device::read_wav(&dir.join("call-1-heard.wav"), 8000)
        .expect("our recording");
    tone_at_level("after unhold, we heard", &last(&ours), 440.0);
    assert!(
        bob.log().contains("Set audio encoder: opus"),
        "the call was Opus: {}",
        bob.log()
    );
}

/// `[sip] codecs` decides: with only Opus allowed, a baresip that offers
/// only PCMU gets 488 Not Acceptable Here (RFC 3261 §21.4.26), and the
/// agent reads why.
#[tokio::test]
async fn no_codec_in_common_is_refused_with_488() {
    if !need("kamailio") || !need("baresip") {
        return;
    }
    let k = Kamailio::start();
    let bob = Baresip::start_with_env(
        "bob",
        "secret",
        &format!("127.0.0.1:{}", k.udp),
        &baresip_codec_env(AudioCodec::Pcmu),
    );
    let cfg = SipConfig {
        codecs: tongdai::sip::config::CodecPrefs(vec![AudioCodec::Opus]),
        ..alice(&k)
    };
    let mut c = Headless::start(Box::new(SipBackend::new(cfg)));
    c.expect("registered", T, |e| {
        matches!(e, Event::Registration(RegState::Registered { .. }))
    })
    .await;
    assert!(
        bob.ctl(&["dial", &format!("sip:alice@127.0.0.1:{}", k.udp)]),
        "baresip dial"
    );
    c.expect("the refusal explained", T, |e| {
        matches!(e, Event::Notice(Notice::Info(Info::SipProblem { detail: t }))
            if t.contains("refused") && t.contains("no codec in common") && t.contains("we accept opus"))
    })
    .await;
    let start = std::time::Instant::now();
    while !bob.log().contains("488") && start.elapsed() < T {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        bob.log().contains("488"),
        "baresip got a 488: {}",
        bob.log()
    );
    assert!(c.shutdown().await);
}
