//! The cpal sound-card device on a real (dummy-clocked) JACK server: A plays
//! a 1000 Hz tone from a file over RTP to B; B's cpal device plays it into
//! JACK; B's JACK output is patched into B's own JACK input (`jack_connect`),
//! so B sends what its "speaker" played back to A, whose recording must hold
//! the 1000 Hz tone. Both the output and the input path of the device, at
//! JACK's 48 kHz, resampled to and from G.711's 8 kHz.
//!
//! And the sound card vanishing mid-call: jackd is killed while B talks;
//! B's session reports the device lost once and goes on without it (RTP
//! keeps flowing both ways), nothing panics.

mod common;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::jack::{Jackd, ports};
use tongdai::media::cpal_device::CpalDevice;
use tongdai::media::device::read_wav;
use tongdai::media::tone;
use tongdai::media::{FileDevice, MediaEvent, MediaParams, MediaSession, Playback};

/// The tests share the process environment (`JACK_DEFAULT_SERVER`): one
/// jackd at a time.
static ONE_JACKD: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn have_jackd() -> bool {
    if Command::new("jackd").arg("--version").output().is_err() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("jackd is missing under CI (tests/peers/install.sh installs jackd2)");
        }
        println!("skipped: jackd is not installed (apt-get install jackd2)");
        return false;
    }
    true
}

/// A dummy-clocked jackd named `tongdai-<tag>-<pid>`, made the process's
/// JACK server; returns once its system ports exist.
fn start_jackd(tag: &str) -> (Jackd, String) {
    let server = format!("tongdai-{tag}-{}", std::process::id());
    let jackd = Jackd::spawn(&server);
    // SAFETY: callers hold ONE_JACKD, and no cpal thread of an earlier
    // test is alive (their devices were closed before the lock was freed).
    unsafe { std::env::set_var("JACK_DEFAULT_SERVER", &server) };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ports(&server).iter().any(|p| p.starts_with("system:")) {
        assert!(Instant::now() < deadline, "jackd did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    (jackd, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tone_goes_through_a_jack_sound_card_and_back() {
    if !have_jackd() {
        return;
    }
    let _one = ONE_JACKD.lock().await;
    let (_jackd, server) = start_jackd("test");

    let dev_b = CpalDevice::open(8000, None, None).expect("cpal JACK device");
    // Patch B's output into B's input.
    let all = ports(&server);
    let outs: Vec<&String> = all.iter().filter(|p| p.contains(":out_")).collect();
    let ins: Vec<&String> = all.iter().filter(|p| p.contains(":in_")).collect();
    assert!(!outs.is_empty() && !ins.is_empty(), "cpal ports: {all:?}");
    for (o, i) in outs.iter().zip(ins.iter()) {
        let ok = Command::new("jack_connect")
            .args([o.as_str(), i.as_str()])
            .env("JACK_DEFAULT_SERVER", &server)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("jack_connect");
        assert!(ok.success(), "jack_connect {o} {i}");
    }

    let dir = std::env::temp_dir().join(format!("tongdai-jack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rec_a = dir.join("a-hears.wav");
    let dev_a = FileDevice::from_samples(
        8000,
        tone::sine(1000.0, 0.3, 8000, 1000),
        Playback::Loop,
        Some(&rec_a),
    )
    .unwrap();
    let (sa, sb) = (common::rtp_socket(), common::rtp_socket());
    let (aa, ab): (SocketAddr, SocketAddr) = (sa.local_addr().unwrap(), sb.local_addr().unwrap());
    let a = MediaSession::start(sa, ab, MediaParams::new(0, None), Box::new(dev_a)).unwrap();
    let b = MediaSession::start(sb, aa, MediaParams::new(0, None), Box::new(dev_b)).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    b.stop().await;
    a.stop().await;

    let heard = read_wav(&rec_a, 8000).unwrap();
    assert!(heard.len() > 8000 * 2, "A recorded {} samples", heard.len());
    // The last second: well after the JACK and jitter-buffer latency.
    let w = &heard[heard.len() - 8000..];
    let d = tone::detect_tone(w, 8000, 100.0, 3900.0);
    assert!(
        (d.freq - 1000.0).abs() <= 5.0,
        "expected 1000 Hz back: {d:?}"
    );
    assert!(d.level_dbfs > -20.0, "too quiet: {d:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jackd_killed_mid_call_is_a_notice_and_the_call_goes_on() {
    if !have_jackd() {
        return;
    }
    let _one = ONE_JACKD.lock().await;
    let (mut jackd, _server) = start_jackd("kill");
    let dev_b = CpalDevice::open(8000, None, None).expect("cpal JACK device");
    let dev_a = FileDevice::from_samples(
        8000,
        tone::sine(1000.0, 0.3, 8000, 1000),
        Playback::Loop,
        None,
    )
    .unwrap();
    let (sa, sb) = (common::rtp_socket(), common::rtp_socket());
    let (aa, ab): (SocketAddr, SocketAddr) = (sa.local_addr().unwrap(), sb.local_addr().unwrap());
    let a = MediaSession::start(sa, ab, MediaParams::new(0, None), Box::new(dev_a)).unwrap();
    let mut b = MediaSession::start(sb, aa, MediaParams::new(0, None), Box::new(dev_b)).unwrap();
    let mut b_events = b.take_events().expect("B's events");
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The sound card goes away.
    let killed = Instant::now();
    jackd.crash();
    let lost = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(e) = b_events.recv().await {
            if let MediaEvent::DeviceLost(why) = e {
                return Some(why);
            }
        }
        None
    })
    .await;
    let why = match lost {
        Ok(Some(why)) => why,
        Ok(None) => panic!("B's session ended instead of reporting the device lost"),
        Err(_) => panic!("no DeviceLost within 5 s of killing jackd"),
    };
    let noticed = killed.elapsed();
    println!("device lost after {noticed:?}: {why}");
    // The call goes on: two more seconds of RTP both ways, on B's null device.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let more = tokio::time::timeout(Duration::from_millis(200), async {
        let mut n = 0;
        while let Some(e) = b_events.recv().await {
            if matches!(e, MediaEvent::DeviceLost(_)) {
                n += 1;
            }
        }
        n
    })
    .await
    .unwrap_or(0);
    assert_eq!(more, 0, "the loss is reported once");
    let rb = b.stop().await;
    let ra = a.stop().await;
    // ~3.2 s of 20 ms packets: the session never stopped sending.
    let elapsed = killed.elapsed().as_secs_f64() + 1.0;
    let expect = (elapsed * 50.0 * 0.8) as u64;
    assert!(
        rb.packets_sent >= expect && ra.packets_received >= expect,
        "B sent {}, A received {}, expected ≥ {expect} over {elapsed:.1} s",
        rb.packets_sent,
        ra.packets_received
    );
}
