//! The speaker side of a call between the jitter buffer and the device:
//! pops frames, decodes or conceals them, and carries out the buffer's
//! time-scale decisions on the decoded audio (NetEq's "sync buffer").
//!
//! ```text
//!   jitter.pop(now) ─▶ Frame       ─▶ decode                        ─▶ ┐
//!                      Accelerate  ─▶ decode both, remove ≈ a frame  ─▶ ├▶ pcm queue ─▶ want samples a tick
//!                      Expand      ─▶ decode, insert ≈ a frame       ─▶ ┤
//!                      Concealed   ─▶ PLC (Opus: FEC from the next)  ─▶ ┘
//! ```
//!
//! [`super::tsm`] removes or repeats whole pitch periods, so the length
//! it changes is within a period of a frame's: it aims at leaving the
//! queue empty at the end of the tick and never below it, so what stays
//! queued (added delay) is under one longest period (15 ms).
//!
//! Sans-IO: `now` is an argument; the session owns the clock.

// A sans-IO core: no clock reads, no tasks (clippy.toml).
#![deny(clippy::disallowed_methods)]

use std::time::Instant;

use super::audio_codec::Decoder;
use super::jitter::{Frame, JitterBuffer, Pop};
use super::tsm::{self, MAX_PERIOD_MS};

/// What the time-scale changes did, over a call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlayoutStats {
    /// Audio removed by accelerate, in ms.
    pub removed_ms: f64,
    /// Audio inserted by expand, in ms.
    pub inserted_ms: f64,
    /// Splices made in silence (cut or repeated as is).
    pub silent: u64,
    /// Expands that could not add what was asked (too little audio).
    pub short: u64,
    /// Mean audio left queued after a tick (delay added here), in ms.
    pub mean_queued_ms: f64,
    pub max_queued_ms: f64,
}

pub struct Playout {
    pcm: Vec<i16>,
    /// The decoder's PCM rate.
    rate: u32,
    /// The RTP clock (frame lengths in the buffer are in its units).
    clock_rate: u32,
    stats: PlayoutStats,
    ticks: u64,
    queued_sum_ms: f64,
}

impl Playout {
    pub fn new(rate: u32, clock_rate: u32) -> Playout {
        Playout {
            pcm: Vec::new(),
            rate,
            clock_rate,
            stats: PlayoutStats::default(),
            ticks: 0,
            queued_sum_ms: 0.0,
        }
    }

    pub fn stats(&self) -> PlayoutStats {
        let mut s = self.stats.clone();
        if self.ticks > 0 {
            s.mean_queued_ms = self.queued_sum_ms / self.ticks as f64;
        }
        s
    }

    /// Decoded audio waiting to be played.
    pub fn pcm(&self) -> &[i16] {
        &self.pcm
    }

    /// Forget what is queued (a codec change: another rate).
    pub fn clear(&mut self) {
        self.pcm.clear();
    }

    /// Queue at least `want` samples of silence (not receiving).
    pub fn pad(&mut self, want: usize) {
        if self.pcm.len() < want {
            self.pcm.resize(want, 0);
        }
    }

    /// `n` samples were played.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.pcm.len());
        self.pcm.drain(..n);
        let q = self.ms(self.pcm.len());
        self.ticks += 1;
        self.queued_sum_ms += q;
        self.stats.max_queued_ms = self.stats.max_queued_ms.max(q);
    }

    fn ms(&self, samples: usize) -> f64 {
        samples as f64 * 1000.0 / f64::from(self.rate)
    }

    /// PCM samples for `ticks` of the RTP clock.
    fn pcm_samples(&self, ticks: u32) -> usize {
        (u64::from(ticks) * u64::from(self.rate) / u64::from(self.clock_rate.max(1))) as usize
    }

    fn decode(&mut self, dec: &mut Decoder, f: &Frame) {
        if f.payload.is_empty() {
            // A slot a telephone-event covered: silence.
            let n = self.pcm_samples(f.samples);
            self.pcm.resize(self.pcm.len() + n, 0);
        } else {
            dec.decode(f.payload_type, &f.payload, &mut self.pcm);
        }
    }

    /// Pops and decodes until at least `want` samples are queued (the
    /// device frame due at `now`).
    pub fn fill(&mut self, jb: &mut JitterBuffer, now: Instant, want: usize, dec: &mut Decoder) {
        let tol = tsm::samples(self.rate, MAX_PERIOD_MS);
        let mut guard = 0;
        while self.pcm.len() < want && guard < 8 {
            guard += 1;
            match jb.pop(now) {
                Pop::Frame(f) => self.decode(dec, &f),
                Pop::Accelerate(a, b) => {
                    self.decode(dec, &a);
                    self.decode(dec, &b);
                    // Leave this tick's frame and nothing more, give or
                    // take under a period.
                    let excess = self.pcm.len().saturating_sub(want);
                    let s = tsm::accelerate(
                        &mut self.pcm,
                        self.rate,
                        excess.saturating_sub(tol)..=excess,
                    );
                    self.stats.removed_ms += self.ms(s.samples);
                    self.stats.silent += u64::from(s.silent);
                }
                Pop::Expand(f) => {
                    self.decode(dec, &f);
                    // Last this tick and the next.
                    let short = (2 * want).saturating_sub(self.pcm.len());
                    let s = tsm::expand(&mut self.pcm, self.rate, short..=short + tol);
                    self.stats.inserted_ms += self.ms(s.samples);
                    self.stats.silent += u64::from(s.silent);
                    if s.samples < short {
                        self.stats.short += 1;
                    }
                }
                Pop::Concealed { samples } => {
                    let n = self.pcm_samples(samples);
                    let next = jb.next_payload();
                    dec.conceal(n, next, &mut self.pcm);
                }
                Pop::Empty => {
                    dec.reset();
                    self.pcm.resize(want, 0);
                }
            }
        }
    }
}

#[cfg(test)]
// Tests take a base instant from the clock; the code under test still gets it as an argument.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use crate::media::audio_codec::{AudioCodec, Encoder};
    use crate::media::jitter::{JitterConfig, JitterStats};
    use crate::media::phase::{Cut, cuts};
    use crate::media::rtp::{RtpHeader, RtpPacket};
    use std::time::Duration;

    /// 20 ms of 770 Hz (20 ms of it is not a whole number of periods, so a
    /// dropped or repeated frame shows as a 144° jump).
    const FREQ: f64 = 770.0;

    /// One scripted call: `secs` of a tone from a sender whose clock runs
    /// `skew` fast (0.01 = 1 %), each packet delayed by `delay_us(i)`; we
    /// pop every 20 ms on our clock. `whole_frames` plays the buffer's
    /// decisions the old way (a shrink drops a frame, a grow conceals one).
    struct Script {
        secs: u32,
        skew: f64,
        delay_us: fn(u32, &mut dyn FnMut() -> u64) -> u64,
        whole_frames: bool,
    }

    struct Heard {
        pcm: Vec<i16>,
        jitter: JitterStats,
        playout: PlayoutStats,
    }

    impl Heard {
        fn cuts(&self) -> Vec<Cut> {
            cuts(&self.pcm, 8000, FREQ, 20.0, 0.5, 0.5, 20.0)
        }

        fn per_minute(&self) -> f64 {
            let minutes = self.pcm.len() as f64 / 8000.0 / 60.0;
            self.cuts().len() as f64 / minutes
        }

        /// Mean added delay: the buffer's wait plus what playout queues.
        fn delay_ms(&self) -> f64 {
            self.jitter.mean_delay_ms + self.playout.mean_queued_ms
        }
    }

    fn rng(seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    fn play(s: &Script) -> Heard {
        let t0 = Instant::now();
        let at = |us: u64| t0 + Duration::from_micros(us);
        let mut rand = rng(0x0DDB_A11C_0FFE_E123);
        let n = (f64::from(s.secs) * 50.0 * (1.0 + s.skew)) as u32;
        let mut enc = Encoder::new(AudioCodec::Pcmu, 8000).unwrap();
        // (arrival µs, index, payload)
        let mut arrivals: Vec<(u64, u32, Vec<u8>)> = (0..n)
            .map(|i| {
                let pcm: Vec<i16> = (0..160)
                    .map(|k| {
                        let t = f64::from(i * 160 + k) / 8000.0;
                        (0.4 * 32767.0 * (2.0 * std::f64::consts::PI * FREQ * t).sin()) as i16
                    })
                    .collect();
                let mut payload = Vec::new();
                enc.encode(&pcm, &mut payload).unwrap();
                let sent = f64::from(i) * 20_000.0 / (1.0 + s.skew);
                (sent as u64 + (s.delay_us)(i, &mut rand), i, payload)
            })
            .collect();
        arrivals.sort_by_key(|a| a.0);
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let mut dec = Decoder::new(AudioCodec::Pcmu, 8000).unwrap();
        let mut po = Playout::new(8000, 8000);
        let mut out = Vec::new();
        let mut next = 0;
        for k in 0..u64::from(s.secs) * 50 {
            let now_us = 7_000 + k * 20_000;
            while next < arrivals.len() && arrivals[next].0 <= now_us {
                let (t, i, ref payload) = arrivals[next];
                let p = RtpPacket {
                    header: RtpHeader {
                        marker: i == 0,
                        payload_type: 0,
                        sequence: i as u16,
                        timestamp: i.wrapping_mul(160),
                        ssrc: 5,
                    },
                    payload,
                };
                jb.push(at(t), &p, 160);
                next += 1;
            }
            if s.whole_frames {
                while po.pcm.len() < 160 {
                    match jb.pop(at(now_us)) {
                        Pop::Frame(f) | Pop::Accelerate(_, f) => po.decode(&mut dec, &f),
                        Pop::Expand(f) => {
                            po.decode(&mut dec, &f);
                            dec.conceal(160, None, &mut po.pcm);
                        }
                        Pop::Concealed { samples } => {
                            dec.conceal(samples as usize, None, &mut po.pcm)
                        }
                        Pop::Empty => po.pcm.resize(160, 0),
                    }
                }
            } else {
                po.fill(&mut jb, at(now_us), 160, &mut dec);
            }
            out.extend_from_slice(&po.pcm()[..160]);
            po.consume(160);
        }
        Heard {
            pcm: out,
            jitter: jb.stats(),
            playout: po.stats(),
        }
    }

    fn report(what: &str, h: &Heard) {
        eprintln!(
            "{what}: {:.1} audible events/min ({} cuts), delay {:.1} ms mean (buffer max {:.1} ms, \
             playout queue max {:.1} ms), {} accelerate, {} expand, {} concealed stretches, {} lost",
            h.per_minute(),
            h.cuts().len(),
            h.delay_ms(),
            h.jitter.max_delay_ms,
            h.playout.max_queued_ms,
            h.jitter.accelerated,
            h.jitter.expanded,
            h.jitter.stretched,
            h.jitter.lost,
        );
    }

    fn small_jitter(_: u32, r: &mut dyn FnMut() -> u64) -> u64 {
        2_000 + r() % 4_000
    }

    /// A netem-like link: 20 ms ± 10 ms (a triangular spread), packets
    /// in order as they leave (reordering allowed by the spread).
    fn netem_20_10(_: u32, r: &mut dyn FnMut() -> u64) -> u64 {
        10_000 + r() % 10_000 + r() % 10_000
    }

    #[test]
    fn a_sender_1_percent_fast_is_absorbed_without_audible_events() {
        let h = play(&Script {
            secs: 60,
            skew: 0.01,
            delay_us: small_jitter,
            whole_frames: false,
        });
        report("1 % fast, ±2 ms", &h);
        // A frame's time gained every 2 s: about 30 accelerates a minute.
        assert!(h.jitter.accelerated >= 20, "{:?}", h.jitter);
        assert!(h.per_minute() <= 6.0, "{:?}", h.cuts());
        assert!(h.jitter.max_delay_ms < 80.0 && h.delay_ms() < 45.0);
        assert!(h.playout.max_queued_ms < f64::from(MAX_PERIOD_MS) + 1.0);
    }

    #[test]
    fn a_sender_1_percent_slow_is_absorbed_without_audible_events() {
        let h = play(&Script {
            secs: 60,
            skew: -0.01,
            delay_us: small_jitter,
            whole_frames: false,
        });
        report("1 % slow, ±2 ms", &h);
        assert!(h.jitter.expanded >= 20, "{:?}", h.jitter);
        assert_eq!(h.playout.short, 0);
        assert!(h.per_minute() <= 6.0, "{:?}", h.cuts());
        assert!(h.jitter.max_delay_ms < 80.0 && h.delay_ms() < 45.0);
    }

    #[test]
    fn netem_like_jitter_with_skew_stays_under_one_event_per_10_s() {
        for skew in [0.01, 0.0, -0.01] {
            let h = play(&Script {
                secs: 60,
                skew,
                delay_us: netem_20_10,
                whole_frames: false,
            });
            report(&format!("{skew:+} skew, 20 ± 10 ms"), &h);
            assert!(h.per_minute() <= 6.0, "{skew}: {:?}", h.cuts());
            assert!(h.jitter.max_delay_ms < 120.0 && h.delay_ms() < 80.0);
        }
    }

    /// The same 1 % skew played the old way (whole frames dropped or
    /// concealed) is heard: the checks above can fail.
    #[test]
    fn whole_frame_adjustment_is_heard_under_the_same_skew() {
        for skew in [0.01, -0.01] {
            let h = play(&Script {
                secs: 60,
                skew,
                delay_us: small_jitter,
                whole_frames: true,
            });
            report(&format!("{skew:+} skew, whole frames"), &h);
            assert!(h.per_minute() >= 20.0, "{skew}: {}", h.per_minute());
        }
    }
}
