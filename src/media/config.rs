//! The `[audio]` section: opening the device a call's audio uses. The
//! settings themselves live in `config/audio.rs` (below every feature).

use super::alert::{Alert, Sink};
use super::{AudioDevice, DeviceError, FileDevice, NullDevice, Playback};

pub use crate::config::audio::{AudioConfig, DeviceKind};

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
