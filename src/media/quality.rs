//! Objective measures of what a codec does to audio, for choosing codec
//! settings by measurement (tests and `benches/opus_settings.rs`):
//!
//! - [`voice`]: a speech-like test signal: a glottal pulse train (pitch
//!   gliding 100–220 Hz) through three vowel formants, in syllables of
//!   ~200 ms with pauses between them;
//! - [`aligned_snr_db`]: signal-to-noise ratio of a decoded signal against
//!   the input, after finding the codec's delay;
//! - [`tone_purity`]: the share of a decoded tone's power at its frequency.
//!
//! A waveform SNR is harsh on a perceptual codec (SILK shapes its noise
//! under the formants rather than minimising it), so the figures compare
//! settings of one codec against each other, not codecs.

use super::tone;

/// `ms` of the speech-like signal at `rate`, peak about -6 dBFS: the
/// harmonics of a gliding pitch (100–220 Hz), weighted by three formants
/// (the second one moving, /a/ towards /i/) and a -6 dB/octave tilt, in
/// syllables of 200 ms with 60 ms pauses.
pub fn voice(rate: u32, ms: u32) -> Vec<i16> {
    use std::f64::consts::PI;
    let n = (u64::from(rate) * u64::from(ms) / 1000) as usize;
    let fs = f64::from(rate);
    let top = (fs / 2.0).min(4000.0);
    let mut out = Vec::with_capacity(n);
    let mut phase = 0.0f64;
    for i in 0..n {
        let t = i as f64 / fs;
        // Pitch glides up and down once a second (prosody).
        let f0 = 160.0 + 60.0 * (2.0 * PI * t).sin();
        phase = (phase + f0 / fs).fract();
        let f2 = 1220.0 + 900.0 * (0.5 + 0.5 * (2.0 * PI * 0.37 * t).sin());
        let formants = [(700.0, 90.0), (f2, 110.0), (2600.0, 160.0)];
        let mut y = 0.0;
        let mut k = 1.0;
        while k * f0 < top {
            let f = k * f0;
            let gain: f64 = formants
                .iter()
                .map(|(c, bw)| 1.0 / (1.0 + ((f - c) / bw).powi(2)))
                .sum();
            y += gain / k * (2.0 * PI * k * phase).sin();
            k += 1.0;
        }
        // Syllables: 200 ms voiced, 60 ms silent, smooth edges.
        let syl = (t * 1000.0) % 260.0;
        let env = if syl < 200.0 {
            (PI * syl / 200.0).sin().sqrt()
        } else {
            0.0
        };
        out.push(y * env);
    }
    let peak = out.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-9);
    out.iter()
        .map(|v| (v / peak * 0.5 * 32767.0).round() as i16)
        .collect()
}

/// SNR in dB of `decoded` against `reference`, the decoded signal taken
/// `lag` samples later, for the `lag` in `0..=max_lag` that fits best;
/// `skip` samples at the start (the codec's start-up) are not counted.
/// Returns (lag, SNR).
pub fn aligned_snr_db(
    reference: &[i16],
    decoded: &[i16],
    max_lag: usize,
    skip: usize,
) -> (usize, f64) {
    let mut best = (0, f64::NEG_INFINITY);
    for lag in 0..=max_lag {
        let n = reference.len().min(decoded.len().saturating_sub(lag));
        if n <= skip {
            break;
        }
        let (mut sig, mut err) = (0.0f64, 0.0f64);
        for i in skip..n {
            let x = f64::from(reference[i]);
            let y = f64::from(decoded[i + lag]);
            sig += x * x;
            err += (x - y) * (x - y);
        }
        let snr = 10.0 * (sig / err.max(1e-9)).log10();
        if snr > best.1 {
            best = (lag, snr);
        }
    }
    best
}

/// The share (0–1) of `x`'s power that is the tone at `freq`.
pub fn tone_purity(x: &[i16], rate: u32, freq: f64) -> f64 {
    let a = tone::goertzel_amplitude(x, rate, freq);
    let rms = tone::rms(x);
    if rms <= 0.0 {
        return 0.0;
    }
    // A sine of amplitude a has power a²/2.
    (a * a / 2.0 / (rms * rms)).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_voice_is_voiced_and_has_pauses() {
        let x = voice(16_000, 1040);
        assert_eq!(x.len(), 16_640);
        let peak = x.iter().map(|v| v.unsigned_abs()).max().unwrap();
        assert!((16_000..=16_500).contains(&peak), "{peak}");
        // 200-260 ms is a pause, 50-150 ms is voiced (rms is 1.0 at full scale).
        let pause = tone::rms(&x[16 * 205..16 * 255]);
        let voiced = tone::rms(&x[16 * 50..16 * 150]);
        assert!(pause < 1e-4 && voiced > 0.1, "{pause} {voiced}");
    }

    #[test]
    fn snr_finds_the_delay_and_measures_noise() {
        let x = voice(16_000, 500);
        let mut y = vec![0i16; 100];
        y.extend(x.iter().map(|v| v / 2 * 2 + 1));
        let (lag, snr) = aligned_snr_db(&x, &y, 200, 0);
        assert_eq!(lag, 100);
        assert!(snr > 60.0, "{snr}");
        let (_, half) = aligned_snr_db(&x, &x.iter().map(|v| v / 2).collect::<Vec<_>>(), 0, 0);
        assert!((half - 6.0).abs() < 0.1, "{half}");
    }

    #[test]
    fn a_pure_tone_is_pure_and_a_mix_is_not() {
        let t = tone::sine(770.0, 0.5, 16_000, 500);
        assert!(tone_purity(&t, 16_000, 770.0) > 0.99);
        let other = tone::sine(1300.0, 0.5, 16_000, 500);
        let mix: Vec<i16> = t.iter().zip(&other).map(|(a, b)| a / 2 + b / 2).collect();
        let p = tone_purity(&mix, 16_000, 770.0);
        assert!((p - 0.5).abs() < 0.05, "{p}");
    }
}
