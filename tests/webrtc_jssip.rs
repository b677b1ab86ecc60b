//! tongdai's WebRTC media against the real thing: JsSIP in headless
//! Chromium (tests/browser/phone.mjs), through Kamailio over WebSocket, in a
//! private network namespace (Chromium offers no loopback ICE candidates).
//!
//! It drives [`SipUa`] as a library and pumps the raw frames itself, to
//! measure the media (tests/webrtc_plain_sip.rs is the same peer against
//! the `tongdai` binary and its audio device).
//!
//! The namespace and the peers come from `tests/common/browser.rs`: the
//! child process (`child_side`) runs inside it, so `getrusage(RUSAGE_SELF)`
//! measures the tongdai side alone; it drives both peers and prints
//! `FIGURE` lines.
//!
//! Run: `sudo -E cargo test --test webrtc_jssip -- --nocapture` (root; skips
//! with a reason otherwise, fails under `CI=true` when a tool is missing).
//! `CALL_SECS` (default 30) sets the measured call's length.

mod common;

use std::time::{Duration, Instant};

use common::browser::{CHILD_ENV, Phone, T, kamailio, run_child_in_netns, sox_tone};
use serde_json::json;
use tokio::sync::mpsc;
use tongdai::call::softphone::{Leg, SipAction, SipInput};
use tongdai::engine::RegState;
use tongdai::secret::Secret;
use tongdai::sip::ua::{SipUa, UaEvent};
use tongdai::sip::{MediaMode, SipConfig, Transport};
use tongdai::webrtc_media::{AudioIo, FRAME_SAMPLES, MediaEvent, SAMPLE_RATE, Timeline};

#[test]
fn webrtc_calls_with_jssip_in_chromium() {
    run_child_in_netns("child_side");
}

// ---- the child, inside the namespace ----------------------------------------

/// tongdai's UA and its events.
struct Td {
    ua: SipUa,
    events: mpsc::UnboundedReceiver<UaEvent>,
}

impl Td {
    async fn expect_call<F: Fn(&SipInput) -> bool>(&mut self, what: &str, f: F) -> SipInput {
        let end = tokio::time::Instant::now() + T;
        loop {
            match tokio::time::timeout_at(end, self.events.recv()).await {
                Ok(Some(UaEvent::Call(i))) if f(&i) => return i,
                Ok(Some(e)) => eprintln!("tongdai: {e:?}"),
                Ok(None) | Err(_) => panic!("tongdai: no {what}"),
            }
        }
    }

    async fn audio(&self, leg: Leg) -> AudioIo {
        for _ in 0..200 {
            if let Some(io) = self.ua.take_webrtc_audio(leg) {
                return io;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no WebRTC audio for {leg:?}");
    }
}

/// Relative power of `hz` in `x` (Goertzel), 0..1 of the signal's energy.
fn tone_share(x: &[i16], hz: f64) -> f64 {
    let n = x.len() as f64;
    let w = 2.0 * std::f64::consts::PI * hz / f64::from(SAMPLE_RATE);
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    let mut energy = 0.0;
    for &v in x {
        let v = f64::from(v);
        energy += v * v;
        let s = v + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let p = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
    // A pure sine of energy E gives p = E * n / 2.
    if energy == 0.0 {
        0.0
    } else {
        p / (energy * n / 2.0)
    }
}

/// Send a 1000 Hz tone into the call (20 ms frames, paced), collect what
/// arrives, and report media events. Runs until `stop`.
struct Media {
    heard: std::sync::Arc<std::sync::Mutex<Vec<i16>>>,
    timeline: std::sync::Arc<Timeline>,
    first_audio: tokio::sync::watch::Receiver<Option<Instant>>,
    stop: tokio_util::sync::CancellationToken,
}

fn run_media(io: AudioIo) -> Media {
    let AudioIo {
        to_peer,
        mut from_peer,
        mut events,
        timeline,
    } = io;
    let stop = tokio_util::sync::CancellationToken::new();
    let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (fa_tx, fa_rx) = tokio::sync::watch::channel(None);
    let s = stop.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        // 20 ms of 1000 Hz at 48 kHz is 20 whole periods: every frame is
        // the same, made once (the harness's cost is not tongdai's).
        let frame: Vec<i16> = (0..FRAME_SAMPLES)
            .map(|i| {
                let t = i as f64 / f64::from(SAMPLE_RATE);
                (12000.0 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as i16
            })
            .collect();
        loop {
            tokio::select! {
                _ = s.cancelled() => break,
                _ = tick.tick() => {}
            }
            if to_peer.send(frame.clone()).await.is_err() {
                break;
            }
        }
    });
    let (h, s) = (heard.clone(), stop.clone());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = s.cancelled() => break,
                f = from_peer.recv() => match f {
                    Some(f) => {
                        let mut h = h.lock().expect("heard");
                        h.extend_from_slice(&f);
                        // Keep at least the last second (trimmed now and
                        // then, not on every frame).
                        let len = h.len();
                        if len > 2 * SAMPLE_RATE as usize {
                            h.drain(..len - SAMPLE_RATE as usize);
                        }
                    }
                    None => break,
                },
                e = events.recv() => match e {
                    Some(MediaEvent::FirstAudio { at, codec }) => {
                        eprintln!("tongdai: first audio ({})", codec.name());
                        let _ = fa_tx.send(Some(at));
                    }
                    Some(e) => eprintln!("tongdai media: {e:?}"),
                    None => {}
                },
            }
        }
    });
    Media {
        heard,
        timeline,
        first_audio: fa_rx,
        stop,
    }
}

impl Media {
    fn share_440(&self) -> f64 {
        // Best 250 ms window of the last second: the browser's looped WAV
        // restarts every 10 s with a short gap, which a single window would
        // count against the tone.
        let h = self.heard.lock().expect("heard");
        let tail = &h[h.len().saturating_sub(SAMPLE_RATE as usize)..];
        tail.windows(12_000)
            .step_by(3_000)
            .map(|w| tone_share(w, 440.0))
            .fold(0.0, f64::max)
    }
    fn clear(&self) {
        self.heard.lock().expect("heard").clear();
    }
    async fn first_audio(&mut self) -> Instant {
        let r = tokio::time::timeout(T, self.first_audio.wait_for(|a| a.is_some())).await;
        match r {
            Ok(Ok(a)) => a.unwrap_or_else(Instant::now),
            _ => panic!("tongdai: no audio from the browser"),
        }
    }
}

fn check_tongdai_hears(m: &Media, what: &str) {
    let share = m.share_440();
    eprintln!("tongdai hears 440 Hz: {:.2} of the energy ({what})", share);
    assert!(
        share > 0.5,
        "{what}: 440 Hz is only {share:.2} of what tongdai receives"
    );
}

/// CPU seconds (user+sys) and peak RSS (MB) of this process.
fn rusage() -> (f64, f64) {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let cpu = ru.ru_utime.tv_sec as f64
        + ru.ru_utime.tv_usec as f64 / 1e6
        + ru.ru_stime.tv_sec as f64
        + ru.ru_stime.tv_usec as f64 / 1e6;
    (cpu, ru.ru_maxrss as f64 / 1024.0)
}

/// utime+stime (s) of `root` and all its descendants, from /proc.
fn tree_cpu(root: u32) -> f64 {
    let tck = 100.0; // USER_HZ on Linux
    let mut procs = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
                continue;
            };
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ppid: u32 = f.get(1).and_then(|v| v.parse().ok()).unwrap_or(0);
            let ut: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0);
            let st: f64 = f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
            procs.push((pid, ppid, (ut + st) / tck));
        }
    }
    let mut set = vec![root];
    loop {
        let before = set.len();
        for (pid, ppid, _) in &procs {
            if set.contains(ppid) && !set.contains(pid) {
                set.push(*pid);
            }
        }
        if set.len() == before {
            break;
        }
    }
    procs
        .iter()
        .filter(|(p, _, _)| set.contains(p))
        .map(|(_, _, c)| c)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_side() {
    let Ok(prefix) = std::env::var(CHILD_ENV) else {
        return; // only inside the namespace, started by the test above
    };
    // RUST_LOG=tongdai::webrtc_media=debug shows the setup steps as they
    // happen; webrtc=debug,rtc_ice=debug the stack's own.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let call_secs: u64 = std::env::var("CALL_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let kam_ip = format!("{prefix}.1");
    let dir = common::tempdir("webrtc");

    // Kamailio: registrar + proxy, WS, digest auth.
    let _kam = kamailio(&kam_ip, &dir);
    let ws = format!("ws://{kam_ip}:8080");

    // The browser: alice, speaking a 440 Hz tone.
    let wav = dir.join("440.wav");
    sox_tone(&wav, 440);
    let mut phone = Phone::registered(&kam_ip, "alice", "alicepw", &wav);

    // tongdai: bob over WS, WebRTC media, on the other veth address.
    let (tx, rx) = mpsc::unbounded_channel();
    let cfg = SipConfig {
        user: "bob".into(),
        server: format!("{kam_ip}:8080"),
        transport: Transport::Ws,
        ws_url: Some(ws.clone()),
        domain: Some(kam_ip.clone()),
        auth_user: None,
        password_file: None,
        display_name: None,
        expires: 120,
        register: true,
        bind: format!("{prefix}.2"),
        insecure_tls: false,
        second_call: Default::default(),
        ring_timeout_s: 30,
        inbound_ring_timeout_s: 60,
        keepalive_s: 30,
        ca_file: None,
        tls_cert_file: None,
        tls_key_file: None,
        stun_servers: Vec::new(),
        turn_servers: Vec::new(),
        turn_user: None,
        turn_password_file: None,
        ice_policy: Default::default(),
        media: MediaMode::Webrtc,
        codecs: Default::default(),
    };
    let ua = SipUa::start(cfg, Secret::new("bobpw"), tx)
        .await
        .expect("start the UA");
    // This test measures the raw media: it pumps the frames itself.
    ua.pump_webrtc_audio_externally(true);
    let mut td = Td { ua, events: rx };
    let end = tokio::time::Instant::now() + T;
    loop {
        match tokio::time::timeout_at(end, td.events.recv()).await {
            Ok(Some(UaEvent::Registration(RegState::Registered { .. }))) => break,
            Ok(Some(e)) => eprintln!("tongdai: {e:?}"),
            _ => panic!("tongdai did not register"),
        }
    }

    // 1. tongdai calls the browser.
    let leg = Leg(9001);
    let t_invite = Instant::now();
    td.ua.execute(SipAction::Invite {
        leg,
        target: format!("sip:alice@{kam_ip}"),
    });
    phone.expect("incoming", T);
    phone.send(json!({"cmd": "answer"}));
    td.expect_call("answer", |i| matches!(i, SipInput::Answered { .. }))
        .await;
    let mut media = run_media(td.audio(leg).await);
    let t_first = media.first_audio().await;
    let out_first_ms = t_first.duration_since(t_invite).as_millis();
    let out_steps = media.timeline.describe_from(t_invite);
    phone.expect("confirmed", T);
    tokio::time::sleep(Duration::from_secs(2)).await;
    phone.check_hears(1000.0, "tongdai called");
    check_tongdai_hears(&media, "tongdai called");
    let s = td.ua.webrtc_stats(leg).await.expect("stats");
    eprintln!("tongdai stats: {s:?}");
    assert!(s.packets_in >= 50 && s.packets_out >= 50, "{s:?}");

    // Hold and resume by re-INVITE from the browser: the call and media stay.
    phone.send(json!({"cmd": "hold"}));
    td.expect_call("remote hold", |i| {
        matches!(i, SipInput::RemoteHold { held: true, .. })
    })
    .await;
    phone.expect("hold", T);
    tokio::time::sleep(Duration::from_secs(1)).await;
    phone.send(json!({"cmd": "unhold"}));
    td.expect_call("remote resume", |i| {
        matches!(i, SipInput::RemoteHold { held: false, .. })
    })
    .await;
    phone.expect("unhold", T);
    let before = td.ua.webrtc_stats(leg).await.expect("stats");
    let b_before = phone.stats()["packetsReceived"].as_u64().unwrap_or(0);
    media.clear();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = td.ua.webrtc_stats(leg).await.expect("stats");
    assert!(
        after.packets_in >= before.packets_in + 50,
        "after unhold: {before:?} -> {after:?}"
    );
    let s = phone.check_hears(1000.0, "after unhold");
    assert!(
        s["packetsReceived"].as_u64().unwrap_or(0) >= b_before + 50,
        "{s}"
    );
    check_tongdai_hears(&media, "after unhold");

    // Hang up from tongdai.
    td.ua.execute(SipAction::Bye { leg });
    let ended = phone.expect("ended", T);
    assert_eq!(ended["originator"], "remote", "{ended}");
    media.stop.cancel();
    eprintln!("ok: tongdai → browser: audio both ways, hold/resume, hang-up by tongdai");

    // 2. The browser calls tongdai: the measured call.
    phone.send(json!({"cmd": "call", "target": format!("sip:bob@{kam_ip}")}));
    let inc = td
        .expect_call("incoming", |i| matches!(i, SipInput::Incoming { .. }))
        .await;
    let SipInput::Incoming { leg, .. } = inc else {
        unreachable!()
    };
    let t_accept = Instant::now();
    td.ua.execute(SipAction::Accept { leg });
    phone.expect("confirmed", T);
    let mut media = run_media(td.audio(leg).await);
    let t_first = media.first_audio().await;
    let in_first_ms = t_first.duration_since(t_accept).as_millis();
    let in_steps = media.timeline.describe_from(t_accept);
    let (cpu0, _) = rusage();
    let chrome0 = tree_cpu(phone.pid);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    phone.check_hears(1000.0, "browser called");
    check_tongdai_hears(&media, "browser called");
    tokio::time::sleep(Duration::from_secs(call_secs.saturating_sub(2))).await;
    let (cpu1, rss) = rusage();
    let chrome1 = tree_cpu(phone.pid);
    let secs = t0.elapsed().as_secs_f64();
    phone.check_hears(1000.0, "end of the measured call");
    check_tongdai_hears(&media, "end of the measured call");
    let s = td.ua.webrtc_stats(leg).await.expect("stats");
    eprintln!("tongdai stats: {s:?}");

    // Hang up from the browser.
    phone.send(json!({"cmd": "hangup"}));
    td.expect_call("remote BYE", |i| matches!(i, SipInput::RemoteBye { .. }))
        .await;
    media.stop.cancel();
    eprintln!("ok: browser → tongdai: audio both ways, hang-up by the browser");

    println!(
        "FIGURE webrtc: INVITE sent -> first audio frame decoded: {out_first_ms} ms (tongdai calls); \
         200 OK sent (accept) -> first audio frame: {in_first_ms} ms (browser calls)"
    );
    println!("FIGURE webrtc: tongdai calls, from the INVITE command: {out_steps}");
    println!("FIGURE webrtc: the browser calls, from the accept command: {in_steps}");
    println!(
        "FIGURE webrtc: {secs:.0} s call: tongdai side {:.2} CPU-s, peak RSS {rss:.1} MB (whole test process); \
         Chromium phone {:.2} CPU-s (node + browser processes)",
        cpu1 - cpu0,
        chrome1 - chrome0
    );
    println!(
        "FIGURE webrtc: packets in/out {}/{}, bytes in/out {}/{}",
        s.packets_in, s.packets_out, s.bytes_in, s.bytes_out
    );
    phone.quit();
    let _ = std::fs::remove_dir_all(&dir);
}
