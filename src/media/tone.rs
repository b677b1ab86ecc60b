//! Synthesized call-progress tones and a Goertzel tone detector.
//!
//! Tones follow Vietnam's plan, which is ITU-T E.180's 425 Hz family:
//! ringback 425 Hz 1 s on / 4 s off, busy 425 Hz 0.5 s on / 0.5 s off.
//! The local ringtone (an incoming call, played on the ring device) is a
//! softer two-tone 440 + 480 Hz, 1 s on / 2 s off. The call-waiting beep
//! (a second call rings during a call, heard in the call's audio) is E.180's
//! call-waiting tone in the same family: 425 Hz, one 300 ms burst, softer
//! than the call itself. No asset files.

use std::f64::consts::TAU;

/// One cadenced tone: frequencies summed, on for `on_ms`, off for `off_ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cadence {
    pub freqs: &'static [f64],
    pub on_ms: u32,
    pub off_ms: u32,
    /// Peak amplitude of the sum, 0.0–1.0 of full scale.
    pub level: f64,
}

pub const RINGBACK: Cadence = Cadence {
    freqs: &[425.0],
    on_ms: 1000,
    off_ms: 4000,
    level: 0.25,
};
pub const BUSY: Cadence = Cadence {
    freqs: &[425.0],
    on_ms: 500,
    off_ms: 500,
    level: 0.25,
};
pub const RINGTONE: Cadence = Cadence {
    freqs: &[440.0, 480.0],
    on_ms: 1000,
    off_ms: 2000,
    level: 0.3,
};

/// The call-waiting beep's frequency, length and level.
pub const WAITING_BEEP_HZ: f64 = 425.0;
pub const WAITING_BEEP_MS: u32 = 300;
pub const WAITING_BEEP_LEVEL: f64 = 0.2;

/// One call-waiting beep at `rate`, with 10 ms ramps so it starts and
/// stops without a click.
pub fn waiting_beep(rate: u32) -> Vec<i16> {
    let mut x = sine(WAITING_BEEP_HZ, WAITING_BEEP_LEVEL, rate, WAITING_BEEP_MS);
    let ramp = (rate / 100).max(1) as usize;
    let n = x.len();
    for i in 0..ramp.min(n) {
        let g = i as f64 / ramp as f64;
        x[i] = (f64::from(x[i]) * g).round() as i16;
        x[n - 1 - i] = (f64::from(x[n - 1 - i]) * g).round() as i16;
    }
    x
}

/// A phase-continuous generator for a cadence (or a steady tone).
#[derive(Debug, Clone)]
pub struct ToneGen {
    cadence: Cadence,
    rate: u32,
    n: u64,
}

impl ToneGen {
    pub fn new(cadence: Cadence, rate: u32) -> ToneGen {
        ToneGen {
            cadence,
            rate,
            n: 0,
        }
    }

    /// A steady sine at `freq` with peak `level` (0.0–1.0).
    pub fn sine(freq: &'static [f64], level: f64, rate: u32) -> ToneGen {
        ToneGen::new(
            Cadence {
                freqs: freq,
                on_ms: 1,
                off_ms: 0,
                level,
            },
            rate,
        )
    }

    /// Fill `out` with the next samples.
    pub fn fill(&mut self, out: &mut [i16]) {
        let c = &self.cadence;
        let period = u64::from(c.on_ms + c.off_ms) * u64::from(self.rate) / 1000;
        let on = u64::from(c.on_ms) * u64::from(self.rate) / 1000;
        let amp = c.level * 32767.0 / c.freqs.len().max(1) as f64;
        for s in out.iter_mut() {
            let pos = if period == 0 { 0 } else { self.n % period };
            let mut v = 0.0;
            if c.off_ms == 0 || pos < on {
                let t = self.n as f64 / f64::from(self.rate);
                for f in c.freqs {
                    v += (TAU * f * t).sin();
                }
            }
            *s = (v * amp).round().clamp(-32768.0, 32767.0) as i16;
            self.n += 1;
        }
    }
}

/// Generate `ms` of a steady tone: handy for tests and file devices.
pub fn sine(freq: f64, level: f64, rate: u32, ms: u32) -> Vec<i16> {
    let n = (u64::from(rate) * u64::from(ms) / 1000) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            ((TAU * freq * t).sin() * level * 32767.0).round() as i16
        })
        .collect()
}

/// Goertzel power of `freq` in `x`, normalised so that a full-scale sine
/// at exactly `freq` gives an amplitude of 1.0 (returned as amplitude).
pub fn goertzel_amplitude(x: &[i16], rate: u32, freq: f64) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    let w = TAU * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s0 = f64::from(v) / 32768.0 + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / x.len() as f64
}

/// The strongest tone in a signal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detected {
    pub freq: f64,
    /// The tone's peak amplitude in dBFS (a full-scale sine is 0 dBFS).
    pub level_dbfs: f64,
    /// The whole signal's RMS in dBFS (sine-referenced: full-scale sine = 0).
    pub rms_dbfs: f64,
    /// Share of the signal's power in this tone (0–1): near 1 for a pure tone.
    pub purity: f64,
}

/// Find the strongest tone between `lo` and `hi` Hz: a 10 Hz scan, then a
/// 1 Hz refinement around the peak. Use a window of at least 0.25 s for a
/// few-Hz accuracy.
pub fn detect_tone(x: &[i16], rate: u32, lo: f64, hi: f64) -> Detected {
    let mut best = (lo, 0.0);
    let mut f = lo;
    while f <= hi {
        let a = goertzel_amplitude(x, rate, f);
        if a > best.1 {
            best = (f, a);
        }
        f += 10.0;
    }
    let center = best.0;
    let mut f = center - 10.0;
    while f <= center + 10.0 {
        let a = goertzel_amplitude(x, rate, f);
        if a > best.1 {
            best = (f, a);
        }
        f += 0.5;
    }
    let rms = rms(x);
    // A sine of amplitude A has RMS A/√2: compare like with like.
    let tone_rms = best.1 / std::f64::consts::SQRT_2;
    Detected {
        freq: best.0,
        level_dbfs: dbfs(best.1),
        rms_dbfs: dbfs(rms * std::f64::consts::SQRT_2),
        purity: if rms > 0.0 {
            ((tone_rms * tone_rms) / (rms * rms)).min(1.0)
        } else {
            0.0
        },
    }
}

/// RMS of a signal, 1.0 = full scale DC.
pub fn rms(x: &[i16]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    let sum: f64 = x.iter().map(|&v| (f64::from(v) / 32768.0).powi(2)).sum();
    (sum / x.len() as f64).sqrt()
}

pub fn dbfs(amplitude: f64) -> f64 {
    if amplitude <= 1e-9 {
        -180.0
    } else {
        20.0 * amplitude.log10()
    }
}

/// A level meter value 0.0–1.0 for the console: RMS mapped from -60..0 dBFS.
pub fn meter(x: &[i16]) -> f32 {
    let db = dbfs(rms(x) * std::f64::consts::SQRT_2);
    ((db + 60.0) / 60.0).clamp(0.0, 1.0) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_a_sine_frequency_and_level() {
        let x = sine(1000.0, 0.5, 8000, 500);
        let d = detect_tone(&x, 8000, 100.0, 3900.0);
        assert!((d.freq - 1000.0).abs() <= 1.0, "{d:?}");
        assert!((d.level_dbfs - (-6.02)).abs() < 0.3, "{d:?}");
        assert!(d.purity > 0.95, "{d:?}");
        let y = sine(440.0, 0.1, 8000, 500);
        let d = detect_tone(&y, 8000, 100.0, 3900.0);
        assert!(
            (d.freq - 440.0).abs() <= 1.0 && (d.level_dbfs + 20.0).abs() < 0.3,
            "{d:?}"
        );
    }

    #[test]
    fn silence_and_noise_have_no_pure_tone() {
        let z = vec![0i16; 4000];
        let d = detect_tone(&z, 8000, 100.0, 3900.0);
        assert!(d.level_dbfs < -100.0);
        let mut x = 1u32;
        let noise: Vec<i16> = (0..4000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                ((x >> 16) as i16) / 4
            })
            .collect();
        let d = detect_tone(&noise, 8000, 100.0, 3900.0);
        assert!(d.purity < 0.1, "{d:?}");
    }

    #[test]
    fn cadences_are_on_and_off_at_the_right_times() {
        for (c, on, period) in [
            (RINGBACK, 1000, 5000),
            (BUSY, 500, 1000),
            (RINGTONE, 1000, 3000),
        ] {
            let mut g = ToneGen::new(c, 8000);
            let mut x = vec![0i16; (8 * period) as usize];
            g.fill(&mut x);
            let on_part = &x[..(8 * on - 80) as usize];
            let off_part = &x[(8 * on + 80) as usize..];
            assert!(rms(off_part) == 0.0, "{c:?} silent in its off time");
            let d = detect_tone(on_part, 8000, 300.0, 600.0);
            assert!(
                (d.freq - c.freqs[0]).abs() <= 2.0 || c.freqs.len() > 1,
                "{c:?}: {d:?}"
            );
            assert!(d.level_dbfs > -20.0);
        }
        // Phase-continuous across calls.
        let mut g = ToneGen::sine(&[425.0], 0.25, 8000);
        let mut a = vec![0i16; 160];
        let mut b = vec![0i16; 160];
        g.fill(&mut a);
        g.fill(&mut b);
        let joined: Vec<i16> = a.into_iter().chain(b).collect();
        assert_eq!(joined, sine(425.0, 0.25, 8000, 40));
    }

    #[test]
    fn the_waiting_beep_is_a_short_soft_425_hz_burst() {
        for rate in [8000, 16000] {
            let b = waiting_beep(rate);
            assert_eq!(b.len(), (rate * 3 / 10) as usize);
            assert_eq!((b[0], b[b.len() - 1]), (0, 0), "ramps: no click");
            let d = detect_tone(&b, rate, 200.0, 2000.0);
            assert!((d.freq - 425.0).abs() <= 2.0 && d.purity > 0.9, "{d:?}");
            assert!(d.level_dbfs < -12.0 && d.level_dbfs > -16.0, "{d:?}");
        }
    }

    #[test]
    fn meter_maps_dbfs() {
        assert_eq!(meter(&[0; 160]), 0.0);
        let full = sine(1000.0, 1.0, 8000, 20);
        assert!(meter(&full) > 0.99);
        let m = meter(&sine(1000.0, 0.001, 8000, 20));
        assert!(m < 0.01, "{m}");
    }
}
