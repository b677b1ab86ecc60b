//! What each Opus encoder setting costs and what it buys, for the plain RTP
//! path's choice (`media::opus_codec::OpusSettings`): for each complexity
//! (0–10) and with in-band FEC on or off, one minute of 16 kHz audio
//! (3000 frames of 20 ms) through our encoder and decoder:
//!
//! - `enc ms/min`, `dec ms/min`: CPU time (the thread's, not wall time)
//!   per minute of call for one direction's encoding and decoding (median
//!   of `RUNS`);
//! - `bytes`: mean packet size;
//! - `voice SNR`: waveform SNR of a speech-like signal
//!   (`media::quality::voice`) after the codec, delay-aligned, in dB;
//! - `tone purity`: share of a decoded 770 Hz tone's power at 770 Hz;
//! - `lookahead`: the encoder's algorithmic delay beyond the frame.
//!
//! Run: `cargo bench --profile measure --bench opus_settings`

use std::time::Duration;

use tongdai::media::opus_codec::{OpusDecoder, OpusEncoder, OpusSettings};
use tongdai::media::{quality, tone};

const RATE: u32 = 16_000;
const FRAME: usize = (RATE / 50) as usize;
const RUNS: usize = 3;

/// This thread's CPU time (not wall time: the machine is shared).
fn cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

struct Row {
    enc: Duration,
    dec: Duration,
    bytes: f64,
    decoded: Vec<i16>,
    lookahead: u32,
}

fn run(s: OpusSettings, input: &[i16]) -> Row {
    let mut enc = OpusEncoder::with_settings(RATE, s).expect("encoder");
    let mut dec = OpusDecoder::new(RATE).expect("decoder");
    let lookahead = enc.lookahead().expect("lookahead");
    let mut packets = Vec::with_capacity(input.len() / FRAME);
    let t = cpu_now();
    for f in input.chunks_exact(FRAME) {
        let mut p = Vec::with_capacity(128);
        enc.encode(f, &mut p).expect("encode");
        packets.push(p);
    }
    let enc_t = cpu_now() - t;
    let mut decoded = Vec::with_capacity(input.len());
    let t = cpu_now();
    for p in &packets {
        dec.decode(p, &mut decoded).expect("decode");
    }
    let dec_t = cpu_now() - t;
    let bytes = packets.iter().map(Vec::len).sum::<usize>() as f64 / packets.len() as f64;
    Row {
        enc: enc_t,
        dec: dec_t,
        bytes,
        decoded,
        lookahead,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // One minute: the voice signal, and a tone for purity.
    let voice = quality::voice(RATE, 60_000);
    let tone_in = tone::sine(770.0, 0.5, RATE, 2_000);
    println!(
        "{:>10} {:>4} {:>11} {:>11} {:>6} {:>10} {:>12} {:>10}",
        "complexity",
        "fec",
        "enc ms/min",
        "dec ms/min",
        "bytes",
        "voice SNR",
        "tone purity",
        "lookahead"
    );
    for fec in [true, false] {
        for complexity in 0..=10 {
            let s = OpusSettings { complexity, fec };
            let rows: Vec<Row> = (0..RUNS).map(|_| run(s, &voice)).collect();
            let enc = median(rows.iter().map(|r| r.enc).collect());
            let dec = median(rows.iter().map(|r| r.dec).collect());
            let r = &rows[0];
            let skip = RATE as usize / 2;
            let (_, snr) =
                quality::aligned_snr_db(&voice, &r.decoded, 2 * r.lookahead as usize, skip);
            let t = run(s, &tone_in);
            let purity = quality::tone_purity(&t.decoded[skip..], RATE, 770.0);
            println!(
                "{:>10} {:>4} {:>11.1} {:>11.1} {:>6.1} {:>7.1} dB {:>12.4} {:>7.1} ms",
                complexity,
                if fec { "on" } else { "off" },
                enc.as_secs_f64() * 1000.0,
                dec.as_secs_f64() * 1000.0,
                r.bytes,
                snr,
                purity,
                f64::from(r.lookahead) * 1000.0 / f64::from(RATE),
            );
        }
    }
}
