//! The `[audio]` section: which device a call's audio uses. The plain
//! settings live here, below every feature, so `config/` need not import
//! `media/` (tests/layers.rs); opening the devices stays in
//! `media/config.rs`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

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
