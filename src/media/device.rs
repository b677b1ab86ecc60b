//! The audio-device seam: what the microphone says and what the speaker
//! plays, one frame at a time, at the device's sample rate.
//!
//! The session owns the clock: it calls [`AudioDevice::read`] and
//! [`AudioDevice::write`] once per 20 ms tick of a tokio interval. A file
//! or null device is therefore paced by that interval (there is no sound
//! card here, and ALSA's `null` PCM has no clock). A hardware device
//! buffers between its own callback clock and these calls.
//!
//! - [`FileDevice`]: a WAV (or samples) as the microphone, looped or once;
//!   a WAV recording everything played to the speaker.
//! - [`NullDevice`]: silence in, nothing out.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// A device failed (unplugged, file unwritable): the call goes on without it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DeviceError(pub String);

/// A recording that stopped while its device goes on: the agent is told
/// once; the call keeps its microphone and speaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingStopped {
    /// The file that could not grow.
    pub file: String,
    /// The file system is full (ENOSPC, or the user's quota).
    pub disk_full: bool,
    /// The OS's words, for the log.
    pub detail: String,
}

pub trait AudioDevice: Send {
    /// A short description for notices and logs.
    fn name(&self) -> String;
    /// Samples per second of the frames read and written (mono).
    fn sample_rate(&self) -> u32;
    /// Fill `frame` with the next microphone samples.
    fn read(&mut self, frame: &mut [i16]) -> Result<(), DeviceError>;
    /// Play `frame`.
    fn write(&mut self, frame: &[i16]) -> Result<(), DeviceError>;
    /// Flush and close (a WAV gets its final header). Called once, at the end.
    fn close(&mut self) -> Result<(), DeviceError> {
        Ok(())
    }
    /// A recording stopped since the last call (once per stop): its
    /// writer polls this after `write` and tells the agent.
    fn take_recording_stopped(&mut self) -> Option<RecordingStopped> {
        None
    }
}

/// Silence in, nothing out.
#[derive(Debug, Clone)]
pub struct NullDevice {
    rate: u32,
}

impl NullDevice {
    pub fn new(rate: u32) -> NullDevice {
        NullDevice { rate }
    }
}

impl AudioDevice for NullDevice {
    fn name(&self) -> String {
        "null".into()
    }
    fn sample_rate(&self) -> u32 {
        self.rate
    }
    fn read(&mut self, frame: &mut [i16]) -> Result<(), DeviceError> {
        frame.fill(0);
        Ok(())
    }
    fn write(&mut self, _frame: &[i16]) -> Result<(), DeviceError> {
        Ok(())
    }
}

/// Play the microphone file once (then silence) or loop it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Playback {
    Once,
    Loop,
}

/// WAV in as the microphone, WAV out recording the speaker.
pub struct FileDevice {
    rate: u32,
    input: Vec<i16>,
    pos: usize,
    playback: Playback,
    output: Option<(PathBuf, hound::WavWriter<BufWriter<File>>)>,
    label: String,
    /// The recording failed: not yet reported.
    stopped: Option<RecordingStopped>,
}

impl FileDevice {
    /// `input`: a WAV of any common format (mixed to mono, resampled to
    /// `rate`); `output`: where to record (16-bit mono at `rate`).
    pub fn open(
        rate: u32,
        input: Option<(&Path, Playback)>,
        output: Option<&Path>,
    ) -> Result<FileDevice, DeviceError> {
        let (samples, playback, in_label) = match input {
            Some((path, pb)) => (read_wav(path, rate)?, pb, path.display().to_string()),
            None => (Vec::new(), Playback::Once, "silence".into()),
        };
        let mut d = FileDevice::from_samples(rate, samples, playback, output)?;
        d.label = format!("file:{in_label}");
        Ok(d)
    }

    /// The microphone plays `samples` (at `rate`).
    pub fn from_samples(
        rate: u32,
        samples: Vec<i16>,
        playback: Playback,
        output: Option<&Path>,
    ) -> Result<FileDevice, DeviceError> {
        let output = match output {
            Some(p) => {
                let spec = hound::WavSpec {
                    channels: 1,
                    sample_rate: rate,
                    bits_per_sample: 16,
                    sample_format: hound::SampleFormat::Int,
                };
                let w = hound::WavWriter::create(p, spec)
                    .map_err(|e| DeviceError(format!("cannot record to {}: {e}", p.display())))?;
                Some((p.to_path_buf(), w))
            }
            None => None,
        };
        Ok(FileDevice {
            rate,
            input: samples,
            pos: 0,
            playback,
            output,
            label: "file:samples".into(),
            stopped: None,
        })
    }
}

impl AudioDevice for FileDevice {
    fn name(&self) -> String {
        match &self.output {
            Some((p, _)) => format!("{} -> {}", self.label, p.display()),
            None => self.label.clone(),
        }
    }

    fn sample_rate(&self) -> u32 {
        self.rate
    }

    fn read(&mut self, frame: &mut [i16]) -> Result<(), DeviceError> {
        for s in frame.iter_mut() {
            if self.pos >= self.input.len() {
                if self.playback == Playback::Loop && !self.input.is_empty() {
                    self.pos = 0;
                } else {
                    *s = 0;
                    continue;
                }
            }
            *s = self.input[self.pos];
            self.pos += 1;
        }
        Ok(())
    }

    fn write(&mut self, frame: &[i16]) -> Result<(), DeviceError> {
        let Some((p, w)) = &mut self.output else {
            return Ok(());
        };
        let Err(e) = frame.iter().try_for_each(|&s| w.write_sample(s)) else {
            return Ok(());
        };
        // A full disk (or any write error) ends the recording, not the
        // device: the microphone file goes on feeding the call.
        let disk_full = matches!(&e, hound::Error::IoError(io) if matches!(
            io.kind(),
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
        ));
        let stopped = RecordingStopped {
            file: p.display().to_string(),
            disk_full,
            detail: e.to_string(),
        };
        tracing::warn!(file = %stopped.file, error = %stopped.detail, "recording stopped; the call goes on");
        // Dropping the writer tries its final header once more; what was
        // written so far stays in the file.
        self.output = None;
        self.stopped = Some(stopped);
        Ok(())
    }

    fn take_recording_stopped(&mut self) -> Option<RecordingStopped> {
        self.stopped.take()
    }

    fn close(&mut self) -> Result<(), DeviceError> {
        if let Some((p, w)) = self.output.take() {
            w.finalize()
                .map_err(|e| DeviceError(format!("closing {} failed: {e}", p.display())))?;
        }
        Ok(())
    }
}

impl Drop for FileDevice {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// Read a WAV as mono i16 at `rate` (channels averaged, linear resampling).
pub fn read_wav(path: &Path, rate: u32) -> Result<Vec<i16>, DeviceError> {
    let err = |e: hound::Error| DeviceError(format!("cannot read {}: {e}", path.display()));
    let mut r = hound::WavReader::open(path).map_err(err)?;
    let spec = r.spec();
    let ch = usize::from(spec.channels.max(1));
    let raw: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().collect::<Result<_, _>>().map_err(err)?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            r.samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(err)?
        }
    };
    let mono: Vec<f32> = raw
        .chunks(ch)
        .map(|c| c.iter().sum::<f32>() / c.len() as f32)
        .collect();
    let out = resample_linear(&mono, spec.sample_rate, rate);
    Ok(out
        .into_iter()
        .map(|v| (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect())
}

/// Write mono i16 samples as a 16-bit WAV.
pub fn write_wav(path: &Path, rate: u32, samples: &[i16]) -> Result<(), DeviceError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let err = |e: hound::Error| DeviceError(format!("cannot write {}: {e}", path.display()));
    let mut w = hound::WavWriter::create(path, spec).map_err(err)?;
    for &s in samples {
        w.write_sample(s).map_err(err)?;
    }
    w.finalize().map_err(err)
}

fn resample_linear(x: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || x.is_empty() || from == 0 {
        return x.to_vec();
    }
    let n = (x.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let step = f64::from(from) / f64::from(to);
    (0..n)
        .map(|i| {
            let p = i as f64 * step;
            let k = p as usize;
            let f = (p - k as f64) as f32;
            let a = x[k.min(x.len() - 1)];
            let b = x[(k + 1).min(x.len() - 1)];
            a + (b - a) * f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tone;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tongdai-dev-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&d);
        d
    }

    /// `/dev/full` answers every write with ENOSPC: the recording stops
    /// (reported once, as a full disk) and the microphone goes on.
    #[test]
    fn a_full_disk_stops_the_recording_not_the_device() {
        let mic: Vec<i16> = (1..=160).collect();
        let mut d =
            FileDevice::from_samples(8000, mic, Playback::Loop, Some(Path::new("/dev/full")))
                .unwrap();
        let frame = [100i16; 160];
        let mut stops = Vec::new();
        let mut input = [0i16; 160];
        for _ in 0..100 {
            assert_eq!(d.write(&frame), Ok(()));
            stops.extend(d.take_recording_stopped());
            d.read(&mut input).unwrap();
        }
        assert_eq!(stops.len(), 1, "{stops:?}");
        assert!(stops[0].disk_full, "{stops:?}");
        assert_eq!(stops[0].file, "/dev/full");
        assert_eq!(input[0], 1, "the microphone still plays");
        assert_eq!(d.close(), Ok(()));
    }

    #[test]
    fn file_device_loops_once_and_records() {
        let inp = tmp("in.wav");
        write_wav(&inp, 8000, &[1, 2, 3]).unwrap();
        let out = tmp("out.wav");
        let mut d = FileDevice::open(8000, Some((&inp, Playback::Loop)), Some(&out)).unwrap();
        let mut f = [0i16; 7];
        d.read(&mut f).unwrap();
        assert_eq!(f, [1, 2, 3, 1, 2, 3, 1]);
        d.write(&[5, 6]).unwrap();
        d.write(&[7]).unwrap();
        d.close().unwrap();
        assert_eq!(read_wav(&out, 8000).unwrap(), vec![5, 6, 7]);
        let mut once = FileDevice::open(8000, Some((&inp, Playback::Once)), None).unwrap();
        once.read(&mut f).unwrap();
        assert_eq!(f, [1, 2, 3, 0, 0, 0, 0]);
        assert!(
            FileDevice::open(
                8000,
                Some((Path::new("/nonexistent.wav"), Playback::Once)),
                None
            )
            .is_err()
        );
    }

    #[test]
    fn a_48k_stereo_wav_becomes_8k_mono() {
        let p = tmp("st.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&p, spec).unwrap();
        for s in tone::sine(700.0, 0.5, 48000, 500) {
            w.write_sample(s).unwrap();
            w.write_sample(s).unwrap();
        }
        w.finalize().unwrap();
        let x = read_wav(&p, 8000).unwrap();
        assert_eq!(x.len(), 4000);
        let d = tone::detect_tone(&x, 8000, 100.0, 3900.0);
        assert!(
            (d.freq - 700.0).abs() <= 2.0 && (d.level_dbfs + 6.0).abs() < 1.0,
            "{d:?}"
        );
    }
}
