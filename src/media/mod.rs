//! Media for the plain SIP path: G.711, RTP/RTCP, RFC 4733 DTMF, an
//! adaptive jitter buffer, synthesized tones, and the audio-device seam.
//!
//! The pieces that decide anything (codec, rtp, rtcp, dtmf, jitter, tone)
//! are sans-IO: they take `now` and bytes and return bytes and decisions.
//! Only [`session`] owns a socket and a clock.

pub mod alert;
pub mod alert_player;
pub mod audio_codec;
pub mod bridge;
pub mod codec;
pub mod config;
pub mod cpal_device;
pub mod device;
pub mod devices;
pub mod dtmf;
pub mod g722;
pub mod jitter;
pub mod mixer;
pub mod opus_codec;
pub mod phase;
pub mod playout;
pub mod quality;
pub mod queue_trim;
pub mod quiet;
pub mod resample;
pub mod rtcp;
pub mod rtp;
pub mod rx_stamp;
pub mod session;
pub mod tone;
pub mod tsm;

pub use config::{AudioConfig, DeviceKind};
pub use device::{AudioDevice, DeviceError, FileDevice, NullDevice, Playback, RecordingStopped};
pub use session::{
    MediaError, MediaEvent, MediaHandle, MediaParams, MediaReport, MediaSession, RtcpMode,
};
