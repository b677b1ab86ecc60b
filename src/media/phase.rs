//! Finding cuts in a recorded tone: the phase of a known frequency, frame
//! by frame, measured against one global reference. A continuous tone
//! keeps its phase (or drifts it evenly when the frequency is a little
//! off); a dropped or repeated 20 ms frame shifts everything after it by
//! `20 ms × f` periods, which shows as a jump of the fractional part
//! (440 Hz: 8.8 periods, a 288° jump, i.e. −72°). A frame of near
//! silence inside the tone is a dropout.
//!
//! Used by the tests that record calls (see `tests/audio_phase.rs`); it
//! is plain arithmetic on samples, so it lives beside [`super::tone`].

use std::f64::consts::PI;

/// One frame's measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FramePhase {
    /// Start of the frame, in seconds from the start of the recording.
    pub at_s: f64,
    /// Phase of the tone against `cos(2πf·n/rate)`, radians in (−π, π].
    pub phase: f64,
    /// Amplitude of the tone in the frame (full scale = 1.0).
    pub amplitude: f64,
}

/// What broke the tone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cut {
    /// The phase moved by this much (degrees, beyond the steady drift)
    /// between the frame starting at `at_s` and the one before.
    Jump { at_s: f64, degrees: f64 },
    /// The tone fell to this fraction of its median level.
    Dropout { at_s: f64, level: f64 },
}

impl Cut {
    pub fn at_s(&self) -> f64 {
        match *self {
            Cut::Jump { at_s, .. } | Cut::Dropout { at_s, .. } => at_s,
        }
    }
}

/// Per-frame phase and amplitude of `freq` in `x` (frames of `frame`
/// samples from the first sample; a short tail is ignored).
pub fn track(x: &[i16], rate: u32, freq: f64, frame: usize) -> Vec<FramePhase> {
    let w = 2.0 * PI * freq / f64::from(rate);
    x.chunks_exact(frame.max(1))
        .enumerate()
        .map(|(k, c)| {
            let n0 = k * frame;
            let (mut re, mut im) = (0.0, 0.0);
            for (i, &s) in c.iter().enumerate() {
                let a = w * (n0 + i) as f64;
                let v = f64::from(s) / 32768.0;
                re += v * a.cos();
                im -= v * a.sin();
            }
            FramePhase {
                at_s: n0 as f64 / f64::from(rate),
                phase: im.atan2(re),
                amplitude: 2.0 * (re * re + im * im).sqrt() / c.len() as f64,
            }
        })
        .collect()
}

/// The jump a whole lost or repeated frame makes in a tone of `freq`:
/// 0° when the frame holds a whole number of periods (a cut would then be
/// invisible to [`cuts`], so tests pick a frequency where this is large).
pub fn frame_slip_degrees(freq: f64, frame_ms: f64) -> f64 {
    let periods = freq * frame_ms / 1000.0;
    let frac = periods - periods.round();
    (frac * 360.0).abs()
}

/// Cuts in a recorded tone of `freq`, frames of `frame_ms`, ignoring the
/// first `skip_s` and the last `tail_s` seconds (set-up and tear-down):
/// phase jumps over `max_degrees` beyond the median frame-to-frame drift,
/// and frames whose tone falls under a quarter of the median level.
pub fn cuts(
    x: &[i16],
    rate: u32,
    freq: f64,
    frame_ms: f64,
    skip_s: f64,
    tail_s: f64,
    max_degrees: f64,
) -> Vec<Cut> {
    let frame = (f64::from(rate) * frame_ms / 1000.0).round() as usize;
    let all = track(x, rate, freq, frame);
    let end_s = x.len() as f64 / f64::from(rate) - tail_s;
    let f: Vec<FramePhase> = all
        .into_iter()
        .filter(|p| p.at_s >= skip_s && p.at_s + frame_ms / 1000.0 <= end_s)
        .collect();
    if f.len() < 3 {
        return Vec::new();
    }
    let mut levels: Vec<f64> = f.iter().map(|p| p.amplitude).collect();
    levels.sort_by(f64::total_cmp);
    let median_level = levels[levels.len() / 2];
    let steps: Vec<f64> = f
        .windows(2)
        .map(|w| wrap(w[1].phase - w[0].phase))
        .collect();
    let drift = circular_median(&steps);
    let mut out = Vec::new();
    for (k, p) in f.iter().enumerate() {
        if p.amplitude < median_level / 4.0 {
            out.push(Cut::Dropout {
                at_s: p.at_s,
                level: p.amplitude / median_level.max(1e-12),
            });
            continue;
        }
        // A jump is measured between two frames that both hold the tone.
        if k == 0 || f[k - 1].amplitude < median_level / 4.0 {
            continue;
        }
        let degrees = wrap(steps[k - 1] - drift).to_degrees();
        if degrees.abs() > max_degrees {
            out.push(Cut::Jump {
                at_s: p.at_s,
                degrees,
            });
        }
    }
    out
}

/// An angle in (−π, π].
fn wrap(a: f64) -> f64 {
    let mut a = a % (2.0 * PI);
    if a > PI {
        a -= 2.0 * PI;
    } else if a <= -PI {
        a += 2.0 * PI;
    }
    a
}

/// The median of angles that cluster (the steady drift): taken around
/// their circular mean, so a cluster near ±π is not split in two.
fn circular_median(a: &[f64]) -> f64 {
    let (s, c) = a
        .iter()
        .fold((0.0, 0.0), |(s, c), x| (s + x.sin(), c + x.cos()));
    let mean = s.atan2(c);
    let mut d: Vec<f64> = a.iter().map(|x| wrap(x - mean)).collect();
    d.sort_by(f64::total_cmp);
    wrap(mean + d[d.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 8000;
    const FRAME: usize = 160;

    fn tone(freq: f64, secs: f64) -> Vec<i16> {
        (0..(secs * f64::from(RATE)) as usize)
            .map(|n| {
                let v = 0.5 * (2.0 * PI * freq * n as f64 / f64::from(RATE)).sin();
                (v * 32767.0).round() as i16
            })
            .collect()
    }

    fn cuts_440(x: &[i16]) -> Vec<Cut> {
        cuts(x, RATE, 440.0, 20.0, 0.5, 0.0, 20.0)
    }

    #[test]
    fn a_clean_tone_has_no_cut() {
        assert_eq!(cuts_440(&tone(440.0, 10.0)), vec![]);
    }

    #[test]
    fn a_slightly_detuned_tone_drifts_without_cuts() {
        // 0.7 Hz off: 5° of drift per frame, no jump.
        assert_eq!(cuts_440(&tone(440.7, 10.0)), vec![]);
    }

    #[test]
    fn a_dropped_frame_is_one_jump_of_288_degrees() {
        let mut x = tone(440.0, 10.0);
        let at = 150 * FRAME; // 3.0 s
        x.drain(at..at + FRAME);
        let c = cuts_440(&x);
        assert_eq!(c.len(), 1, "{c:?}");
        let Cut::Jump { at_s, degrees } = c[0] else {
            panic!("{c:?}");
        };
        assert!((at_s - 3.0).abs() < 0.001, "{c:?}");
        // 8.8 periods: +288° is −72°.
        assert!((degrees.abs() - 72.0).abs() < 3.0, "{c:?}");
    }

    #[test]
    fn a_repeated_frame_is_a_jump_too() {
        let mut x = tone(440.0, 10.0);
        let at = 100 * FRAME;
        let copy: Vec<i16> = x[at - FRAME..at].to_vec();
        x.splice(at..at, copy);
        let c = cuts_440(&x);
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(matches!(c[0], Cut::Jump { degrees, .. } if (degrees.abs() - 72.0).abs() < 3.0));
    }

    #[test]
    fn a_cut_inside_the_first_half_second_is_ignored() {
        let mut x = tone(440.0, 5.0);
        x.drain(10 * FRAME..11 * FRAME);
        assert_eq!(cuts_440(&x), vec![]);
    }

    #[test]
    fn a_silent_frame_is_a_dropout() {
        let mut x = tone(440.0, 5.0);
        x[100 * FRAME..101 * FRAME].fill(0);
        let c = cuts_440(&x);
        assert!(
            c.iter()
                .any(|c| matches!(c, Cut::Dropout { at_s, .. } if (at_s - 2.0).abs() < 0.001)),
            "{c:?}"
        );
    }

    #[test]
    fn noise_at_30_db_below_is_not_a_cut() {
        let mut seed = 0x1234_5678u32;
        let x: Vec<i16> = tone(440.0, 10.0)
            .into_iter()
            .map(|s| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let n = ((seed >> 16) as i32 % 1000) - 500; // about −36 dBFS
                (i32::from(s) + n).clamp(-32768, 32767) as i16
            })
            .collect();
        assert_eq!(cuts_440(&x), vec![]);
    }

    #[test]
    fn a_tone_of_whole_periods_per_frame_hides_a_cut() {
        assert!(frame_slip_degrees(1000.0, 20.0) < 1e-9);
        assert!((frame_slip_degrees(440.0, 20.0) - 72.0).abs() < 1e-9);
        assert!(frame_slip_degrees(770.0, 20.0) > 60.0);
    }
}
