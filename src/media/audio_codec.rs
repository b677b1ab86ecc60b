//! The codec seam of the RTP session: which codecs exist, their clocks and
//! sampling rates, and one encoder / decoder per call whatever the codec.
//!
//! | codec | RTP clock | PCM rate        | payload per 20 ms |
//! |-------|-----------|-----------------|-------------------|
//! | PCMU  | 8000      | 8000            | 160 octets        |
//! | PCMA  | 8000      | 8000            | 160 octets        |
//! | G.722 | 8000 (!)  | 16000           | 160 octets        |
//! | Opus  | 48000     | device's, ≤ 48k | ~60–120 octets    |
//!
//! Timestamps always count RTP clock units; buffers of audio count PCM
//! samples. [`AudioCodec::ticks`] converts.

use super::codec::{G711, PT_PCMA, PT_PCMU, Plc};
use super::g722::{self, G722Decoder, G722Encoder};
use super::opus_codec::{self, OpusDecoder, OpusEncoder, OpusError};

/// The dynamic payload type we give Opus in our SDP (what baresip and
/// browsers use too). The peer may pick another in its offer; we then
/// send with its number and accept both.
pub const OPUS_PT: u8 = 111;

// The enum and its config names live in `config/codec.rs` (below every
// feature); its RTP facts are here, with the codecs.
pub use crate::config::codec::AudioCodec;

impl AudioCodec {
    /// The encoding name of its SDP rtpmap (RFC 3551 table 4, RFC 7587).
    pub fn encoding_name(self) -> &'static str {
        match self {
            AudioCodec::Opus => "opus",
            AudioCodec::G722 => "G722",
            AudioCodec::Pcmu => "PCMU",
            AudioCodec::Pcma => "PCMA",
        }
    }

    /// The static payload type, `None` for a dynamic one.
    pub fn static_pt(self) -> Option<u8> {
        match self {
            AudioCodec::Opus => None,
            AudioCodec::G722 => Some(g722::PT),
            AudioCodec::Pcmu => Some(PT_PCMU),
            AudioCodec::Pcma => Some(PT_PCMA),
        }
    }

    /// The codec of a static payload type.
    pub fn from_static_pt(pt: u8) -> Option<AudioCodec> {
        AudioCodec::ALL
            .into_iter()
            .find(|c| c.static_pt() == Some(pt))
    }

    pub fn clock_rate(self) -> u32 {
        match self {
            AudioCodec::Opus => opus_codec::CLOCK_RATE,
            AudioCodec::G722 => g722::CLOCK_RATE,
            AudioCodec::Pcmu | AudioCodec::Pcma => 8000,
        }
    }

    /// The rtpmap's channel count: RFC 7587 §7 always writes `opus/48000/2`
    /// (we send mono; the decoder may be asked for either).
    pub fn sdp_channels(self) -> Option<u8> {
        match self {
            AudioCodec::Opus => Some(2),
            _ => None,
        }
    }

    /// Our fmtp parameters (RFC 7587 §6.1): we decode FEC, send mono.
    pub fn fmtp(self) -> Option<&'static str> {
        match self {
            AudioCodec::Opus => Some("minptime=10;useinbandfec=1"),
            _ => None,
        }
    }

    /// The rate the encoder and decoder run at, for a device at
    /// `device_rate`: fixed for G.711 and G.722; Opus takes the device's
    /// rate when libopus can (no resampling then), else 48 kHz.
    pub fn pcm_rate(self, device_rate: u32) -> u32 {
        match self {
            AudioCodec::Opus if opus_codec::PCM_RATES.contains(&device_rate) => device_rate,
            AudioCodec::Opus => opus_codec::CLOCK_RATE,
            AudioCodec::G722 => g722::PCM_RATE,
            AudioCodec::Pcmu | AudioCodec::Pcma => 8000,
        }
    }

    /// The device rate to open for this codec (no resampling). Opus is
    /// coded wideband (16 kHz, the same voice band as G.722): a call
    /// console gains nothing audible from 48 kHz, and the encoder costs
    /// about a third less (`cpu_per_codec` in tests/audio_bench.rs). The
    /// RTP clock stays 48 kHz (RFC 7587 §4.1).
    pub fn preferred_device_rate(self) -> u32 {
        match self {
            AudioCodec::Opus => opus_codec::VOICE_RATE,
            AudioCodec::G722 => g722::PCM_RATE,
            AudioCodec::Pcmu | AudioCodec::Pcma => 8000,
        }
    }

    /// RTP clock units for `pcm_samples` at `pcm_rate`.
    pub fn ticks(self, pcm_samples: usize, pcm_rate: u32) -> u32 {
        (pcm_samples as u64 * u64::from(self.clock_rate()) / u64::from(pcm_rate)) as u32
    }
}

impl std::fmt::Display for AudioCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.encoding_name())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error(transparent)]
    Opus(#[from] OpusError),
}

/// One call's encoder.
pub enum Encoder {
    G711(G711),
    G722(Box<G722Encoder>),
    Opus(Box<OpusEncoder>),
}

impl Encoder {
    pub fn new(codec: AudioCodec, pcm_rate: u32) -> Result<Encoder, CodecError> {
        Ok(match codec {
            AudioCodec::Pcmu => Encoder::G711(G711::Ulaw),
            AudioCodec::Pcma => Encoder::G711(G711::Alaw),
            AudioCodec::G722 => Encoder::G722(Box::default()),
            AudioCodec::Opus => Encoder::Opus(Box::new(OpusEncoder::new(pcm_rate)?)),
        })
    }

    /// Appends the payload for one frame of PCM.
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        match self {
            Encoder::G711(law) => law.encode(pcm, out),
            Encoder::G722(e) => e.encode(pcm, out),
            Encoder::Opus(e) => e.encode(pcm, out)?,
        }
        Ok(())
    }
}

/// One call's decoder, with the codec's loss concealment.
pub enum Decoder {
    /// G.711 decodes either law (the payload type says which), as peers
    /// sometimes switch without a re-INVITE.
    G711 {
        plc: Plc,
    },
    G722 {
        dec: Box<G722Decoder>,
        plc: Plc,
    },
    Opus(Box<OpusDecoder>),
}

impl Decoder {
    pub fn new(codec: AudioCodec, pcm_rate: u32) -> Result<Decoder, CodecError> {
        Ok(match codec {
            AudioCodec::Pcmu | AudioCodec::Pcma => Decoder::G711 {
                plc: Plc::default(),
            },
            AudioCodec::G722 => Decoder::G722 {
                dec: Box::default(),
                plc: Plc::default(),
            },
            AudioCodec::Opus => Decoder::Opus(Box::new(OpusDecoder::new(pcm_rate)?)),
        })
    }

    /// A payload's duration in RTP clock units (for the jitter buffer).
    pub fn clock_samples(&self, payload: &[u8]) -> u32 {
        match self {
            // One octet per 8 kHz tick for both (G.722: two 16 kHz samples).
            Decoder::G711 { .. } | Decoder::G722 { .. } => payload.len() as u32,
            Decoder::Opus(_) => OpusDecoder::clock_samples(payload),
        }
    }

    /// Appends the decoded payload of payload type `pt` to `out`.
    pub fn decode(&mut self, pt: u8, payload: &[u8], out: &mut Vec<i16>) {
        let at = out.len();
        match self {
            Decoder::G711 { plc } => {
                let law = G711::from_pt(pt).unwrap_or(G711::Ulaw);
                law.decode(payload, out);
                plc.good(&out[at..]);
            }
            Decoder::G722 { dec, plc } => {
                dec.decode(payload, out);
                plc.good(&out[at..]);
            }
            Decoder::Opus(d) => {
                if let Err(e) = d.decode(payload, out) {
                    tracing::debug!(error = %e, "undecodable Opus packet");
                }
            }
        }
    }

    /// Appends `samples` of concealment for a lost packet; `next` is the
    /// following packet when it is already here (Opus recovers the lost
    /// one from its in-band FEC).
    pub fn conceal(&mut self, samples: usize, next: Option<&[u8]>, out: &mut Vec<i16>) {
        match self {
            Decoder::G711 { plc } | Decoder::G722 { plc, .. } => plc.conceal(samples, out),
            Decoder::Opus(d) => d.conceal(samples, next, out),
        }
    }

    /// A pause in the stream: concealment has nothing to extend.
    pub fn reset(&mut self) {
        match self {
            Decoder::G711 { plc } => plc.reset(),
            Decoder::G722 { dec, plc } => {
                dec.reset();
                plc.reset();
            }
            Decoder::Opus(d) => d.reset(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tone;

    #[test]
    fn names_rates_and_timestamps() {
        assert_eq!(AudioCodec::from_config_name("OPUS"), Some(AudioCodec::Opus));
        assert_eq!(AudioCodec::from_config_name("g729"), None);
        assert_eq!(AudioCodec::from_static_pt(9), Some(AudioCodec::G722));
        assert_eq!(AudioCodec::from_static_pt(111), None);
        // 20 ms: G.722 is 320 samples but 160 ticks (RFC 3551 §4.5.2).
        assert_eq!(AudioCodec::G722.ticks(320, 16_000), 160);
        assert_eq!(AudioCodec::Opus.ticks(960, 48_000), 960);
        assert_eq!(AudioCodec::Opus.ticks(160, 8_000), 960);
        assert_eq!(AudioCodec::Pcmu.ticks(160, 8_000), 160);
        assert_eq!(AudioCodec::Opus.pcm_rate(16_000), 16_000);
        assert_eq!(AudioCodec::Opus.pcm_rate(44_100), 48_000);
        assert_eq!(AudioCodec::G722.pcm_rate(8_000), 16_000);
    }

    #[test]
    fn every_codec_carries_a_tone_through_the_seam() {
        for codec in AudioCodec::ALL {
            let rate = codec.preferred_device_rate();
            let frame = rate as usize / 50;
            let mut enc = Encoder::new(codec, rate).unwrap();
            let mut dec = Decoder::new(codec, rate).unwrap();
            let pcm = tone::sine(1000.0, 0.5, rate, 1000);
            let mut out = Vec::new();
            for f in pcm.chunks(frame) {
                let mut p = Vec::new();
                enc.encode(f, &mut p).unwrap();
                assert_eq!(dec.clock_samples(&p), codec.ticks(frame, rate), "{codec}");
                dec.decode(codec.static_pt().unwrap_or(111), &p, &mut out);
            }
            assert_eq!(out.len(), pcm.len(), "{codec}");
            let d = tone::detect_tone(&out[rate as usize / 2..], rate, 200.0, 3000.0);
            assert!((d.freq - 1000.0).abs() < 5.0, "{codec}: {d:?}");
            // A lost frame is concealed with the tone, not silence.
            let mut c = Vec::new();
            dec.conceal(frame, None, &mut c);
            assert_eq!(c.len(), frame);
            // rms is relative to full scale; the tone's is 0.35.
            assert!(
                tone::rms(&c) > 0.1,
                "{codec}: concealment is {}",
                tone::rms(&c)
            );
        }
    }
}
