//! ITU-T G.722 at 64 kbit/s (mode 1): sub-band ADPCM, written from the
//! algorithm of the Recommendation (§3 encoder, §4 decoder, §6 blocks).
//!
//! ```text
//!   16 kHz ─▶ transmit QMF ─▶ low band  (8 kHz) ─▶ 6-bit ADPCM ─┐
//!                         └▶ high band (8 kHz) ─▶ 2-bit ADPCM ─┴▶ one octet per pair of samples
//! ```
//!
//! Each band runs the same adaptive predictor (2 poles, 6 zeros, §6.2
//! blocks 4L/4H) on the *embedded* 4-bit (low) or 2-bit (high) quantized
//! difference, so the decoder tracks the encoder exactly. Samples are
//! 16-bit: a full-scale input fills the ADPCM's ±16384 sub-band range.
//!
//! RFC 3551 §4.5.2: the RTP clock of G.722 is 8000 Hz although it samples
//! at 16 kHz, so one octet (two samples) is one timestamp unit.

/// The sampling rate of G.722's audio.
pub const PCM_RATE: u32 = 16_000;
/// Its RTP clock (RFC 3551 §4.5.2, an historical error kept for interop).
pub const CLOCK_RATE: u32 = 8_000;
/// Static payload type (RFC 3551 table 4).
pub const PT: u8 = 9;

/// QMF coefficients h(0)..h(23) (Table 11/G.722), symmetric.
const QMF: [i32; 24] = [
    3, -11, -11, 53, 12, -156, 32, 362, -210, -805, 951, 3876, 3876, 951, -805, -210, 362, 32,
    -156, 12, 53, -11, -11, 3,
];

/// Low-band quantizer decision levels, in units of det/4096 (Table 6).
const Q6: [i32; 31] = [
    0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940,
    1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0,
];
/// 6-bit codes of the intervals of a negative / positive difference.
const ILN: [i32; 31] = [
    0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11,
    10, 9, 8, 7, 6, 5, 4,
];
const ILP: [i32; 31] = [
    0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39,
    38, 37, 36, 35, 34, 33, 32,
];
/// 6-bit inverse quantizer (Table 7): the decoder's low-band output.
const QM6: [i32; 64] = [
    -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232,
    -9360, -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776,
    -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280,
    11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776,
    2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
];
/// 4-bit inverse quantizer (Table 7): the low band's predictor input.
const QM4: [i32; 16] = [
    0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584,
    1200, 0,
];
/// 4-bit code to magnitude index, and the log scale factor steps (Table 8).
const RL42: [usize; 16] = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
const WL: [i32; 8] = [-60, -30, 58, 172, 334, 538, 1198, 3042];
/// 2^(i/32) · 2048 (Table 10), the scale factor's mantissa.
const ILB: [i32; 32] = [
    2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
    2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];
/// High band: codes, inverse quantizer, log scale steps (Tables 9, 8).
const IHN: [i32; 3] = [0, 1, 0];
const IHP: [i32; 3] = [0, 3, 2];
const QM2: [i32; 4] = [-7408, -1616, 7408, 1616];
const RH2: [usize; 4] = [2, 1, 2, 1];
const WH: [i32; 3] = [0, -214, 798];

fn sat(x: i32) -> i32 {
    x.clamp(i32::from(i16::MIN), i32::from(i16::MAX))
}

/// Is the sign (bit 15 of the 16-bit value) of `a` different from `b`'s?
fn signs_differ(a: i32, b: i32) -> bool {
    (a ^ b) & 0x8000 != 0
}

/// One sub-band's ADPCM state (§6.2).
#[derive(Debug, Clone)]
struct Band {
    /// Signal estimate and its zero-section part.
    s: i32,
    sz: i32,
    /// Reconstructed signal r, partial reconstruction p, pole coefficients a.
    r: [i32; 3],
    p: [i32; 3],
    a: [i32; 3],
    /// Quantized differences d and zero coefficients b.
    d: [i32; 7],
    b: [i32; 7],
    /// Log scale factor and scale factor.
    nb: i32,
    det: i32,
}

impl Band {
    fn new(det: i32) -> Band {
        Band {
            s: 0,
            sz: 0,
            r: [0; 3],
            p: [0; 3],
            a: [0; 3],
            d: [0; 7],
            b: [0; 7],
            nb: 0,
            det,
        }
    }

    /// LOGSCL + SCALEL/SCALEH (blocks 3L/3H): adapt the scale factor.
    fn adapt_scale(&mut self, step: i32, max_nb: i32, shift: i32) {
        self.nb = (((self.nb * 127) >> 7) + step).clamp(0, max_nb);
        let mantissa = ILB[((self.nb >> 6) & 31) as usize];
        let e = shift - (self.nb >> 11);
        let v = if e < 0 { mantissa << -e } else { mantissa >> e };
        self.det = v << 2;
    }

    /// Block 4: reconstruct, adapt the predictor, predict the next sample.
    fn predict(&mut self, d: i32) {
        // RECONS, PARREC
        self.d[0] = d;
        self.r[0] = sat(self.s + d);
        self.p[0] = sat(self.sz + d);
        let p = self.p[0];
        // UPPOL2
        let wd1 = sat(self.a[1] << 2);
        let wd2 = if signs_differ(p, self.p[1]) {
            wd1
        } else {
            -wd1
        }
        .min(32767);
        let mut a2 = (wd2 >> 7)
            + if signs_differ(p, self.p[2]) {
                -128
            } else {
                128
            };
        a2 += (self.a[2] * 32512) >> 15;
        let a2 = a2.clamp(-12288, 12288);
        // UPPOL1
        let mut a1 = if signs_differ(p, self.p[1]) {
            -192
        } else {
            192
        };
        a1 = sat(a1 + ((self.a[1] * 32640) >> 15));
        let lim = sat(15360 - a2);
        let a1 = a1.clamp(-lim, lim);
        // UPZERO (each zero coefficient against its own delayed d)
        let step = if d == 0 { 0 } else { 128 };
        for (b, &di) in self.b[1..].iter_mut().zip(&self.d[1..]) {
            let wd = if signs_differ(d, di) { -step } else { step };
            *b = sat(wd + ((*b * 32640) >> 15));
        }
        // DELAYA
        self.d.copy_within(0..6, 1);
        for i in (1..3).rev() {
            self.r[i] = self.r[i - 1];
            self.p[i] = self.p[i - 1];
        }
        self.a[1] = a1;
        self.a[2] = a2;
        // FILTEP
        let wd1 = (self.a[1] * sat(self.r[1] + self.r[1])) >> 15;
        let wd2 = (self.a[2] * sat(self.r[2] + self.r[2])) >> 15;
        let sp = sat(wd1 + wd2);
        // FILTEZ
        let mut sz = 0;
        for i in (1..7).rev() {
            sz += (self.b[i] * sat(self.d[i] + self.d[i])) >> 15;
        }
        self.sz = sat(sz);
        // PREDIC
        self.s = sat(sp + self.sz);
    }
}

/// The transmit QMF's 24-sample history; `x[23]` is the newest sample.
#[derive(Debug, Clone, Default)]
struct Qmf {
    x: [i32; 24],
}

impl Qmf {
    fn push2(&mut self, older: i32, newer: i32) {
        self.x.copy_within(2.., 0);
        self.x[22] = older;
        self.x[23] = newer;
    }

    /// (xA, xB) of §3.2: xA = Σ h(2i)·x(j−2i), xB = Σ h(2i+1)·x(j−2i−1).
    fn sums(&self) -> (i32, i32) {
        let mut xa = 0;
        let mut xb = 0;
        for i in 0..12 {
            xa += QMF[2 * i] * self.x[23 - 2 * i];
            xb += QMF[2 * i + 1] * self.x[22 - 2 * i];
        }
        (xa, xb)
    }
}

#[derive(Debug, Clone)]
pub struct G722Encoder {
    qmf: Qmf,
    low: Band,
    high: Band,
}

impl Default for G722Encoder {
    fn default() -> Self {
        G722Encoder {
            qmf: Qmf::default(),
            low: Band::new(32),
            high: Band::new(8),
        }
    }
}

impl G722Encoder {
    /// Appends one octet per two samples of 16 kHz `pcm` (an odd last
    /// sample is dropped: frames are always even).
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) {
        out.reserve(pcm.len() / 2);
        for pair in pcm.chunks_exact(2) {
            self.qmf.push2(i32::from(pair[0]), i32::from(pair[1]));
            let (xa, xb) = self.qmf.sums();
            let xl = (xa + xb) >> 14;
            let xh = (xa - xb) >> 14;
            let il = self.encode_low(xl);
            let ih = self.encode_high(xh);
            out.push(((ih << 6) | il) as u8);
        }
    }

    fn encode_low(&mut self, xl: i32) -> i32 {
        let b = &mut self.low;
        // SUBTRA, QUANTL (block 1L)
        let el = sat(xl - b.s);
        let wd = if el >= 0 { el } else { -(el + 1) };
        let mut i = 1;
        while i < 30 && wd >= (Q6[i] * b.det) >> 12 {
            i += 1;
        }
        let il = if el < 0 { ILN[i] } else { ILP[i] };
        // INVQAL (block 2L) on the embedded 4 bits, then adapt.
        let ril = (il >> 2) as usize;
        let dl = (b.det * QM4[ril]) >> 15;
        b.adapt_scale(WL[RL42[ril]], 18432, 8);
        b.predict(dl);
        il
    }

    fn encode_high(&mut self, xh: i32) -> i32 {
        let b = &mut self.high;
        let eh = sat(xh - b.s);
        let wd = if eh >= 0 { eh } else { -(eh + 1) };
        let mih = if wd >= (564 * b.det) >> 12 { 2 } else { 1 };
        let ih = if eh < 0 { IHN[mih] } else { IHP[mih] };
        let dh = (b.det * QM2[ih as usize]) >> 15;
        b.adapt_scale(WH[RH2[ih as usize]], 22528, 10);
        b.predict(dh);
        ih
    }

    pub fn reset(&mut self) {
        *self = G722Encoder::default();
    }
}

#[derive(Debug, Clone)]
pub struct G722Decoder {
    /// Receive QMF histories of rl − rh and rl + rh, newest first.
    xd: [i32; 12],
    xs: [i32; 12],
    low: Band,
    high: Band,
}

impl Default for G722Decoder {
    fn default() -> Self {
        G722Decoder {
            xd: [0; 12],
            xs: [0; 12],
            low: Band::new(32),
            high: Band::new(8),
        }
    }
}

impl G722Decoder {
    /// Appends two 16 kHz samples per octet to `out`.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) {
        out.reserve(payload.len() * 2);
        for &code in payload {
            let il = usize::from(code & 0x3F);
            let ih = usize::from(code >> 6);
            // Low band: the 6-bit reconstruction is the output (INVQBL),
            // the embedded 4 bits drive the predictor (INVQAL).
            let b = &mut self.low;
            let rl = (b.s + ((b.det * QM6[il]) >> 15)).clamp(-16384, 16383);
            let dl = (b.det * QM4[il >> 2]) >> 15;
            b.adapt_scale(WL[RL42[il >> 2]], 18432, 8);
            b.predict(dl);
            // High band.
            let b = &mut self.high;
            let dh = (b.det * QM2[ih]) >> 15;
            let rh = (dh + b.s).clamp(-16384, 16383);
            b.adapt_scale(WH[RH2[ih]], 22528, 10);
            b.predict(dh);
            // Receive QMF (§4.4): xout(j) = 2·Σ h(2i)·xd(i),
            // xout(j+1) = 2·Σ h(2i+1)·xs(i), xd = rl − rh, xs = rl + rh,
            // i = 0 the newest.
            self.xd.copy_within(..11, 1);
            self.xs.copy_within(..11, 1);
            self.xd[0] = rl - rh;
            self.xs[0] = rl + rh;
            let (mut x0, mut x1) = (0, 0);
            for i in 0..12 {
                x0 += QMF[2 * i] * self.xd[i];
                x1 += QMF[2 * i + 1] * self.xs[i];
            }
            out.push(sat(x0 >> 11) as i16);
            out.push(sat(x1 >> 11) as i16);
        }
    }

    pub fn reset(&mut self) {
        *self = G722Decoder::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tone;

    fn round_trip(pcm: &[i16]) -> Vec<i16> {
        let mut enc = G722Encoder::default();
        let mut dec = G722Decoder::default();
        let mut bytes = Vec::new();
        enc.encode(pcm, &mut bytes);
        assert_eq!(bytes.len(), pcm.len() / 2);
        let mut out = Vec::new();
        dec.decode(&bytes, &mut out);
        out
    }

    #[test]
    fn tones_come_back_at_their_frequency_and_level() {
        // Low band (300, 1000, 3000 Hz) and high band (5000, 6500 Hz).
        for (freq, level) in [
            (300.0, 0.5),
            (1000.0, 0.5),
            (1000.0, 0.05),
            (3000.0, 0.3),
            (5000.0, 0.3),
            (6500.0, 0.2),
        ] {
            let pcm = tone::sine(freq, level, PCM_RATE, 1000);
            let out = round_trip(&pcm);
            assert_eq!(out.len(), pcm.len());
            let tail = &out[4000..];
            let d = tone::detect_tone(tail, PCM_RATE, 100.0, 7800.0);
            assert!(
                (d.freq - freq).abs() < 10.0 && d.purity > 0.8,
                "{freq} Hz at {level}: found {d:?}"
            );
            let want = tone::dbfs(level);
            let got = tone::dbfs(tone::goertzel_amplitude(tail, PCM_RATE, freq));
            assert!(
                (got - want).abs() < 1.5,
                "{freq} Hz: {got:.1} dBFS, sent {want:.1}"
            );
        }
    }

    #[test]
    fn the_codec_delays_but_does_not_distort() {
        // The two QMFs delay by 22 samples; past that, a 1 kHz tone comes
        // back with the signal-to-noise ratio of a 64 kbit/s ADPCM (~47 dB
        // here); a QMF or predictor mistake leaves single digits.
        let pcm = tone::sine(1000.0, 0.5, PCM_RATE, 500);
        let out = round_trip(&pcm);
        let delay = 22;
        let (mut sig, mut noise) = (0.0f64, 0.0f64);
        for i in 2000..pcm.len() {
            let s = f64::from(pcm[i - delay]);
            sig += s * s;
            noise += (s - f64::from(out[i])).powi(2);
        }
        let snr = 10.0 * (sig / noise).log10();
        assert!(snr > 35.0, "SNR {snr:.1} dB");
    }

    #[test]
    fn silence_stays_silent_and_reset_restores_the_initial_state() {
        let out = round_trip(&[0; 3200]);
        assert!(out.iter().all(|s| s.abs() < 8), "{:?}", &out[..20]);
        let mut enc = G722Encoder::default();
        let mut dec = G722Decoder::default();
        let tone = tone::sine(1000.0, 0.5, PCM_RATE, 100);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        enc.encode(&tone, &mut a);
        dec.decode(&a, &mut Vec::new());
        enc.reset();
        dec.reset();
        a.clear();
        enc.encode(&tone, &mut a);
        G722Encoder::default().encode(&tone, &mut b);
        assert_eq!(a, b, "a reset encoder encodes like a new one");
        let (mut x, mut y) = (Vec::new(), Vec::new());
        dec.decode(&a, &mut x);
        G722Decoder::default().decode(&a, &mut y);
        assert_eq!(x, y, "a reset decoder decodes like a new one");
    }
}
