//! Time-scale modification of decoded audio, WSOLA-style (the idea of
//! NetEq's accelerate and preemptive expand): the jitter buffer shrinks
//! or grows its delay by whole frames, and this module makes the listener
//! not hear it. Instead of dropping a frame (a cut: the phase of voiced
//! sound jumps) or playing a concealed one, it removes or repeats whole
//! pitch periods where the signal matches itself best, with a short
//! cross-fade at the seam.
//!
//! ```text
//!   accelerate (remove D):   x[..s] ┐xfade(x[s..s+L], x[s+D..s+D+L])┌ x[s+D+L..]
//!   expand     (insert D):   x[..s+D] ┐xfade(x[s+D..s+D+L], x[s..s+L])┌ x[s+L..]
//! ```
//!
//! `D` is searched inside the range the caller asks for and chosen where
//! the normalized cross-correlation of the two windows is highest: for a
//! voiced sound (or a tone) that is a whole number of periods, so the
//! phase carries on across the seam. A range as wide as the longest pitch
//! period always holds such a `D`. In silence there is nothing to keep in
//! phase: exactly the requested amount is dropped or repeated.
//!
//! Plain arithmetic on samples; no state, no clock.

// A sans-IO core: no clock reads, no tasks (clippy.toml).
#![deny(clippy::disallowed_methods)]

use std::ops::RangeInclusive;

/// The longest pitch period searched for (67 Hz): a range of lengths this
/// wide always holds a whole number of periods of a voiced sound.
pub const MAX_PERIOD_MS: u32 = 15;
/// The cross-fade at a seam (and the window the match is measured on).
const WINDOW_MS: u32 = 5;
/// The shortest period (400 Hz) one expand step repeats: shorter repeats
/// of a noisy sound buzz.
const MIN_PERIOD_MS_X10: u32 = 25;
/// Under this RMS (about −44 dBFS) a stretch of audio is silence.
const SILENCE_RMS: f64 = 200.0;

/// What a call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Splice {
    /// Samples removed (accelerate) or inserted (expand).
    pub samples: usize,
    /// The audio was silence: the samples were cut or repeated as they were.
    pub silent: bool,
}

/// Samples of `ms` at `rate`.
pub fn samples(rate: u32, ms: u32) -> usize {
    (u64::from(rate) * u64::from(ms) / 1000) as usize
}

fn window(rate: u32) -> usize {
    samples(rate, WINDOW_MS).max(4)
}

/// Is this stretch silence (what [`accelerate`] cuts as it is)?
pub fn is_silent(x: &[i16]) -> bool {
    rms(x) < SILENCE_RMS
}

fn rms(x: &[i16]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    let e: f64 = x.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (e / x.len() as f64).sqrt()
}

/// Normalized cross-correlation of `a` and `b` (equal lengths).
fn correlation(a: &[i16], b: &[i16]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa <= 0.0 || bb <= 0.0 {
        return 0.0;
    }
    ab / (aa * bb).sqrt()
}

/// How much worse than the best match a lag nearer the caller's
/// preference may be (a tone: under 4° more phase error).
const NEAR_ENOUGH: f64 = 0.002;

/// The lag in `lags` where `x[s..s+l]` best matches `x[s+d..s+d+l]`;
/// among matches within [`NEAR_ENOUGH`] of the best, the one nearest
/// `prefer` (less delay left over).
fn best_lag(x: &[i16], s: usize, l: usize, lags: RangeInclusive<usize>, prefer: usize) -> usize {
    let scored: Vec<(usize, f64)> = lags
        .map(|d| (d, correlation(&x[s..s + l], &x[s + d..s + d + l])))
        .collect();
    let best = scored
        .iter()
        .map(|&(_, c)| c)
        .fold(f64::NEG_INFINITY, f64::max);
    scored
        .iter()
        .filter(|&&(_, c)| c >= best - NEAR_ENOUGH)
        .min_by_key(|&&(d, _)| d.abs_diff(prefer))
        .map_or(s, |&(d, _)| d)
}

/// A raised-cosine cross-fade from `from` to `to` into `out`.
fn crossfade(from: &[i16], to: &[i16], out: &mut Vec<i16>) {
    let n = from.len().min(to.len());
    for i in 0..n {
        let w = 0.5 - 0.5 * (std::f64::consts::PI * (i as f64 + 0.5) / n as f64).cos();
        let v = f64::from(from[i]) * (1.0 - w) + f64::from(to[i]) * w;
        out.push(v.round().clamp(-32768.0, 32767.0) as i16);
    }
}

/// Shortens `pcm` by about `remove` samples (a count inside the range,
/// as near its end as the signal allows), keeping its first sample where
/// it is (what precedes `pcm` was already played). Removes nothing when
/// `pcm` is too short for the range's smallest count plus a seam.
pub fn accelerate(pcm: &mut Vec<i16>, rate: u32, remove: RangeInclusive<usize>) -> Splice {
    let l = window(rate);
    let (lo, hi) = (*remove.start(), *remove.end());
    let hi = hi.min(pcm.len().saturating_sub(l));
    if lo > hi || hi == 0 {
        return Splice {
            samples: 0,
            silent: false,
        };
    }
    let lo = lo.max(1);
    if rms(&pcm[..(hi + l).min(pcm.len())]) < SILENCE_RMS {
        pcm.drain(..hi);
        return Splice {
            samples: hi,
            silent: true,
        };
    }
    let d = best_lag(pcm, 0, l, lo..=hi, hi);
    let mut out = Vec::with_capacity(pcm.len() - d);
    crossfade(&pcm[..l], &pcm[d..d + l], &mut out);
    out.extend_from_slice(&pcm[d + l..]);
    *pcm = out;
    Splice {
        samples: d,
        silent: false,
    }
}

/// Lengthens `pcm` by a count of samples inside `add` (as near its start
/// as the signal allows), repeating whole periods; short input is
/// lengthened in several steps, each repeating at most what it holds.
/// Inserts less than asked only when `pcm` is shorter than two seams.
pub fn expand(pcm: &mut Vec<i16>, rate: u32, add: RangeInclusive<usize>) -> Splice {
    let l = window(rate);
    let (lo, hi) = (*add.start(), *add.end());
    if hi == 0 || pcm.len() < 2 * l {
        return Splice {
            samples: 0,
            silent: false,
        };
    }
    if rms(pcm) < SILENCE_RMS {
        // Repeat the quiet audio as it is, from the start.
        let mut out = Vec::with_capacity(pcm.len() + lo);
        while out.len() < lo {
            let take = (lo - out.len()).min(pcm.len());
            out.extend_from_slice(&pcm[..take]);
        }
        out.extend_from_slice(pcm);
        *pcm = out;
        return Splice {
            samples: lo,
            silent: true,
        };
    }
    let min_period = (rate as usize * MIN_PERIOD_MS_X10 as usize / 10_000).max(1);
    let period = samples(rate, MAX_PERIOD_MS);
    let mut added = 0;
    while added < lo {
        // Repeat the segment x[0..d]: the seam needs x[d..d+l].
        let room = pcm.len() - l;
        let need_lo = lo - added;
        let need_hi = hi - added;
        let top = need_hi.min(room);
        let (bottom, prefer) = if top >= need_lo && top - need_lo >= period.min(need_hi - need_lo) {
            // The rest in one step, with a period's choice of lengths.
            (need_lo, need_lo)
        } else {
            // Too little audio to choose the rest well in one step:
            // repeat as much as a good match allows, then go on from the
            // longer result.
            (min_period.min(top), top)
        };
        if bottom == 0 || bottom > top {
            break;
        }
        let d = best_lag(pcm, 0, l, bottom..=top, prefer);
        let mut out = Vec::with_capacity(pcm.len() + d);
        out.extend_from_slice(&pcm[..d]);
        crossfade(&pcm[d..d + l], &pcm[..l], &mut out);
        out.extend_from_slice(&pcm[l..]);
        *pcm = out;
        added += d;
    }
    Splice {
        samples: added,
        silent: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::phase::{Cut, cuts, frame_slip_degrees};
    use std::f64::consts::PI;

    fn tone(freq: f64, rate: u32, from: usize, n: usize) -> Vec<i16> {
        (from..from + n)
            .map(|i| {
                let v = 0.5 * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin();
                (v * 32767.0).round() as i16
            })
            .collect()
    }

    /// A tone with a splice every `every` frames, made by `op` on the
    /// next two frames of the source (the session's view: what is queued
    /// to play). Returns the output and the total length change.
    fn spliced(
        freq: f64,
        rate: u32,
        secs: usize,
        every: usize,
        op: impl Fn(&mut Vec<i16>) -> Splice,
    ) -> (Vec<i16>, i64, usize) {
        let frame = samples(rate, 20);
        let total = secs * rate as usize;
        let mut out = Vec::new();
        let mut pos = 0;
        let mut k = 0;
        let mut changed = 0i64;
        let mut count = 0;
        while pos + 2 * frame <= total {
            k += 1;
            if k % every == 0 {
                let mut q = tone(freq, rate, pos, 2 * frame);
                let before = q.len() as i64;
                let s = op(&mut q);
                assert_eq!(
                    (q.len() as i64 - before).unsigned_abs() as usize,
                    s.samples,
                    "reported change is the real one"
                );
                changed += q.len() as i64 - before;
                count += 1;
                out.extend_from_slice(&q);
                pos += 2 * frame;
            } else {
                out.extend(tone(freq, rate, pos, frame));
                pos += frame;
            }
        }
        (out, changed, count)
    }

    fn jumps(x: &[i16], rate: u32, freq: f64) -> Vec<Cut> {
        if std::env::var("TSM_DIAG").is_ok() {
            let worst = cuts(x, rate, freq, 20.0, 0.5, 0.1, 0.0)
                .iter()
                .filter_map(|c| match c {
                    Cut::Jump { degrees, .. } => Some(degrees.abs()),
                    Cut::Dropout { .. } => None,
                })
                .fold(0.0, f64::max);
            eprintln!("{freq} Hz at {rate}: worst step {worst:.1} degrees");
        }
        cuts(x, rate, freq, 20.0, 0.5, 0.1, 20.0)
    }

    const TONES: [f64; 5] = [220.0, 440.0, 770.0, 1013.0, 1234.0];
    const RATES: [u32; 3] = [8000, 16000, 48000];

    #[test]
    fn accelerating_a_tone_removes_about_a_frame_without_a_phase_jump() {
        for rate in RATES {
            let frame = samples(rate, 20);
            let tol = samples(rate, MAX_PERIOD_MS);
            for freq in TONES {
                let (x, changed, n) = spliced(freq, rate, 6, 13, |q| {
                    let s = accelerate(q, rate, frame - tol..=frame);
                    assert!(!s.silent);
                    assert!(
                        (frame - tol..=frame).contains(&s.samples),
                        "{freq} Hz at {rate}: removed {}",
                        s.samples
                    );
                    s
                });
                assert!(n >= 20);
                assert!(-changed >= (n * (frame - tol)) as i64);
                let c = jumps(&x, rate, freq);
                assert!(c.is_empty(), "{freq} Hz at {rate}: {c:?}");
            }
        }
    }

    #[test]
    fn expanding_a_tone_adds_about_a_frame_without_a_phase_jump() {
        for rate in RATES {
            let frame = samples(rate, 20);
            let tol = samples(rate, MAX_PERIOD_MS);
            for freq in TONES {
                let (x, changed, n) = spliced(freq, rate, 6, 13, |q| {
                    // The session expands the one frame it decoded.
                    let mut one: Vec<i16> = q[..frame].to_vec();
                    let s = expand(&mut one, rate, frame..=frame + tol);
                    assert!(!s.silent);
                    assert!(
                        (frame..=frame + tol).contains(&s.samples),
                        "{freq} Hz at {rate}: added {}",
                        s.samples
                    );
                    one.extend_from_slice(&q[frame..]);
                    *q = one;
                    s
                });
                assert!(n >= 20);
                assert!(changed >= (n * frame) as i64);
                let c = jumps(&x, rate, freq);
                assert!(c.is_empty(), "{freq} Hz at {rate}: {c:?}");
            }
        }
    }

    /// The same tones with whole frames dropped instead: the check above
    /// would have seen that (so it can fail).
    #[test]
    fn dropping_whole_frames_instead_shows_jumps() {
        for freq in [440.0, 770.0, 1234.0] {
            assert!(frame_slip_degrees(freq, 20.0) > 20.0);
            let (x, _, n) = spliced(freq, 8000, 6, 13, |q| {
                q.drain(..160);
                Splice {
                    samples: 160,
                    silent: false,
                }
            });
            // Every splice after the first half second is a jump.
            let c = jumps(&x, 8000, freq);
            assert!(
                c.len() + 2 >= n && c.len() <= n,
                "{freq} Hz: {} of {n}",
                c.len()
            );
        }
    }

    #[test]
    fn silence_is_cut_and_repeated_exactly() {
        let mut q = vec![3i16; 320];
        let s = accelerate(&mut q, 8000, 100..=160);
        assert_eq!(
            s,
            Splice {
                samples: 160,
                silent: true
            }
        );
        assert_eq!(q.len(), 160);
        let mut q = vec![-2i16; 160];
        let s = expand(&mut q, 8000, 160..=280);
        assert_eq!(
            s,
            Splice {
                samples: 160,
                silent: true
            }
        );
        assert_eq!(q.len(), 320);
    }

    #[test]
    fn too_little_audio_changes_nothing() {
        let mut q = tone(440.0, 8000, 0, 30);
        assert_eq!(accelerate(&mut q, 8000, 100..=160).samples, 0);
        assert_eq!(expand(&mut q, 8000, 100..=160).samples, 0);
        assert_eq!(q.len(), 30);
    }

    /// Voice-like input (a harmonic series with a wandering pitch) keeps
    /// its length contract too.
    #[test]
    fn a_harmonic_sound_with_a_moving_pitch_is_shortened_and_lengthened_as_asked() {
        let rate = 16000;
        let frame = samples(rate, 20);
        let tol = samples(rate, MAX_PERIOD_MS);
        let mut phase = 0.0f64;
        let x: Vec<i16> = (0..2 * frame)
            .map(|i| {
                let f0 = 120.0 + 30.0 * (i as f64 / 200.0).sin();
                phase += 2.0 * PI * f0 / f64::from(rate);
                let v: f64 = (1..6)
                    .map(|h| (phase * f64::from(h)).sin() / f64::from(h))
                    .sum();
                (v * 6000.0) as i16
            })
            .collect();
        let mut a = x.clone();
        let s = accelerate(&mut a, rate, frame - tol..=frame);
        assert!((frame - tol..=frame).contains(&s.samples), "{s:?}");
        assert_eq!(a.len(), x.len() - s.samples);
        let mut e = x[..frame].to_vec();
        let s = expand(&mut e, rate, frame..=frame + tol);
        assert!((frame..=frame + tol).contains(&s.samples), "{s:?}");
        assert_eq!(e.len(), frame + s.samples);
    }
}
