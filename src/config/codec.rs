//! The codec names of `[sip] codecs`: the plain enum lives here, below every
//! feature, so the `[sip]` settings need not import `media/`
//! (tests/layers.rs). Its RTP facts (clock, payload type, rates) stay with
//! the codecs in `media/audio_codec.rs`, as a second `impl` block.

/// A codec of the plain RTP path; its config name is the lower-case
/// variant (`opus`, `g722`, `pcmu`, `pcma`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioCodec {
    Opus,
    G722,
    Pcmu,
    Pcma,
}

impl AudioCodec {
    /// Every codec, in the default preference order.
    pub const ALL: [AudioCodec; 4] = [
        AudioCodec::Opus,
        AudioCodec::G722,
        AudioCodec::Pcmu,
        AudioCodec::Pcma,
    ];

    /// The name in `[sip] codecs`.
    pub fn config_name(self) -> &'static str {
        match self {
            AudioCodec::Opus => "opus",
            AudioCodec::G722 => "g722",
            AudioCodec::Pcmu => "pcmu",
            AudioCodec::Pcma => "pcma",
        }
    }

    pub fn from_config_name(name: &str) -> Option<AudioCodec> {
        AudioCodec::ALL
            .into_iter()
            .find(|c| c.config_name().eq_ignore_ascii_case(name))
    }
}
