//! Opus for the plain RTP path (RFC 6716, RTP payload RFC 7587): mono,
//! in-band FEC on, DTX off, the decoder's own loss concealment.
//!
//! RFC 7587 §4.1: the RTP clock is always 48 kHz whatever the coded
//! bandwidth, so a 20 ms packet advances the timestamp by 960. The
//! encoder and decoder themselves may run at any rate libopus accepts
//! (8, 12, 16, 24 or 48 kHz); we run them at the device's rate when it is
//! one of those, which saves a resampling stage.

/// The RTP clock of Opus (RFC 7587 §4.1).
pub const CLOCK_RATE: u32 = 48_000;

/// Rates libopus encodes and decodes at.
/// The rate we code voice at (wideband: SILK-only, 50–7000 Hz).
pub const VOICE_RATE: u32 = 16_000;

pub const PCM_RATES: [u32; 5] = [8_000, 12_000, 16_000, 24_000, 48_000];

/// The largest packet we produce (libopus' recommended buffer; 20 ms of
/// voice at the default bit rate is ~60–120 bytes).
const MAX_PACKET: usize = 1500;

#[derive(Debug, thiserror::Error)]
#[error("opus: {0}")]
pub struct OpusError(String);

impl From<opus::Error> for OpusError {
    fn from(e: opus::Error) -> Self {
        OpusError(e.to_string())
    }
}

pub struct OpusEncoder {
    enc: opus::Encoder,
    buf: Vec<u8>,
}

/// The encoder's knobs, chosen by measurement (`cargo bench --bench
/// opus_settings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusSettings {
    /// libopus complexity, 0–10.
    pub complexity: i32,
    /// In-band FEC (with a 10 % expected loss), RFC 6716 §2.1.7.
    pub fec: bool,
}

impl Default for OpusSettings {
    fn default() -> Self {
        OpusSettings {
            complexity: COMPLEXITY,
            fec: true,
        }
    }
}

/// Complexity 1 of 10: from 2 up, SILK encodes with its delayed-decision
/// noise-shaping quantiser (`silk_NSQ_del_dec`, 28 % of an Opus call's CPU
/// at 5), which buys a waveform SNR step a headset voice does not carry.
/// Measured (`cargo bench --profile measure --bench opus_settings`, 16 kHz,
/// FEC on): the encoder costs 2.6× less than at 5, the speech-like signal
/// loses 0.2 dB of SNR (9.8 → 9.6 dB) and a 770 Hz tone stays 99.9 % pure;
/// packets are 2 % smaller. (Libopus' default is 9; 5 was our setting
/// before.)
pub const COMPLEXITY: i32 = 1;

impl OpusEncoder {
    /// `rate` must be one of [`PCM_RATES`].
    pub fn new(rate: u32) -> Result<OpusEncoder, OpusError> {
        OpusEncoder::with_settings(rate, OpusSettings::default())
    }

    pub fn with_settings(rate: u32, s: OpusSettings) -> Result<OpusEncoder, OpusError> {
        let mut enc = opus::Encoder::new(rate, opus::Channels::Mono, opus::Application::Voip)?;
        // In-band FEC (RFC 6716 §2.1.7) only goes out when the encoder
        // expects loss: tell it a modest rate, so each packet carries a
        // low-bit-rate copy of the previous frame for the receiver's FEC.
        enc.set_inband_fec(s.fec)?;
        enc.set_packet_loss_perc(if s.fec { 10 } else { 0 })?;
        // DTX would stop packets in silence; the jitter buffer and NAT
        // bindings prefer a steady stream (off is also libopus' default).
        enc.set_dtx(false)?;
        enc.set_complexity(s.complexity)?;
        enc.set_signal(opus::Signal::Voice)?;
        enc.set_max_bandwidth(opus::Bandwidth::Wideband)?;
        Ok(OpusEncoder {
            enc,
            buf: vec![0; MAX_PACKET],
        })
    }

    /// The encoder's complexity as libopus reports it.
    pub fn complexity(&mut self) -> Result<i32, OpusError> {
        Ok(self.enc.get_complexity()?)
    }

    /// The encoder's look-ahead in samples at its rate (algorithmic delay
    /// on top of the frame).
    pub fn lookahead(&mut self) -> Result<u32, OpusError> {
        Ok(self.enc.get_lookahead()?.max(0) as u32)
    }

    /// Appends one packet for `pcm` (2.5–60 ms of audio) to `out`.
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), OpusError> {
        let n = self.enc.encode(pcm, &mut self.buf)?;
        out.extend_from_slice(&self.buf[..n]);
        Ok(())
    }

    pub fn reset(&mut self) {
        let _ = self.enc.reset_state();
    }
}

pub struct OpusDecoder {
    dec: opus::Decoder,
    rate: u32,
    buf: Vec<i16>,
}

impl OpusDecoder {
    /// `rate` must be one of [`PCM_RATES`].
    pub fn new(rate: u32) -> Result<OpusDecoder, OpusError> {
        Ok(OpusDecoder {
            dec: opus::Decoder::new(rate, opus::Channels::Mono)?,
            rate,
            // 120 ms, the longest Opus packet.
            buf: vec![0; rate as usize * 120 / 1000],
        })
    }

    /// The packet's duration in RTP clock units (48 kHz), for the jitter
    /// buffer; 0 for a packet that does not parse.
    pub fn clock_samples(payload: &[u8]) -> u32 {
        opus::packet::get_nb_samples(payload, CLOCK_RATE).map_or(0, |n| n as u32)
    }

    /// Appends the decoded packet to `out`.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), OpusError> {
        let n = self.dec.decode(payload, &mut self.buf, false)?;
        out.extend_from_slice(&self.buf[..n]);
        Ok(())
    }

    /// Appends `samples` (at the decoder's rate) in place of a lost packet:
    /// recovered from the next packet's in-band FEC when we have it
    /// (RFC 6716 §4.2.8), otherwise the decoder's concealment.
    pub fn conceal(&mut self, samples: usize, next: Option<&[u8]>, out: &mut Vec<i16>) {
        let want = samples.min(self.buf.len());
        // FEC and PLC must be asked for a whole number of 2.5 ms.
        let quantum = self.rate as usize / 400;
        let want = want - want % quantum.max(1);
        let got = match next {
            Some(p) => self.dec.decode(p, &mut self.buf[..want], true),
            None => self.dec.decode(&[], &mut self.buf[..want], false),
        };
        let n = got.unwrap_or(0);
        out.extend_from_slice(&self.buf[..n]);
        out.resize(out.len() + samples - n, 0);
    }

    pub fn reset(&mut self) {
        let _ = self.dec.reset_state();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tone;

    fn frames(rate: u32, ms: u32) -> Vec<Vec<i16>> {
        let frame = (rate / 50) as usize;
        tone::sine(1000.0, 0.5, rate, ms)
            .chunks(frame)
            .map(<[i16]>::to_vec)
            .collect()
    }

    /// A packet-by-packet receiver with a loss pattern: `lost[i]` drops packet i.
    fn round_trip(rate: u32, lost: &[bool], use_fec: bool) -> Vec<i16> {
        let mut enc = OpusEncoder::new(rate).unwrap();
        let mut dec = OpusDecoder::new(rate).unwrap();
        let packets: Vec<Vec<u8>> = frames(rate, 2000)
            .iter()
            .map(|f| {
                let mut p = Vec::new();
                enc.encode(f, &mut p).unwrap();
                p
            })
            .collect();
        let frame = (rate / 50) as usize;
        let mut out = Vec::new();
        for (i, p) in packets.iter().enumerate() {
            assert_eq!(OpusDecoder::clock_samples(p), 960, "20 ms at 48 kHz");
            if lost.get(i).copied().unwrap_or(false) {
                let next = packets.get(i + 1).filter(|_| use_fec);
                dec.conceal(frame, next.map(Vec::as_slice), &mut out);
            } else {
                dec.decode(p, &mut out).unwrap();
            }
        }
        out
    }

    fn tone_level(x: &[i16], rate: u32) -> (f64, f64) {
        let d = tone::detect_tone(x, rate, 200.0, 3000.0);
        (
            d.freq,
            tone::dbfs(tone::goertzel_amplitude(x, rate, 1000.0)),
        )
    }

    #[test]
    fn a_tone_survives_the_round_trip_at_48k_and_16k() {
        for rate in [48_000, 16_000] {
            let out = round_trip(rate, &[], false);
            assert_eq!(out.len(), rate as usize * 2);
            // Skip the codec's start-up (look-ahead, first frames).
            let (f, level) = tone_level(&out[rate as usize / 2..], rate);
            assert!((f - 1000.0).abs() < 5.0, "{rate}: {f} Hz");
            // sine(…, 0.5) is -6 dBFS.
            assert!((level + 6.0).abs() < 1.5, "{rate}: {level} dBFS");
        }
    }

    #[test]
    fn loss_is_concealed_and_fec_recovers_better_than_plc() {
        let rate = 48_000;
        let clean = round_trip(rate, &[], false);
        // Every fifth packet lost, after the first second.
        let lost: Vec<bool> = (0..100).map(|i| i >= 50 && i % 5 == 0).collect();
        let plc = round_trip(rate, &lost, false);
        let fec = round_trip(rate, &lost, true);
        assert_eq!(plc.len(), clean.len());
        assert_eq!(fec.len(), clean.len());
        let frame = (rate / 50) as usize;
        let err = |x: &[i16]| -> f64 {
            lost.iter()
                .enumerate()
                .filter(|(_, l)| **l)
                .map(|(i, _)| {
                    let a = &x[i * frame..(i + 1) * frame];
                    let b = &clean[i * frame..(i + 1) * frame];
                    a.iter()
                        .zip(b)
                        .map(|(p, q)| (f64::from(*p) - f64::from(*q)).powi(2))
                        .sum::<f64>()
                })
                .sum()
        };
        // Concealed frames still carry the tone (PLC is not silence).
        for (i, _) in lost.iter().enumerate().filter(|(_, l)| **l) {
            let (f, level) = tone_level(&fec[i * frame..(i + 1) * frame], rate);
            assert!(
                (f - 1000.0).abs() < 30.0 && level > -12.0,
                "frame {i}: {f} Hz {level} dB"
            );
            let (_, level) = tone_level(&plc[i * frame..(i + 1) * frame], rate);
            assert!(level > -20.0, "PLC frame {i}: {level} dB");
        }
        assert!(
            err(&fec) < err(&plc),
            "FEC error {} must be below PLC error {}",
            err(&fec),
            err(&plc)
        );
    }

    #[test]
    fn the_encoder_runs_below_the_delayed_decision_quantiser() {
        let mut enc = OpusEncoder::new(16_000).unwrap();
        // libopus uses silk_NSQ_del_dec from complexity 2 up.
        assert_eq!(enc.complexity().unwrap(), 1);
        // The look-ahead a 20 ms packet adds (VoIP application): 6.5 ms.
        assert_eq!(enc.lookahead().unwrap(), 104);
    }

    /// What the cheaper encoder costs in quality, measured objectively
    /// against libopus' most thorough setting: the speech-like signal's
    /// waveform SNR and a tone's purity after a round trip.
    #[test]
    fn the_chosen_complexity_keeps_voice_and_tone_quality() {
        use crate::media::quality;
        let rate = 16_000;
        let frame = (rate / 50) as usize;
        let code = |complexity: i32, input: &[i16]| -> Vec<i16> {
            let s = OpusSettings {
                complexity,
                ..OpusSettings::default()
            };
            let mut enc = OpusEncoder::with_settings(rate, s).unwrap();
            let mut dec = OpusDecoder::new(rate).unwrap();
            let mut out = Vec::new();
            for f in input.chunks_exact(frame) {
                let mut p = Vec::new();
                enc.encode(f, &mut p).unwrap();
                dec.decode(&p, &mut out).unwrap();
            }
            out
        };
        let voice = quality::voice(rate, 4000);
        let skip = rate as usize / 2;
        let (lag, best) = quality::aligned_snr_db(&voice, &code(10, &voice), 300, skip);
        let (lag1, ours) = quality::aligned_snr_db(&voice, &code(COMPLEXITY, &voice), 300, skip);
        // The codec's delay is its look-ahead (6.5 ms = 104 samples).
        assert!((100..=108).contains(&lag) && lag1 == lag, "{lag} {lag1}");
        assert!(ours > 8.0, "voice SNR {ours:.1} dB");
        assert!(
            best - ours < 0.5,
            "voice SNR {ours:.1} dB vs {best:.1} dB at 10"
        );
        let t = tone::sine(770.0, 0.5, rate, 1000);
        let purity = quality::tone_purity(&code(COMPLEXITY, &t)[skip..], rate, 770.0);
        assert!(purity > 0.998, "tone purity {purity:.4}");
    }

    #[test]
    fn reset_clears_the_state() {
        let rate = 48_000;
        let mut enc = OpusEncoder::new(rate).unwrap();
        let mut dec = OpusDecoder::new(rate).unwrap();
        let mut p = Vec::new();
        for f in frames(rate, 200) {
            p.clear();
            enc.encode(&f, &mut p).unwrap();
            dec.decode(&p, &mut Vec::new()).unwrap();
        }
        dec.reset();
        // After a reset, concealment has no history to extend: silence.
        let mut out = Vec::new();
        dec.conceal(960, None, &mut out);
        assert!(out.iter().all(|s| s.abs() < 50), "{:?}", &out[..10]);
        enc.reset();
        p.clear();
        enc.encode(&vec![0; 960], &mut p).unwrap();
        assert!(!p.is_empty());
    }
}
