//! The `[audio]` section: which device a call's audio uses.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::alert::{Alert, Sink};
use super::{AudioDevice, DeviceError, FileDevice, NullDevice, Playback};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// Silence in, nothing out: signalling-only use, or no sound card.
    #[default]
    Null,
    /// A WAV file as the microphone and a WAV recording of what is heard
    /// (tests, benchmarks, headless bots), paced by a 20 ms clock.
    File,
    /// A real sound card through cpal (JACK when `JACK_DEFAULT_SERVER` is set).
    Cpal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AudioConfig {
    #[serde(default)]
    pub device: DeviceKind,
    /// `file`: the WAV played as the microphone (looped).
    #[serde(default)]
    pub mic_wav: Option<PathBuf>,
    /// `file`: a directory where each call's received audio is written as
    /// `call-<n>-heard.wav`.
    #[serde(default)]
    pub record_dir: Option<PathBuf>,
    /// `cpal`: the input device's name (default: the host's default input).
    #[serde(default)]
    pub input: Option<String>,
    /// `cpal`: the output device's name (default: the host's default output).
    #[serde(default)]
    pub output: Option<String>,
    /// `cpal`: where incoming calls ring (an output device's name; default:
    /// the output device). `file`: rings are written to
    /// `<record_dir>/ring-<n>.wav`.
    #[serde(default)]
    pub ring: Option<String>,
}

impl AudioConfig {
    /// A device for call number `n`, at the codec's `rate`.
    pub fn open(&self, n: u64, rate: u32) -> Result<Box<dyn AudioDevice>, DeviceError> {
        match self.device {
            DeviceKind::Null => Ok(Box::new(NullDevice::new(rate))),
            DeviceKind::File => {
                let out = self
                    .record_dir
                    .as_ref()
                    .map(|d| d.join(format!("call-{n}-heard.wav")));
                let input = self.mic_wav.as_deref().map(|p| (p, Playback::Loop));
                Ok(Box::new(FileDevice::open(rate, input, out.as_deref())?))
            }
            DeviceKind::Cpal => Ok(Box::new(super::cpal_device::CpalDevice::open(
                rate,
                self.input.as_deref(),
                self.output.as_deref(),
            )?)),
        }
    }

    /// A speaker-only device for call-progress sound number `n` (ringtone,
    /// ringback, busy) at `rate`: the ring device for the ringtone, the
    /// output device for the others.
    pub fn open_alert(
        &self,
        alert: Alert,
        n: u64,
        rate: u32,
    ) -> Result<Box<dyn AudioDevice>, DeviceError> {
        match self.device {
            DeviceKind::Null => Ok(Box::new(NullDevice::new(rate))),
            DeviceKind::File => {
                let out = self
                    .record_dir
                    .as_ref()
                    .map(|d| d.join(format!("{}-{n}.wav", alert.stem())));
                Ok(Box::new(FileDevice::open(rate, None, out.as_deref())?))
            }
            DeviceKind::Cpal => {
                let name = match alert.sink() {
                    Sink::Ring => self.ring.as_deref().or(self.output.as_deref()),
                    Sink::Output => self.output.as_deref(),
                };
                Ok(Box::new(super::cpal_device::CpalDevice::open_output_only(
                    rate, name,
                )?))
            }
        }
    }
}
