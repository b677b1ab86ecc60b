//! No cut in a steady call (issue 17): we call baresip through Kamailio,
//! each side sends a tone for ~12 s, both record what they hear, and the
//! phase of each tone is tracked per 20 ms frame ([`tongdai::media::phase`]).
//! After the first half second, any jump over 20° (a dropped or repeated
//! frame) or dropout fails. Per codec: PCMU, G.722, Opus.
//!
//! Our jitter buffer's own decisions (dropped, stretched) and how late our
//! 20 ms ticks ran are read from the session's end-of-call log line: every
//! cut we heard must be one of those decisions, and when our ticks stayed
//! within 10 ms of schedule there must be none. (A machine loaded far past
//! its cores runs them tens of ms late; cuts then are reported, not failed.)

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::*;
use tongdai::backends::sip::SipBackend;
use tongdai::engine::CallEvent;
use tongdai::engine::{Command, EndReason, Event, RegState};
use tongdai::media::audio_codec::AudioCodec;
use tongdai::media::phase::{self, Cut};
use tongdai::sip::{SipConfig, Transport};

const T: Duration = Duration::from_secs(10);
/// Steady state long enough to have shown the cuts (2 s and 3 s in).
const CALL: Duration = Duration::from_secs(12);
/// baresip's tone (make_config.sh): 8.8 periods a frame, a cut is ±72°.
const THEIR_TONE: f64 = 440.0;
/// Ours: 15.4 periods a frame (±144°). Not 1000 Hz: 20 whole periods a
/// frame would hide a dropped frame completely.
const OUR_TONE: f64 = 770.0;

/// The session's log lines, for the jitter buffer's end-of-call figures.
fn captured_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        // Installed before Headless::start, whose try_init then leaves it.
        let _ = tracing_subscriber::fmt()
            .with_env_filter("tongdai::media::session=debug")
            .with_ansi(false)
            .with_writer(move || LogSink(sink.clone()))
            .try_init();
        buf
    })
    .clone()
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl Write for LogSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn alice(k: &Kamailio) -> SipConfig {
    SipConfig {
        domain: Some("127.0.0.1".into()),
        ..sip_account(
            "alice",
            format!("127.0.0.1:{}", k.udp),
            Transport::Udp,
            "secret",
            true,
        )
    }
}

fn cuts_in(samples: &[i16], freq: f64) -> Vec<Cut> {
    // Half a second of set-up; the last 0.3 s is the hang-up.
    phase::cuts(samples, 8000, freq, 20.0, 0.5, 0.3, 20.0)
}

async fn no_cut_both_ways(codec: AudioCodec) {
    if !need("kamailio") || !need("baresip") {
        return;
    }
    assert!(phase::frame_slip_degrees(THEIR_TONE, 20.0) > 60.0);
    assert!(phase::frame_slip_degrees(OUR_TONE, 20.0) > 60.0);
    let log = captured_log();
    let k = Kamailio::start();
    let bob = Baresip::start_with_env(
        "bob",
        "secret",
        &format!("127.0.0.1:{}", k.udp),
        &baresip_codec_env(codec),
    );
    let dir = tempdir("phase");
    let mic = dir.join("mic.wav");
    // 2 s of 770 Hz is 1540 whole periods: the loop is seamless.
    tongdai::media::device::write_wav(
        &mic,
        8000,
        &tongdai::media::tone::sine(OUR_TONE, 0.5, 8000, 2000),
    )
    .expect("mic wav");
    let audio = tongdai::media::AudioConfig {
        device: tongdai::media::DeviceKind::File,
        mic_wav: Some(mic),
        record_dir: Some(dir.clone()),
        ..Default::default()
    };
    let backend = SipBackend::new(alice(&k)).with_audio(audio);
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
    tokio::time::sleep(CALL).await;
    c.send(Command::End { call: None });
    c.expect("ended", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::LocalHangup))
    })
    .await;
    assert!(c.shutdown().await);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let name = codec.encoding_name().to_ascii_lowercase();
    assert!(
        bob.log()
            .to_ascii_lowercase()
            .contains(&format!("set audio encoder: {name}")),
        "baresip did not use {name}"
    );
    let stats: Vec<String> = String::from_utf8_lossy(&log.lock().expect("log"))
        .lines()
        .filter(|l| l.contains("jitter buffer at the end") && l.contains(&format!("codec={codec}")))
        .map(str::to_owned)
        .collect();
    eprintln!("{codec}: {stats:#?}");

    let ours = tongdai::media::device::read_wav(&dir.join("call-1-heard.wav"), 8000).expect("ours");
    let dumps: Vec<_> = std::fs::read_dir(&bob.dir)
        .expect("baresip dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with("-dec.wav"))
        .collect();
    assert_eq!(dumps.len(), 1, "baresip recordings: {dumps:?}");
    let theirs = tongdai::media::device::read_wav(&dumps[0], 8000).expect("theirs");
    let secs = |x: &[i16]| x.len() as f64 / 8000.0;
    eprintln!(
        "{codec}: we recorded {:.1} s, baresip {:.1} s",
        secs(&ours),
        secs(&theirs)
    );
    assert!(secs(&ours) > 10.0 && secs(&theirs) > 10.0);
    let we_heard = cuts_in(&ours, THEIR_TONE);
    let they_heard = cuts_in(&theirs, OUR_TONE);
    assert!(
        they_heard.is_empty(),
        "{codec}: cuts in what baresip heard {they_heard:?}"
    );
    assert_eq!(stats.len(), 1, "{codec}: the session's end-of-call line");
    let field = |name: &str| -> f64 {
        let at = stats[0]
            .find(&format!(" {name}="))
            .unwrap_or_else(|| panic!("{name} in {}", stats[0]));
        stats[0][at + name.len() + 2..]
            .trim_start_matches('"')
            .split(['"', ' '])
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {}", stats[0]))
    };
    // Time-scale changes (accelerated, expanded) remove or repeat whole
    // pitch periods and must not be heard: they are not counted here, so
    // a cut they made fails the equality below.
    let decisions = field("dropped") + field("stretched") + field("lost") + field("late");
    eprintln!(
        "{codec}: time-scale changes: {} accelerated, {} expanded",
        field("accelerated"),
        field("expanded")
    );
    let max_late = field("max_tick_late_ms");
    // Cuts come only from our buffer's whole-frame decisions (none from
    // the codec, the device, the tracker or a time-scale change): none
    // made, none heard. (With some made, a concealed frame can show as two
    // or three jumps, so the counts are not compared.)
    if decisions == 0.0 {
        assert!(
            we_heard.is_empty(),
            "{codec}: cuts in what we heard {we_heard:?} with no whole-frame decision: {stats:?}"
        );
    }
    // On a machine that keeps our 20 ms ticks within 10 ms there are none.
    // A loaded one (other builds on two cores) runs them tens of ms late:
    // the packets read then look close to their deadline and the buffer
    // may stretch; that is reported, not failed.
    if max_late < 10.0 {
        assert!(
            we_heard.is_empty(),
            "{codec}: cuts in what we heard {we_heard:?}; our buffer: {stats:?}"
        );
    } else if !we_heard.is_empty() {
        eprintln!(
            "LOADED: our ticks ran up to {max_late:.1} ms late; {} cut(s) from our buffer: {we_heard:?}",
            we_heard.len()
        );
    }
}

#[tokio::test]
async fn no_cut_both_ways_with_pcmu() {
    no_cut_both_ways(AudioCodec::Pcmu).await;
}

#[tokio::test]
async fn no_cut_both_ways_with_g722() {
    no_cut_both_ways(AudioCodec::G722).await;
}

#[tokio::test]
async fn no_cut_both_ways_with_opus() {
    no_cut_both_ways(AudioCodec::Opus).await;
}

/// How late a 20 ms tokio interval beside the call runs (ms, the worst
/// tick): a stand-in for our media task's own ticks on a loaded machine.
async fn tick_lateness(run: Duration) -> f64 {
    let start = tokio::time::Instant::now();
    let mut iv = tokio::time::interval(Duration::from_millis(20));
    iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut worst: f64 = 0.0;
    while start.elapsed() < run {
        let due = iv.tick().await;
        worst = worst.max(due.elapsed().as_secs_f64() * 1000.0);
    }
    worst
}

/// The far end's clock runs `speed` times ours: SIPp plays a pcap of a
/// 770 Hz PCMA tone whose 20 ms packets are `20 ms / speed` apart (1.01:
/// a frame's worth gained every 2 s), to the engine as the binary builds
/// it, calling out. Our buffer must shed (or add) that audio by time-scale
/// modification: the phase of what we recorded keeps within 20° per frame.
/// Whole frames dropped or repeated the old way: about 30 jumps a minute.
async fn skewed_sender(speed: f64) -> f64 {
    const SECS: u32 = 24;
    let dir = tempdir("skew");
    let tone = tongdai::media::tone::sine(OUR_TONE, 0.5, 8000, SECS * 1000);
    let packets: Vec<(u64, Vec<u8>)> = tone
        .chunks_exact(160)
        .enumerate()
        .map(|(i, c)| {
            let mut rtp = Vec::new();
            tongdai::media::rtp::RtpHeader {
                marker: i == 0,
                payload_type: 8,
                sequence: i as u16,
                timestamp: 160 * i as u32,
                ssrc: 0x5157,
            }
            .write(&mut rtp);
            tongdai::media::codec::G711::Alaw.encode(c, &mut rtp);
            ((i as f64 * 20_000.0 / speed) as u64, rtp)
        })
        .collect();
    let pcap = dir.join("skewed.pcap");
    common::pcap::write_pcap_us(&pcap, &packets);
    let sf = common::pcap::uas_play_pcap(&dir, &pcap, 8, "PCMA", 3000);
    let media_port = (free_port() & !1).to_string();
    let mut sipp = Sipp::start(
        &["-sf", &sf.to_string_lossy()],
        &["-mi", "127.0.0.1", "-mp", &media_port],
    );
    let mic = dir.join("mic.wav");
    tongdai::media::device::write_wav(
        &mic,
        8000,
        &tongdai::media::tone::sine(THEIR_TONE, 0.5, 8000, 1000),
    )
    .expect("mic wav");
    let audio = tongdai::media::AudioConfig {
        device: tongdai::media::DeviceKind::File,
        mic_wav: Some(mic),
        record_dir: Some(dir.clone()),
        ..Default::default()
    };
    let account = sip_account(
        "alice",
        format!("127.0.0.1:{}", sipp.port),
        Transport::Udp,
        "secret",
        false,
    );
    let mut c = Headless::start(Box::new(SipBackend::new(account).with_audio(audio)));
    c.expect("ready", T, |e| *e == Event::Ready).await;
    c.send(Command::CallOut("1002".into()));
    c.expect("SIPp answers", T, |e| {
        e.call_event() == Some(&CallEvent::CustomerAnswered)
    })
    .await;
    // The pcap lasts SECS / speed; hang up just after it ends.
    let tone_s = f64::from(SECS) / speed;
    let late_ms = tick_lateness(Duration::from_secs_f64(tone_s + 0.3)).await;
    c.send(Command::End { call: None });
    c.expect("ended", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::LocalHangup))
    })
    .await;
    assert!(c.shutdown().await);

    // The tone runs until the pcap ends; the recording goes on a little.
    // SIPp answers our BYE 3 s late, but the session ended when we sent it
    // (RFC 3261 §15.1.1): the device is closed and the WAV complete well
    // before that answer.
    let end = ((tone_s - 0.2) * 8000.0) as usize;
    let rec = dir.join("call-1-heard.wav");
    let mut heard = Vec::new();
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        heard = tongdai::media::device::read_wav(&rec, 8000).unwrap_or_default();
        if heard.len() > end {
            break;
        }
    }
    assert!(sipp.wait(T), "SIPp's scenario: {}", sipp.messages());
    assert!(
        heard.len() > end,
        "2 s after the hang-up our recording holds {} samples: media outlived the BYE",
        heard.len()
    );
    let cuts = phase::cuts(&heard[..end], 8000, OUR_TONE, 20.0, 0.5, 0.0, 20.0);
    let per_min = cuts.len() as f64 * 60.0 / (tone_s - 0.7);
    let report = format!(
        "sender {:+.0} %: {per_min:.1} phase jumps/min ({} in {:.0} s); a 20 ms timer beside \
         the call ran up to {late_ms:.1} ms late",
        (speed - 1.0) * 100.0,
        cuts.len(),
        tone_s - 0.7,
    );
    eprintln!("SKEW {report}: {cuts:?}");
    // The tone was heard throughout (a dropout is a cut too).
    let levels = phase::track(&heard[4000..end], 8000, OUR_TONE, 160);
    let quiet = levels.iter().filter(|p| p.amplitude < 0.1).count();
    assert!(
        quiet * 20 < levels.len(),
        "{report}: {quiet} frames without the tone"
    );
    // Target: at most one audible event per 10 s. Wall-clock bound: on a
    // machine that keeps a 20 ms timer within 10 ms it must hold; a loaded
    // one underruns for its own reasons, which is reported.
    if late_ms < 10.0 {
        assert!(per_min <= 6.0, "{report}: {cuts:?}");
    } else if per_min > 6.0 {
        eprintln!("LOADED: {report}");
    }
    per_min
}

/// Issue 17: a far end 1 % fast, then 1 % slow, through SIPp.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_far_end_1_percent_fast_or_slow_is_not_heard() {
    if !need("sipp") {
        return;
    }
    for speed in [1.01, 0.99] {
        skewed_sender(speed).await;
    }
}
