//! Call-progress sounds through the real alert player (`media::alert_player`)
//! on real devices:
//!
//! - file device: SIPp calls the softphone engine, which rings for ~3.5 s
//!   before we answer; `<record_dir>/ring-1.wav` holds the 440 + 480 Hz
//!   ringtone with its 1 s on / 2 s off cadence (Goertzel), and ends at the
//!   answer (its length is the ringing time, nothing after);
//! - file device, call-outs to SIPp: 180 then our CANCEL gives
//!   `ringback-1.wav` (425 Hz, 1 s on) as long as it rang; 486 gives 3 s of
//!   busy tone (425 Hz, 0.5 s on / 0.5 s off), then silence;
//! - JACK (dummy-clocked jackd, cpal's JACK host): the ring device is its
//!   own JACK client; its port, patched into a cpal input, carries the
//!   ringtone, and the client goes away at the answer; killing jackd while
//!   it rings is one notice on the event stream, not a crash.

mod common;

use std::process::{Command as Proc, Stdio};
use std::time::{Duration, Instant};

use common::jack::{Jackd, ports};
use common::*;
use tokio::sync::mpsc;
use tongdai::backends::sip::SipBackend;
use tongdai::engine::{CallEvent, CallId};
use tongdai::engine::{Command, Direction, EndReason, Event, RingInfo};
use tongdai::media::device::read_wav;
use tongdai::media::{AudioConfig, AudioDevice, DeviceKind, alert_player, tone};

const T: Duration = Duration::from_secs(10);

/// Peak amplitude (0–1) of each ringtone frequency in `x` at `rate`.
fn ring_levels(x: &[i16], rate: u32) -> (f64, f64) {
    (
        tone::goertzel_amplitude(x, rate, 440.0),
        tone::goertzel_amplitude(x, rate, 480.0),
    )
}

fn secs(x: &[i16], rate: u32, from: f64, to: f64) -> &[i16] {
    let a = ((from * f64::from(rate)) as usize).min(x.len());
    let b = ((to * f64::from(rate)) as usize).min(x.len());
    &x[a..b]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbound_call_rings_on_the_ring_device_until_answered() {
    if !need("sipp") {
        return;
    }
    let dir = tempdir("ring");
    let audio = AudioConfig {
        device: DeviceKind::File,
        record_dir: Some(dir.clone()),
        ..AudioConfig::default()
    };
    let local = free_port();
    let acct = tongdai::sip::SipConfig {
        bind: format!("127.0.0.1:{local}"),
        ..sip_account(
            "alice",
            format!("127.0.0.1:{}", free_port()),
            tongdai::sip::Transport::Udp,
            "secret",
            false,
        )
    };
    let mut c = Headless::start(Box::new(SipBackend::new(acct).with_audio(audio.clone())));
    // The player sits on the engine's stream, as in the console.
    let (_unused, placeholder) = mpsc::unbounded_channel();
    let engine_events = std::mem::replace(&mut c.events, placeholder);
    c.events = alert_player::spawn(engine_events, audio);
    c.expect("ready", T, |e| *e == Event::Ready).await;
    let mut sipp = Sipp::start(
        &[
            "-sf",
            &sipp_scenario("uac_call_wait_bye.xml"),
            &format!("127.0.0.1:{local}"),
        ],
        &["-s", "alice"],
    );
    c.expect("ringing", T, |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    let rang = Instant::now();
    tokio::time::sleep(Duration::from_millis(3500)).await;
    c.send(Command::Accept { call: None });
    c.expect("accepted", T, |e| {
        e.call_event() == Some(&CallEvent::Accepted)
    })
    .await;
    let answered = rang.elapsed().as_secs_f64();
    // Talk a second: a ringtone during the call would lengthen the file.
    tokio::time::sleep(Duration::from_secs(1)).await;
    c.send(Command::End { call: None });
    c.expect("ended", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::LocalHangup))
    })
    .await;
    assert!(sipp.wait(T));
    assert!(c.shutdown().await);

    let ring = dir.join("ring-1.wav");
    let rate = alert_player::ALERT_RATE;
    let x = read_wav(&ring, rate).expect("the ring recording");
    let len = x.len() as f64 / f64::from(rate);
    println!("rang {len:.2} s; answered after {answered:.2} s");
    assert!(
        (len - answered).abs() < 0.3,
        "the ring lasted {len:.2} s, the call was answered after {answered:.2} s"
    );
    // On: both tones, loud (RINGTONE level 0.3 split over two tones).
    for (from, to) in [(0.1, 0.9), (3.1, 3.4)] {
        let (a, b) = ring_levels(secs(&x, rate, from, to), rate);
        assert!(
            a > 0.1 && b > 0.1,
            "{from}-{to} s: 440 Hz {a:.3}, 480 Hz {b:.3}"
        );
        let d = tone::detect_tone(secs(&x, rate, from, to), rate, 300.0, 3000.0);
        assert!(
            (d.freq - 440.0).abs() < 3.0 || (d.freq - 480.0).abs() < 3.0,
            "{d:?}"
        );
    }
    // Off: 1 s to 3 s is silent.
    assert_eq!(tone::rms(secs(&x, rate, 1.05, 2.95)), 0.0, "off time");
    // One ring, one file: nothing played after the answer.
    assert!(!dir.join("ring-2.wav").exists());
    assert!(!dir.join("ringback-1.wav").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

fn file_audio(dir: &std::path::Path) -> AudioConfig {
    AudioConfig {
        device: DeviceKind::File,
        record_dir: Some(dir.to_path_buf()),
        ..AudioConfig::default()
    }
}

/// The softphone calling SIPp (`scenario`), with the alert player on its
/// events.
async fn call_out(scenario: &str, audio: AudioConfig) -> (Headless, Sipp) {
    let sipp = Sipp::start(&["-sf", &sipp_scenario(scenario)], &[]);
    let acct = sip_account(
        "alice",
        format!("127.0.0.1:{}", sipp.port),
        tongdai::sip::Transport::Udp,
        "secret",
        false,
    );
    let mut c = Headless::start(Box::new(SipBackend::new(acct).with_audio(audio.clone())));
    let (_unused, placeholder) = mpsc::unbounded_channel();
    let engine_events = std::mem::replace(&mut c.events, placeholder);
    c.events = alert_player::spawn(engine_events, audio);
    c.expect("ready", T, |e| *e == Event::Ready).await;
    c.send(Command::CallOut("0912345678".into()));
    (c, sipp)
}

/// A recording, once its WAV is finalized (the sound stopped).
async fn finished_wav(path: &std::path::Path, rate: u32) -> Vec<i16> {
    let deadline = Instant::now() + Duration::from_secs(8);
    loop {
        if let Ok(x) = read_wav(path, rate)
            && !x.is_empty()
        {
            return x;
        }
        assert!(Instant::now() < deadline, "{} not written", path.display());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_call_out_hears_ringback_until_we_cancel() {
    if !need("sipp") {
        return;
    }
    let dir = tempdir("ringback");
    let (mut c, mut sipp) = call_out("uas_ring_cancel.xml", file_audio(&dir)).await;
    c.expect("far end rings", T, |e| {
        matches!(e.call_event(), Some(CallEvent::CalloutStarted(_)))
    })
    .await;
    let rang = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    c.send(Command::End { call: None });
    c.expect("cancelled", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::Cancelled))
    })
    .await;
    let heard = rang.elapsed().as_secs_f64();
    assert!(sipp.wait(T));
    assert!(c.shutdown().await);
    let rate = alert_player::ALERT_RATE;
    let x = finished_wav(&dir.join("ringback-1.wav"), rate).await;
    let len = x.len() as f64 / f64::from(rate);
    println!("ringback {len:.2} s, cancelled after {heard:.2} s");
    assert!(
        (len - heard).abs() < 0.3,
        "ringback {len:.2} s vs {heard:.2} s"
    );
    // 425 Hz, on for the first second (the cadence is 1 s on, 4 s off).
    let d = tone::detect_tone(secs(&x, rate, 0.1, 0.9), rate, 300.0, 3000.0);
    assert!(
        (d.freq - 425.0).abs() < 3.0 && d.level_dbfs > -20.0,
        "{d:?}"
    );
    assert_eq!(tone::rms(secs(&x, rate, 1.05, len)), 0.0, "off after 1 s");
    assert!(!dir.join("busy-2.wav").exists() && !dir.join("busy-1.wav").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_far_end_plays_three_seconds_of_busy_tone() {
    if !need("sipp") {
        return;
    }
    let dir = tempdir("busy");
    let (mut c, mut sipp) = call_out("uas_reject_486.xml", file_audio(&dir)).await;
    c.expect("busy", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::Busy))
    })
    .await;
    assert!(sipp.wait(T));
    let rate = alert_player::ALERT_RATE;
    // The 180 and the 486 come together: ringback (if it started at all)
    // gave way to the busy tone, the second sound of the call.
    // The player runs on its own thread: the file appears just after the
    // event that started it, not necessarily before we look.
    let deadline = Instant::now() + Duration::from_secs(5);
    let busy = loop {
        let found = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("busy-"))
            });
        match found {
            Some(p) => break p,
            None if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            None => panic!("no busy-<n>.wav in {}", dir.display()),
        }
    };
    let x = finished_wav(&busy, rate).await;
    let len = x.len() as f64 / f64::from(rate);
    println!("busy tone {len:.2} s");
    assert!((len - 3.0).abs() < 0.2, "busy for {len:.2} s");
    // 425 Hz, 0.5 s on / 0.5 s off.
    for k in 0..3 {
        let on = secs(&x, rate, f64::from(k) + 0.05, f64::from(k) + 0.45);
        let d = tone::detect_tone(on, rate, 300.0, 3000.0);
        assert!(
            (d.freq - 425.0).abs() < 3.0 && d.level_dbfs > -20.0,
            "{k}: {d:?}"
        );
        let off = secs(&x, rate, f64::from(k) + 0.55, f64::from(k) + 0.95);
        assert_eq!(tone::rms(off), 0.0, "{k}: off");
    }
    assert!(c.shutdown().await);
    let _ = std::fs::remove_dir_all(&dir);
}

fn ring() -> Event {
    Event::Call {
        call: CallId(1),
        event: CallEvent::Ringing(RingInfo {
            phone: "0912345678".into(),
            display_name: None,
            line: None,
            queue: None,
            direction: Direction::Inbound,
            agent_leg: false,
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ringtone_arrives_on_the_jack_ring_port() {
    if !need("jackd") {
        return;
    }
    let server = format!("tongdai-ring-{}", std::process::id());
    let jackd = Jackd::spawn(&server);
    // SAFETY: the only test in this binary that touches the environment
    // or cpal; set before any cpal thread starts.
    unsafe { std::env::set_var("JACK_DEFAULT_SERVER", &server) };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ports(&server).iter().any(|p| p.starts_with("system:")) {
        assert!(Instant::now() < deadline, "jackd did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The listener: a cpal input in this process.
    let mut ear =
        tongdai::media::cpal_device::CpalDevice::open(8000, None, None).expect("cpal JACK device");
    let before = ports(&server);
    let ear_ins: Vec<String> = before
        .iter()
        .filter(|p| p.contains(":in_") || p.contains("_in:"))
        .cloned()
        .collect();
    assert!(!ear_ins.is_empty(), "listener ports: {before:?}");

    let audio = AudioConfig {
        device: DeviceKind::Cpal,
        ring: Some("JACK Output".into()),
        ..AudioConfig::default()
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let mut out = alert_player::spawn(rx, audio);
    tx.send(ring()).unwrap();
    assert!(matches!(
        out.recv().await,
        Some(Event::Call {
            call: CallId(1),
            event: CallEvent::Ringing(_)
        })
    ));
    // Let the ring client open and activate before `jack_lsp` (a JACK client
    // too) polls: a client that opens while another activates or closes was
    // now and then refused ("client activation error") on the dummy server.
    tokio::time::sleep(Duration::from_millis(700)).await;
    // The ring device's client appears with its own output ports.
    let deadline = Instant::now() + Duration::from_secs(5);
    let ring_outs = loop {
        let now: Vec<String> = ports(&server)
            .into_iter()
            .filter(|p| !before.contains(p) && p.contains(":out_"))
            .collect();
        if !now.is_empty() {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "no ring ports: {:?}",
            ports(&server)
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    for o in &ring_outs {
        let ok = Proc::new("jack_connect")
            .args([o.as_str(), ear_ins[0].as_str()])
            .env("JACK_DEFAULT_SERVER", &server)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("jack_connect");
        assert!(ok.success(), "jack_connect {o} {}", ear_ins[0]);
    }
    // Listen for 2.5 s (20 ms frames at 8 kHz): the first "on" second
    // started when the ring did, so listen across on → off → on.
    let mut heard = Vec::new();
    let mut frame = [0i16; 160];
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    while start.elapsed() < Duration::from_millis(3500) {
        tick.tick().await;
        ear.read(&mut frame).expect("listener reads");
        heard.extend_from_slice(&frame);
    }
    // The loudest 0.5 s window holds both ringtone frequencies.
    let best = heard
        .chunks(4000)
        .map(|w| ring_levels(w, 8000))
        .fold(
            (0.0f64, 0.0f64),
            |m, l| if l.0 + l.1 > m.0 + m.1 { l } else { m },
        );
    assert!(
        best.0 > 0.05 && best.1 > 0.05,
        "ringtone on the JACK ring port: 440 Hz {:.3}, 480 Hz {:.3}",
        best.0,
        best.1
    );
    // And the cadence: some 0.5 s window is silent (the 2 s off time).
    let quiet = heard
        .chunks(4000)
        .filter(|w| w.len() == 4000)
        .any(|w| tone::rms(w) < 1e-3);
    assert!(quiet, "no off time in 3.5 s of ringing");

    // Answered: the ring client leaves JACK.
    tx.send(Event::Call {
        call: CallId(1),
        event: CallEvent::Accepted,
    })
    .unwrap();
    assert_eq!(
        out.recv().await,
        Some(Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted
        })
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while ports(&server).iter().any(|p| ring_outs.contains(p)) {
        assert!(
            Instant::now() < deadline,
            "the ring device stayed open after the answer"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    tx.send(Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::LocalHangup),
    })
    .unwrap();
    assert_eq!(
        out.recv().await,
        Some(Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::LocalHangup)
        })
    );
    drop(tx);
    assert_eq!(out.recv().await, None, "the stream ends with the engine's");
    let _ = ear.close();
    drop(jackd);
}
