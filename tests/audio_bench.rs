//! Media figures (ignored by default; run on purpose, in release):
//!
//! ```text
//! cargo test --release --test audio_bench -- --ignored --nocapture --test-threads 1
//! BENCH_SECS=60 (default) sets the call length.
//! ```
//!
//! - CPU per minute of a G.711 call: two MediaSessions on loopback in this
//!   process, file devices (a tone in, a WAV recording out), 20 ms frames;
//!   process user+system time (getrusage's figures, read from
//!   /proc/self/stat) over the call, divided by two for one side.
//! - Jitter-buffer delay on a clean link: each frame's wait between arrival
//!   and playout, from the live call and from the sans-IO core replayed over
//!   every arrival phase.
//! - Mouth-to-ear latency through the call: clicks in A's microphone found
//!   in B's recording.
//! - Peak RSS of the process (VmHWM) with both sides running.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tongdai::media::device::read_wav;
use tongdai::media::jitter::{JitterBuffer, JitterConfig, Pop};
use tongdai::media::rtp::{RtpHeader, RtpPacket};
use tongdai::media::tone;
use tongdai::media::{FileDevice, MediaParams, MediaSession, Playback};

/// Process CPU seconds (user + system), as getrusage(RUSAGE_SELF) counts them.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 here.
    (ticks(11) + ticks(12)) / 100.0
}

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tongdai-bench-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("tmp");
    d.join(name)
}

/// 1 kHz clicks, 10 ms long, every `period_ms`, starting at `first_ms`.
fn clicks(total_ms: u32, first_ms: u32, period_ms: u32) -> Vec<i16> {
    let mut x = vec![0i16; (total_ms * 8) as usize];
    let burst = tone::sine(1000.0, 0.5, 8000, 10);
    let mut at = first_ms;
    while at + 10 < total_ms {
        let k = (at * 8) as usize;
        x[k..k + burst.len()].copy_from_slice(&burst);
        at += period_ms;
    }
    x
}

fn onsets(x: &[i16]) -> Vec<usize> {
    let mut v = Vec::new();
    let mut quiet = 0usize;
    for (i, &s) in x.iter().enumerate() {
        if s.unsigned_abs() > 3000 {
            if quiet > 800 {
                v.push(i);
            }
            quiet = 0;
        } else {
            quiet += 1;
        }
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --ignored --nocapture in release"]
async fn g711_call_cpu_rss_and_latency() {
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let (sa, sb) = (common::rtp_socket(), common::rtp_socket());
    let (aa, ab) = (sa.local_addr().unwrap(), sb.local_addr().unwrap());
    let total_ms = (secs * 1000) as u32;
    // A speaks clicks (for latency); B a steady tone (a talking far end).
    let a_mic = clicks(total_ms, 500, 1000);
    let (rec_a, rec_b) = (tmp("a.wav"), tmp("b.wav"));
    let dev_a =
        FileDevice::from_samples(8000, a_mic.clone(), Playback::Once, Some(&rec_a)).unwrap();
    let dev_b = FileDevice::from_samples(
        8000,
        tone::sine(440.0, 0.3, 8000, 1000),
        Playback::Loop,
        Some(&rec_b),
    )
    .unwrap();
    let rss0 = status_kb("VmRSS:");
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let a = MediaSession::start(sa, ab, MediaParams::new(0, Some(101)), Box::new(dev_a)).unwrap();
    let b = MediaSession::start(sb, aa, MediaParams::new(0, Some(101)), Box::new(dev_b)).unwrap();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let ra = a.stop().await;
    let rb = b.stop().await;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let hwm = status_kb("VmHWM:");

    // Latency: click onsets in A's microphone vs in B's recording.
    let heard_b = read_wav(&rec_b, 8000).unwrap();
    let sent = onsets(&a_mic);
    let got = onsets(&heard_b);
    let lat: Vec<f64> = sent
        .iter()
        .filter_map(|&s| {
            got.iter()
                .find(|&&g| g >= s && g < s + 8 * 500)
                .map(|&g| (g - s) as f64 / 8.0)
        })
        .collect();
    let mean_lat = lat.iter().sum::<f64>() / lat.len().max(1) as f64;
    let max_lat = lat.iter().cloned().fold(0.0, f64::max);

    // Sans-IO: clean link, every arrival phase 0..20 ms in 1 ms steps.
    let mut delays = Vec::new();
    for phase in 0..20u64 {
        let base = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let payload = [0xFFu8; 160];
        for i in 0..1500u64 {
            let at = base + Duration::from_micros(i * 20_000 + phase * 1000);
            let p = RtpPacket {
                header: RtpHeader {
                    marker: i == 0,
                    payload_type: 0,
                    sequence: i as u16,
                    timestamp: (i * 160) as u32,
                    ssrc: 1,
                },
                payload: &payload,
            };
            jb.push(at, &p, 160);
            let _ = matches!(
                jb.pop(base + Duration::from_micros(i * 20_000 + 20_000)),
                Pop::Frame(_)
            );
        }
        delays.push(jb.stats().mean_delay_ms);
    }
    let jb_mean = delays.iter().sum::<f64>() / delays.len() as f64;
    let jb_max = delays.iter().cloned().fold(0.0, f64::max);

    let per_side_per_min = cpu / 2.0 * 60.0 / wall;
    println!("BENCH media g711 call: {secs} s on loopback, two sessions in one process");
    println!(
        "  CPU: {cpu:.2} s total over {wall:.1} s -> {per_side_per_min:.3} CPU-s per minute per side"
    );
    println!(
        "  peak RSS (VmHWM, both sides + test harness): {:.1} MB (RSS before the call {:.1} MB)",
        hwm as f64 / 1024.0,
        rss0 as f64 / 1024.0
    );
    println!(
        "  jitter buffer wait, live call: A {:.1} ms mean (max {:.1}), B {:.1} ms mean; target {:.1} ms",
        ra.jitter.mean_delay_ms,
        ra.jitter.max_delay_ms,
        rb.jitter.mean_delay_ms,
        rb.jitter.target_ms
    );
    println!(
        "  jitter buffer wait, sans-IO clean link over 20 phases: {jb_mean:.1} ms mean, worst phase {jb_max:.1} ms"
    );
    println!(
        "  mouth-to-ear A mic -> B speaker: {mean_lat:.1} ms mean, {max_lat:.1} ms max over {} clicks",
        lat.len()
    );
    println!(
        "  packets: A sent {} recv {}, B sent {} recv {}; A concealed {} lost {} late {}",
        ra.packets_sent,
        ra.packets_received,
        rb.packets_sent,
        rb.packets_received,
        ra.jitter.stretched + ra.jitter.lost,
        ra.jitter.lost,
        ra.jitter.late
    );
    assert!(lat.len() as u64 >= secs - 2, "clicks found: {}", lat.len());
}

/// CPU per minute of one call side for each codec: two sessions on
/// loopback with file devices at the codec's rate (a tone each way), as in
/// the G.711 figure above. BENCH_SECS (default 60) per codec;
/// BENCH_OPUS_RATE runs Opus at another device rate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --ignored --nocapture in release"]
async fn cpu_per_codec() {
    use tongdai::media::audio_codec::AudioCodec;
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    println!("BENCH media CPU per codec: {secs} s each on loopback, two sessions in one process");
    for codec in [AudioCodec::Pcmu, AudioCodec::G722, AudioCodec::Opus] {
        // BENCH_OPUS_RATE=16000: Opus coded at a 16 kHz device (RTP clock
        // still 48 kHz).
        let rate = match std::env::var("BENCH_OPUS_RATE") {
            Ok(r) if codec == AudioCodec::Opus => r.parse().unwrap_or(48_000),
            _ => codec.preferred_device_rate(),
        };
        let pt = codec
            .static_pt()
            .unwrap_or(tongdai::media::audio_codec::OPUS_PT);
        let (sa, sb) = (common::rtp_socket(), common::rtp_socket());
        let (aa, ab) = (sa.local_addr().unwrap(), sb.local_addr().unwrap());
        let dev = |freq, name: &str| {
            FileDevice::from_samples(
                rate,
                tone::sine(freq, 0.3, rate, 1000),
                Playback::Loop,
                Some(&tmp(name)),
            )
            .unwrap()
        };
        let params = || MediaParams::with_codec(codec, pt, Some(101));
        let cpu0 = cpu_seconds();
        let t0 = Instant::now();
        let a = MediaSession::start(sa, ab, params(), Box::new(dev(440.0, "ca.wav"))).unwrap();
        let b = MediaSession::start(sb, aa, params(), Box::new(dev(1000.0, "cb.wav"))).unwrap();
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let ra = a.stop().await;
        let rb = b.stop().await;
        let wall = t0.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu0;
        assert!(ra.packets_received > 40 * secs && rb.packets_received > 40 * secs);
        println!(
            "  {codec:5} at {rate} Hz: {:.3} CPU-s per minute per side ({cpu:.2} s over {wall:.1} s)",
            cpu / 2.0 * 60.0 / wall
        );
    }
}
