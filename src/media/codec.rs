//! G.711 µ-law (PCMU, PT 0) and A-law (PCMA, PT 8), ITU-T G.711, with a
//! repeat-and-fade packet-loss concealment.
//!
//! The segment arithmetic follows the public-domain Sun Microsystems
//! reference (`g711.c`): µ-law works on 14-bit magnitudes with a bias of 33,
//! A-law on 13-bit magnitudes; both decode through 256-entry tables built at
//! compile time.

/// Payload type of PCMU (RFC 3551 table 4).
pub const PT_PCMU: u8 = 0;
/// Payload type of PCMA (RFC 3551 table 4).
pub const PT_PCMA: u8 = 8;

/// A G.711 law.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum G711 {
    Ulaw,
    Alaw,
}

impl G711 {
    /// The law for a static payload type, or `None` for anything else.
    pub fn from_pt(pt: u8) -> Option<G711> {
        match pt {
            PT_PCMU => Some(G711::Ulaw),
            PT_PCMA => Some(G711::Alaw),
            _ => None,
        }
    }

    pub fn pt(self) -> u8 {
        match self {
            G711::Ulaw => PT_PCMU,
            G711::Alaw => PT_PCMA,
        }
    }

    /// The code of digital silence (what a muted microphone sends).
    pub fn silence(self) -> u8 {
        self.encode_sample(0)
    }

    pub fn encode_sample(self, s: i16) -> u8 {
        match self {
            G711::Ulaw => ulaw_encode(s),
            G711::Alaw => alaw_encode(s),
        }
    }

    pub fn decode_sample(self, b: u8) -> i16 {
        match self {
            G711::Ulaw => ULAW_DECODE[b as usize],
            G711::Alaw => ALAW_DECODE[b as usize],
        }
    }

    /// Appends one byte per sample to `out`.
    pub fn encode(self, pcm: &[i16], out: &mut Vec<u8>) {
        out.extend(pcm.iter().map(|&s| self.encode_sample(s)));
    }

    /// Appends one sample per byte to `out`.
    pub fn decode(self, payload: &[u8], out: &mut Vec<i16>) {
        let table = match self {
            G711::Ulaw => &ULAW_DECODE,
            G711::Alaw => &ALAW_DECODE,
        };
        out.extend(payload.iter().map(|&b| table[b as usize]));
    }
}

const ULAW_SEG_END: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
const ALAW_SEG_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

fn segment(v: i32, ends: &[i32; 8]) -> u8 {
    let mut seg = 0u8;
    while (seg as usize) < 8 && v > ends[seg as usize] {
        seg += 1;
    }
    seg
}

/// 16-bit linear PCM to µ-law.
pub fn ulaw_encode(sample: i16) -> u8 {
    const BIAS: i32 = 0x84 >> 2;
    const CLIP: i32 = 8159;
    let mut v = i32::from(sample) >> 2;
    let mask: u8 = if v < 0 {
        v = -v;
        0x7F
    } else {
        0xFF
    };
    v = v.min(CLIP) + BIAS;
    let seg = segment(v, &ULAW_SEG_END);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let u = (seg << 4) | (((v >> (seg + 1)) & 0x0F) as u8);
    u ^ mask
}

/// 16-bit linear PCM to A-law.
pub fn alaw_encode(sample: i16) -> u8 {
    let mut v = i32::from(sample) >> 3;
    let mask: u8 = if v >= 0 {
        0xD5
    } else {
        v = -v - 1;
        0x55
    };
    let seg = segment(v, &ALAW_SEG_END);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let quant = if seg < 2 {
        (v >> 1) & 0x0F
    } else {
        (v >> seg) & 0x0F
    };
    ((seg << 4) | quant as u8) ^ mask
}

const fn ulaw_decode_one(u: u8) -> i16 {
    let u = !u;
    let mut t: i32 = (((u & 0x0F) as i32) << 3) + 0x84;
    t <<= ((u & 0x70) >> 4) as i32;
    if u & 0x80 != 0 {
        (0x84 - t) as i16
    } else {
        (t - 0x84) as i16
    }
}

const fn alaw_decode_one(a: u8) -> i16 {
    let a = a ^ 0x55;
    let mut t: i32 = ((a & 0x0F) as i32) << 4;
    let seg = ((a & 0x70) >> 4) as i32;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    if a & 0x80 != 0 { t as i16 } else { -t as i16 }
}

const fn table(alaw: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if alaw {
            alaw_decode_one(i as u8)
        } else {
            ulaw_decode_one(i as u8)
        };
        i += 1;
    }
    t
}

static ULAW_DECODE: [i16; 256] = table(false);
static ALAW_DECODE: [i16; 256] = table(true);

/// Repeat-and-fade concealment for G.711 (a simpler cousin of G.711
/// Appendix I): a lost frame is the last good frame again, each repeat
/// quieter, silence after [`Plc::MAX_REPEATS`].
#[derive(Debug, Default, Clone)]
pub struct Plc {
    last: Vec<i16>,
    repeats: u32,
}

impl Plc {
    /// Consecutive concealed frames before the output is silence (100 ms at 20 ms).
    pub const MAX_REPEATS: u32 = 5;

    /// Remember a good frame.
    pub fn good(&mut self, pcm: &[i16]) {
        self.last.clear();
        self.last.extend_from_slice(pcm);
        self.repeats = 0;
    }

    /// Append `samples` of concealment to `out`.
    pub fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) {
        self.repeats += 1;
        if self.last.is_empty() || self.repeats > Self::MAX_REPEATS {
            out.extend(std::iter::repeat_n(0, samples));
            return;
        }
        // Gain falls linearly across the concealed stretch, sample by
        // sample, so there is no step at frame edges.
        let steps = (Self::MAX_REPEATS as usize) * samples;
        let start = (self.repeats as usize - 1) * samples;
        for i in 0..samples {
            let g = 1.0 - (start + i) as f32 / steps as f32;
            let s = self.last[i % self.last.len()];
            out.push((f32::from(s) * g) as i16);
        }
    }

    /// Forget the history (a new talk spurt, a new source).
    pub fn reset(&mut self) {
        self.last.clear();
        self.repeats = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_codes_match_the_standard() {
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(G711::Ulaw.decode_sample(0xFF), 0);
        assert_eq!(G711::Alaw.decode_sample(0xD5), 8);
        assert_eq!(G711::Ulaw.silence(), 0xFF);
    }

    #[test]
    fn extremes() {
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(G711::Ulaw.decode_sample(0x80), 32124);
        assert_eq!(G711::Ulaw.decode_sample(0x00), -32124);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
        assert_eq!(G711::Alaw.decode_sample(0xAA), 32256);
        assert_eq!(G711::Alaw.decode_sample(0x2A), -32256);
    }

    #[test]
    fn every_code_round_trips() {
        for law in [G711::Ulaw, G711::Alaw] {
            for b in 0..=255u8 {
                let s = law.decode_sample(b);
                let back = law.encode_sample(s);
                // µ-law has two zeros (0x7F and 0xFF); both decode to 0.
                if law == G711::Ulaw && b == 0x7F {
                    assert_eq!(back, 0xFF);
                } else {
                    assert_eq!(back, b, "{law:?} code {b:#04x} -> {s}");
                }
            }
        }
    }

    #[test]
    fn quantisation_error_is_within_the_segment_step() {
        for law in [G711::Ulaw, G711::Alaw] {
            for s in (i16::MIN..=i16::MAX).step_by(7) {
                let d = law.decode_sample(law.encode_sample(s));
                let err = (i32::from(s) - i32::from(d)).abs();
                // The relative error of a log-compander stays under ~6 %
                // away from zero; near zero the step is at most 16.
                let bound = (i32::from(s).abs() / 16).max(16);
                assert!(err <= bound, "{law:?} {s} -> {d} (err {err})");
            }
        }
    }

    #[test]
    fn plc_repeats_then_fades_to_silence() {
        let mut plc = Plc::default();
        let frame: Vec<i16> = (0..160)
            .map(|i| if i % 2 == 0 { 1000 } else { -1000 })
            .collect();
        plc.good(&frame);
        let mut out = Vec::new();
        plc.conceal(160, &mut out);
        assert_eq!(out[0], 1000);
        let e1: i64 = out.iter().map(|&s| i64::from(s).abs()).sum();
        for _ in 0..Plc::MAX_REPEATS {
            out.clear();
            plc.conceal(160, &mut out);
        }
        assert!(out.iter().all(|&s| s == 0));
        assert!(e1 > 100_000);
        plc.good(&frame);
        out.clear();
        plc.conceal(160, &mut out);
        assert_eq!(out[0], 1000, "a good frame restarts the fade");
    }
}
