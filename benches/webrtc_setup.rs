//! Where first audio waits in a WebRTC call: two of our own WebRTC sessions
//! in one process on loopback, one offering and one answering (the SIP in
//! between is instantaneous here), each sending 20 ms Opus frames from the
//! moment it has its peer's SDP, as the UA's audio pump does. Each run's
//! setup steps come from the sessions' timelines (`webrtc_media::timeline`);
//! the figures are medians over the runs, in milliseconds from the moment
//! the offerer applies the answer (our 2xx received, when we call) and from
//! the moment the answerer's SDP is ready (our 200 OK sent, when we are
//! called).
//!
//! Two paths: host candidates, and relay-only through a real coturn on
//! 127.0.0.1 (skipped with the reason when `turnserver` is missing:
//! `tests/peers/install.sh`), a cold TURN allocation per call.
//!
//! Run: `cargo bench --bench webrtc_setup` (`RUNS=n`, default 10; an
//! optimised build without fat LTO: `--profile measure`).

#[path = "../tests/common/mod.rs"]
mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use tongdai::secret::Secret;
use tongdai::sip::TurnServers;
use tongdai::webrtc_media::{
    FRAME_SAMPLES, MediaEvent, SAMPLE_RATE, Step, WebRtcOptions, WebRtcSession,
};

const TURN_USER: &str = "bench";
const TURN_PW: &str = "bench-turn-pw";

/// Frames of a 440 Hz tone every 20 ms into `to_peer`, until it closes.
fn speak(to_peer: tokio::sync::mpsc::Sender<Vec<i16>>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        let mut n = 0u64;
        loop {
            tick.tick().await;
            let frame: Vec<i16> = (0..FRAME_SAMPLES as u64)
                .map(|i| {
                    let t = (n + i) as f64 / f64::from(SAMPLE_RATE);
                    (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
                })
                .collect();
            n += FRAME_SAMPLES as u64;
            if to_peer.send(frame).await.is_err() {
                break;
            }
        }
    });
}

/// Wait for the session's first decoded frame.
async fn first_audio(events: &mut tokio::sync::mpsc::UnboundedReceiver<MediaEvent>) -> bool {
    let wait = async {
        while let Some(e) = events.recv().await {
            if matches!(e, MediaEvent::FirstAudio { .. }) {
                return true;
            }
        }
        false
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or(false)
}

/// One call: (offerer's steps from applying the answer, answerer's steps
/// from its SDP ready), in ms.
async fn one_call(opts: &WebRtcOptions) -> Option<(Vec<(Step, f64)>, Vec<(Step, f64)>)> {
    let (mut a, offer) = WebRtcSession::offer(opts.clone()).await.ok()?;
    let (mut b, answer) = WebRtcSession::answer(opts.clone(), &offer).await.ok()?;
    let b_ready = Instant::now();
    let mut bio = b.take_io()?;
    speak(bio.to_peer.clone());
    let a_applied = Instant::now();
    a.apply_answer(&answer).await.ok()?;
    let mut aio = a.take_io()?;
    speak(aio.to_peer.clone());
    let (ha, hb) = tokio::join!(first_audio(&mut aio.events), first_audio(&mut bio.events));
    let rel = |tl: &tongdai::webrtc_media::Timeline, origin: Instant| {
        tl.steps()
            .into_iter()
            .filter_map(|(s, _)| {
                let at = tl.at(s)?;
                (at >= origin).then(|| (s, at.duration_since(origin).as_secs_f64() * 1e3))
            })
            .collect::<Vec<_>>()
    };
    let out = (ha && hb).then(|| (rel(&a.timeline(), a_applied), rel(&b.timeline(), b_ready)));
    a.close().await;
    b.close().await;
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn report(name: &str, runs: &[Vec<(Step, f64)>]) {
    let mut steps: Vec<Step> = Vec::new();
    for r in runs {
        for (s, _) in r {
            if !steps.contains(s) {
                steps.push(*s);
            }
        }
    }
    let mut line: Vec<(f64, String)> = steps
        .iter()
        .map(|s| {
            let v: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.iter().find(|(x, _)| x == s).map(|(_, ms)| *ms))
                .collect();
            let m = median(v);
            (m, format!("{} {m:.1}", s.name()))
        })
        .collect();
    line.sort_by(|a, b| a.0.total_cmp(&b.0));
    let text: Vec<String> = line.into_iter().map(|(_, t)| t).collect();
    println!("{name}: {}", text.join(", "));
}

async fn bench(name: &str, opts: WebRtcOptions, runs: usize) {
    let mut offerer = Vec::new();
    let mut answerer = Vec::new();
    let mut failed = 0;
    for _ in 0..runs {
        match one_call(&opts).await {
            Some((a, b)) => {
                offerer.push(a);
                answerer.push(b);
            }
            None => failed += 1,
        }
    }
    println!("== {name}: {} runs ({failed} without audio)", offerer.len());
    report("  we call, ms from the 2xx", &offerer);
    report("  we answer, ms from our 200", &answerer);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // RUST_LOG=tongdai::webrtc_media=debug,rtc_dtls=debug shows each step.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let host = WebRtcOptions {
        bind_ip: IpAddr::from([127, 0, 0, 1]),
        include_loopback: true,
        ..Default::default()
    };
    // One warm-up call: certificates, codecs, the runtime's threads.
    let _ = one_call(&host).await;
    bench("host candidates, loopback", host.clone(), runs).await;

    let port = 34780;
    let dir = common::tempdir("bench-turn");
    let turn = match common::turn::missing() {
        Some(why) => Err(why),
        None => common::turn::coturn(
            "127.0.0.1",
            port,
            (49300, 49400),
            TURN_USER,
            TURN_PW,
            &dir,
            true,
        ),
    };
    match turn {
        Ok(_turn) => {
            let relay = WebRtcOptions {
                turn: Some(TurnServers {
                    urls: vec![format!("turn:127.0.0.1:{port}?transport=udp")],
                    user: TURN_USER.into(),
                    password: Secret::new(TURN_PW),
                }),
                relay_only: true,
                ..host
            };
            bench("relay only, coturn on loopback", relay, runs).await;
        }
        Err(e) => println!("== relay only: skipped: {e}"),
    }
}
