//! The cpal sound-card device on a real (dummy-clocked) JACK server: A plays
//! a 1000 Hz tone from a file over RTP to B; B's cpal device plays it into
//! JACK; B's JACK output is patched into B's own JACK input (`jack_connect`),
//! so B sends what its "speaker" played back to A, whose recording must hold
//! the 1000 Hz tone. Both the output and the input path of the device, at
//! JACK's 48 kHz, resampled to and from G.711's 8 kHz.

use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tongdai::media::cpal_device::CpalDevice;
use tongdai::media::device::read_wav;
use tongdai::media::tone;
use tongdai::media::{FileDevice, MediaParams, MediaSession, Playback};

struct Jackd(Child);

impl Drop for Jackd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rtp_socket() -> UdpSocket {
    loop {
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = s.local_addr().expect("addr").port();
        if port.is_multiple_of(2)
            && port < 65534
            && UdpSocket::bind(("127.0.0.1", port + 1)).is_ok()
        {
            return s;
        }
    }
}

fn ports(server: &str) -> Vec<String> {
    Command::new("jack_lsp")
        .env("JACK_DEFAULT_SERVER", server)
        .stderr(Stdio::null())
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tone_goes_through_a_jack_sound_card_and_back() {
    if Command::new("jackd").arg("--version").output().is_err() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("jackd is missing under CI (tests/peers/install.sh installs jackd2)");
        }
        println!("skipped: jackd is not installed (apt-get install jackd2)");
        return;
    }
    let server = format!("tongdai-test-{}", std::process::id());
    let _jackd = Jackd(
        Command::new("jackd")
            .args(["-n", &server, "-d", "dummy", "-r", "48000", "-p", "960"])
            .env("JACK_NO_AUDIO_RESERVATION", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("jackd"),
    );
    // SAFETY: set before any thread of ours reads the environment (cpal and
    // the sessions start after this).
    unsafe { std::env::set_var("JACK_DEFAULT_SERVER", &server) };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ports(&server).iter().any(|p| p.starts_with("system:")) {
        assert!(Instant::now() < deadline, "jackd did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }

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
    let (sa, sb) = (rtp_socket(), rtp_socket());
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
