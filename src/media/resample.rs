//! A streaming linear resampler for fixed frames, used when a re-INVITE
//! moves a call to a codec whose PCM rate is not the open device's (the
//! device keeps its rate for the whole call). Linear interpolation has no
//! anti-aliasing filter: good enough for voice between 8, 16 and 48 kHz,
//! and only on that uncommon path; a call whose device was opened at the
//! codec's rate never resamples.

#[derive(Debug, Clone)]
pub struct Linear {
    from: u32,
    to: u32,
    /// Position of the next output sample, in input samples, relative to
    /// the start of the next input frame (negative: between `last` and it).
    pos: f64,
    last: f32,
}

impl Linear {
    pub fn new(from: u32, to: u32) -> Linear {
        Linear {
            from,
            to,
            pos: 0.0,
            last: 0.0,
        }
    }

    pub fn is_identity(&self) -> bool {
        self.from == self.to
    }

    /// Appends `input` resampled to `out` (about `input.len() · to / from`
    /// samples; the fractional remainder carries over to the next frame).
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        if self.is_identity() {
            out.extend_from_slice(input);
            return;
        }
        let step = f64::from(self.from) / f64::from(self.to);
        let n = input.len() as f64;
        let at = |i: isize, last: f32| -> f32 {
            if i < 0 {
                last
            } else {
                f32::from(input[i as usize])
            }
        };
        while self.pos < n - 1.0 {
            let i = self.pos.floor();
            let frac = (self.pos - i) as f32;
            let a = at(i as isize, self.last);
            let b = at(i as isize + 1, self.last);
            out.push((a + (b - a) * frac).round() as i16);
            self.pos += step;
        }
        self.pos -= n;
        if let Some(&l) = input.last() {
            self.last = f32::from(l);
        }
    }

    /// Exactly `want` samples: resampled input, padded with its last
    /// sample or trimmed by the drift of the fractional position.
    pub fn frame(&mut self, input: &[i16], want: usize, out: &mut Vec<i16>) {
        let at = out.len();
        self.process(input, out);
        let fill = out.last().copied().unwrap_or(0);
        out.resize(at + want, fill);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tone;

    #[test]
    fn a_tone_keeps_its_frequency_up_and_down() {
        for (from, to) in [(8000, 48000), (48000, 8000), (16000, 8000), (8000, 16000)] {
            let mut r = Linear::new(from, to);
            let input = tone::sine(440.0, 0.5, from, 1000);
            let mut out = Vec::new();
            for f in input.chunks(from as usize / 50) {
                r.frame(f, to as usize / 50, &mut out);
            }
            assert_eq!(out.len(), to as usize);
            let d = tone::detect_tone(&out[(to / 10) as usize..], to, 200.0, 1000.0);
            assert!(
                (d.freq - 440.0).abs() < 5.0 && d.purity > 0.8,
                "{from}->{to}: {d:?}"
            );
        }
        let mut same = Linear::new(8000, 8000);
        let mut out = Vec::new();
        same.process(&[1, 2, 3], &mut out);
        assert_eq!(out, vec![1, 2, 3]);
    }
}
