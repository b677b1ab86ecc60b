//! The project's one resampler: a streaming polyphase windowed-sinc filter
//! for any pair of rates (8, 16, 44.1, 48 kHz and the like).
//!
//! Used wherever audio changes rate: a sound card opened at its own rate
//! (`cpal_device`), a codec whose PCM rate is not the device's (`session`,
//! `mixer`), G.711 at the 48 kHz WebRTC seam (`webrtc_media`), a WAV read
//! at another rate (`device::read_wav`).
//!
//! The ratio `to / from` is reduced to `L / M`: output sample `n` sits at
//! input time `n·M / L`, and is the dot product of the last `K` input
//! samples with one phase of a prototype low-pass (a Kaiser-windowed sinc,
//! cut at [`CUTOFF`] of the lower rate's Nyquist). Positions are exact
//! integers, so the ratio never drifts; when `L` is large (44.1 ↔ 48 kHz
//! has 147 phases, 44.1 → 8 kHz 80) the table keeps at most [`MAX_PHASES`]
//! and takes the nearest one (an offset error under 1/256 sample).
//!
//! Why not linear interpolation (what the project had, three times): it has
//! no anti-alias filter, so 48 → 8 kHz folds everything from 4 to 24 kHz
//! into the voice band, and 8 → 48 kHz leaves images of every tone at
//! 8 kHz ± f (see the tests). The cost here is [`SPAN`] multiply-adds per
//! output sample at the higher rate (48 ↔ 8 kHz: about 1.5 M a second each
//! way, a few per cent of one Opus encoder); the delay is half the span,
//! 2 ms at 8 kHz.

/// The filter spans this many samples of the lower rate.
const SPAN: usize = 32;
/// Cut-off, as a fraction of the lower rate's Nyquist frequency.
const CUTOFF: f64 = 0.92;
/// Kaiser window β: about 75 dB of stop-band attenuation.
const BETA: f64 = 7.5;
/// Most phases kept in the table.
const MAX_PHASES: usize = 256;

#[derive(Debug, Clone)]
pub struct Resampler {
    from: u32,
    to: u32,
    /// Reduced ratio: `up` output steps per `down` input steps.
    up: u64,
    down: u64,
    /// Taps per phase.
    taps: usize,
    /// Phases in the table (`up`, or [`MAX_PHASES`] when `up` is larger).
    phases: usize,
    /// `phases × taps` coefficients, each phase in input order (oldest
    /// first), so a phase is a dot product with a slice of `buf`.
    coef: Vec<f32>,
    /// The last `taps − 1` input samples, then the input being processed.
    buf: Vec<f32>,
    /// The next output's input index (relative to the input being
    /// processed) and its phase, in `0..up`.
    next: usize,
    phase: u64,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Modified Bessel function of the first kind, order 0 (Kaiser window).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, mut k) = (1.0, 1.0, 1.0);
    while term > 1e-12 * sum {
        term *= (x / (2.0 * k)) * (x / (2.0 * k));
        sum += term;
        k += 1.0;
    }
    sum
}

impl Resampler {
    pub fn new(from: u32, to: u32) -> Resampler {
        let (from, to) = (from.max(1), to.max(1));
        let g = gcd(u64::from(from), u64::from(to));
        let (up, down) = (u64::from(to) / g, u64::from(from) / g);
        if up == down {
            return Resampler {
                from,
                to,
                up: 1,
                down: 1,
                taps: 1,
                phases: 1,
                coef: vec![1.0],
                buf: Vec::new(),
                next: 0,
                phase: 0,
            };
        }
        let phases = (up as usize).min(MAX_PHASES);
        // In input samples, the filter is SPAN low-rate samples long.
        let low = f64::from(from.min(to));
        let taps = ((SPAN as f64) * f64::from(from) / low).ceil() as usize;
        // Cut-off in cycles per input sample.
        let fc = CUTOFF * 0.5 * low / f64::from(from);
        let half = taps as f64 / 2.0;
        let norm = bessel_i0(BETA);
        let mut coef = vec![0f32; phases * taps];
        for p in 0..phases {
            // This phase's output sits `frac` of an input sample after the
            // newest input it uses.
            let frac = p as f64 / phases as f64;
            let row = &mut coef[p * taps..(p + 1) * taps];
            let mut sum = 0.0;
            let mut vals = vec![0f64; taps];
            for (m, v) in vals.iter_mut().enumerate() {
                // Input m of the slice (oldest first) is `taps-1-m` samples
                // before the newest; its distance from the filter's centre:
                let t = (taps - 1 - m) as f64 + frac - (half - 0.5);
                let x = 2.0 * fc * t;
                let sinc = if x.abs() < 1e-12 {
                    1.0
                } else {
                    (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
                };
                let r = t / half;
                let w = if r.abs() >= 1.0 {
                    0.0
                } else {
                    bessel_i0(BETA * (1.0 - r * r).sqrt()) / norm
                };
                *v = 2.0 * fc * sinc * w;
                sum += *v;
            }
            // Unity gain at DC for every phase (no ripple between phases).
            for (c, v) in row.iter_mut().zip(vals) {
                *c = (v / sum) as f32;
            }
        }
        Resampler {
            from,
            to,
            up,
            down,
            taps,
            phases,
            coef,
            buf: vec![0.0; taps - 1],
            next: 0,
            phase: 0,
        }
    }

    pub fn is_identity(&self) -> bool {
        self.from == self.to
    }

    pub fn from_rate(&self) -> u32 {
        self.from
    }

    pub fn to_rate(&self) -> u32 {
        self.to
    }

    /// The delay the filter adds, in output samples (rounded).
    pub fn delay(&self) -> usize {
        if self.is_identity() {
            return 0;
        }
        // The centre sits (taps − 1)/2 input samples before the newest.
        let d_in = (self.taps as f64 - 1.0) / 2.0;
        (d_in * f64::from(self.to) / f64::from(self.from)).round() as usize
    }

    /// Appends `input` resampled (about `input.len() · to / from` samples;
    /// the fractional remainder carries over to the next call).
    pub fn process_f32(&mut self, input: &[f32], out: &mut Vec<f32>) {
        if self.is_identity() {
            out.extend_from_slice(input);
            return;
        }
        let k = self.taps;
        self.buf.extend_from_slice(input);
        out.reserve((input.len() as u64 * self.up / self.down) as usize + 1);
        while self.next < input.len() {
            let p = if self.phases as u64 == self.up {
                self.phase as usize
            } else {
                (self.phase * self.phases as u64 / self.up) as usize
            };
            let x = &self.buf[self.next..self.next + k];
            out.push(dot(&self.coef[p * k..(p + 1) * k], x));
            self.phase += self.down;
            self.next += (self.phase / self.up) as usize;
            self.phase %= self.up;
        }
        self.next -= input.len();
        let keep = self.buf.len() - input.len();
        self.buf.copy_within(input.len().., 0);
        self.buf.truncate(keep);
    }

    /// [`Resampler::process_f32`] for 16-bit samples.
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        if self.is_identity() {
            out.extend_from_slice(input);
            return;
        }
        let x: Vec<f32> = input.iter().map(|&s| f32::from(s)).collect();
        let mut y = Vec::with_capacity(x.len() * self.up as usize / self.down as usize + 1);
        self.process_f32(&x, &mut y);
        out.extend(
            y.into_iter()
                .map(|v| v.round().clamp(-32768.0, 32767.0) as i16),
        );
    }

    /// Exactly `want` samples: resampled input, padded with its last
    /// sample or trimmed (only when frames are not a whole number of
    /// samples at both rates).
    pub fn frame(&mut self, input: &[i16], want: usize, out: &mut Vec<i16>) {
        let at = out.len();
        self.process(input, out);
        let fill = out.last().copied().unwrap_or(0);
        out.resize(at + want, fill);
    }
}

/// A dot product in eight lanes (the compiler vectorises it; a plain
/// fold it may not reorder).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, ra) = a.split_at(a.len() / 8 * 8);
    let (cb, rb) = b.split_at(ca.len());
    for (x, y) in ca.chunks_exact(8).zip(cb.chunks_exact(8)) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// A whole signal from one rate to another, aligned (the filter's delay
/// taken out) and `x.len() · to / from` samples long.
pub fn resample_all(x: &[f32], from: u32, to: u32) -> Vec<f32> {
    let mut r = Resampler::new(from, to);
    if r.is_identity() || x.is_empty() {
        return x.to_vec();
    }
    let n = (x.len() as u64 * u64::from(r.to) / u64::from(r.from)) as usize;
    let d = r.delay();
    let mut out = Vec::with_capacity(n + d + 1);
    r.process_f32(x, &mut out);
    // Flush the delay line with silence.
    let pad = (d as u64 * u64::from(r.from) / u64::from(r.to)) as usize + r.taps;
    r.process_f32(&vec![0.0; pad], &mut out);
    out.drain(..d.min(out.len()));
    out.resize(n, 0.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{phase, tone};

    fn run(from: u32, to: u32, x: &[i16], chunk: usize) -> Vec<i16> {
        let mut r = Resampler::new(from, to);
        let mut out = Vec::new();
        for c in x.chunks(chunk) {
            r.process(c, &mut out);
        }
        out
    }

    /// Gain in dB of a tone through `from → to` (steady state, after the
    /// filter's start).
    fn gain_db(from: u32, to: u32, hz: f64, measure_at: f64) -> f64 {
        let x = tone::sine(hz, 0.5, from, 500);
        let y = run(from, to, &x, from as usize / 50);
        let skip = to as usize / 20;
        let a = tone::goertzel_amplitude(&y[skip..], to, measure_at);
        tone::dbfs(a) - tone::dbfs(0.5)
    }

    const PAIRS: [(u32, u32); 8] = [
        (48000, 8000),
        (8000, 48000),
        (48000, 16000),
        (16000, 48000),
        (16000, 8000),
        (8000, 16000),
        (44100, 8000),
        (8000, 44100),
    ];

    #[test]
    fn the_voice_band_passes_flat() {
        for (from, to) in PAIRS {
            let low = f64::from(from.min(to));
            for hz in [200.0, 440.0, 1000.0, 2000.0, 0.75 * low / 2.0] {
                let g = gain_db(from, to, hz, hz);
                eprintln!("{from}->{to} {hz} Hz: {g:.2} dB");
                assert!(g.abs() < 0.5, "{from}->{to} {hz} Hz: {g:.2} dB");
            }
            // 3.4 kHz, the top of the telephone band, through 8 kHz.
            if low == 8000.0 {
                let g = gain_db(from, to, 3400.0, 3400.0);
                eprintln!("{from}->{to} 3400 Hz: {g:.2} dB");
                assert!(g > -3.0, "{from}->{to} 3400 Hz: {g:.2} dB");
            }
        }
    }

    #[test]
    fn what_cannot_be_represented_does_not_fold_back() {
        // Down: a tone above the new Nyquist must not alias into the band
        // (linear interpolation lets 6 kHz through 48 → 8 kHz as 2 kHz at
        // about −12 dB).
        for (from, to, hz) in [
            (48000, 8000, 6000.0),
            (48000, 8000, 11000.0),
            (48000, 8000, 19000.0),
            (48000, 16000, 10000.0),
            (16000, 8000, 5000.0),
            (44100, 8000, 6000.0),
        ] {
            let rate = f64::from(to);
            let alias = {
                let m = hz % rate;
                if m > rate / 2.0 { rate - m } else { m }
            };
            let g = gain_db(from, to, hz, alias);
            eprintln!("{from}->{to}: {hz} Hz aliases to {alias} Hz at {g:.1} dB");
            assert!(
                g < -60.0,
                "{from}->{to}: {hz} Hz shows at {alias} Hz, {g:.1} dB"
            );
        }
        // Up: no images of the tone at 8 kHz ± f.
        for (from, to, hz) in [
            (8000, 48000, 1000.0),
            (8000, 48000, 3000.0),
            (16000, 48000, 1000.0),
        ] {
            let image = f64::from(from) - hz;
            let g = gain_db(from, to, hz, image);
            eprintln!("{from}->{to}: {hz} Hz images at {image} Hz, {g:.1} dB");
            assert!(
                g < -60.0,
                "{from}->{to}: {hz} Hz images at {image} Hz, {g:.1} dB"
            );
        }
    }

    #[test]
    fn the_old_linear_resampler_fails_the_alias_test() {
        // The check above can fail: at 48 → 8 kHz the old linear resampler
        // stepped exactly 6 samples, i.e. kept every sixth one, so 6 kHz
        // came out as a 2 kHz tone at full level.
        let x = tone::sine(6000.0, 0.5, 48000, 500);
        let y: Vec<i16> = (0..4000)
            .map(|i| {
                let p = i as f64 * 6.0;
                let k = p as usize;
                x[k.min(x.len() - 1)]
            })
            .collect();
        let a = tone::goertzel_amplitude(&y[400..], 8000, 2000.0);
        assert!(tone::dbfs(a) - tone::dbfs(0.5) > -20.0);
    }

    #[test]
    fn frames_join_without_a_phase_jump() {
        // Whatever the chunking, the output is the same stream: 20 ms
        // frames, odd chunks, one sample at a time.
        for (from, to) in PAIRS {
            let x = tone::sine(770.0, 0.5, from, 1000);
            let whole = run(from, to, &x, x.len());
            for chunk in [from as usize / 50, 97, 1] {
                assert_eq!(run(from, to, &x, chunk), whole, "{from}->{to} by {chunk}");
            }
            assert_eq!(
                whole.len(),
                to as usize,
                "{from}->{to}: one second in, one second out"
            );
            // And that stream is a clean tone: no frame of it jumps.
            let cuts = phase::cuts(&whole, to, 770.0, 20.0, 0.05, 0.0, 20.0);
            assert!(cuts.is_empty(), "{from}->{to}: {cuts:?}");
        }
    }

    #[test]
    fn frame_gives_exactly_what_was_asked() {
        let mut r = Resampler::new(48000, 8000);
        let x = tone::sine(440.0, 0.5, 48000, 100);
        let mut out = Vec::new();
        for f in x.chunks(960) {
            r.frame(f, 160, &mut out);
        }
        assert_eq!(out.len(), 800);
        let mut same = Resampler::new(8000, 8000);
        let mut out = Vec::new();
        same.process(&[1, 2, 3], &mut out);
        assert_eq!(out, vec![1, 2, 3]);
        assert_eq!(same.delay(), 0);
    }

    #[test]
    fn resample_all_is_aligned_and_sized() {
        let x: Vec<f32> = tone::sine(300.0, 0.5, 48000, 200)
            .iter()
            .map(|&s| f32::from(s) / 32768.0)
            .collect();
        let y = resample_all(&x, 48000, 8000);
        assert_eq!(y.len(), 1600);
        // The delay is taken out: sample 800 (100 ms) is the input's 4800.
        assert!((y[800] - x[4800]).abs() < 0.01, "{} vs {}", y[800], x[4800]);
    }
}
