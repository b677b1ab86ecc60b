//! A real sound card through `cpal`: the default (or a named) input and
//! output, opened at the device's own rate and resampled (the project's
//! [`Resampler`]) to and from the session's rate.
//!
//! cpal calls back on its own threads; the session pulls and pushes 20 ms
//! frames on its clock. Between them sit two small rings behind mutexes that
//! the callbacks only `try_lock` (a contended callback drops its input or
//! plays silence: it never blocks). A stream error that means the device is
//! gone is latched and returned by the next `read`/`write`.
//!
//! The host is JACK when `JACK_DEFAULT_SERVER` is set, else cpal's default.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use super::device::{AudioDevice, DeviceError};
use super::queue_trim::QueueTrim;
use super::quiet::quiet_alsa;
use super::resample::Resampler;

/// Ring capacity in seconds of native audio.
const RING_SECONDS: f64 = 0.5;
/// What `write` keeps queued for the speaker at most (latency bound).
const OUT_MAX_SECONDS: f64 = 0.2;

/// Whether sound cards are reached through JACK (`JACK_DEFAULT_SERVER` is
/// set). A JACK client that was refused must not be opened again at once:
/// that crashed inside libjack here (see tests/audio_ring.rs).
pub fn uses_jack() -> bool {
    std::env::var_os("JACK_DEFAULT_SERVER").is_some()
}

fn host() -> cpal::Host {
    if uses_jack()
        && let Ok(h) = cpal::host_from_id(cpal::HostId::Jack)
    {
        return h;
    }
    cpal::default_host()
}

/// One device as `tongdai devices` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeviceInfo {
    /// cpal's host: "ALSA" or "JACK".
    pub host: String,
    /// The human name (ALSA: the first line of the PCM's description).
    pub name: String,
    /// The host's own id (ALSA: the PCM name, e.g. `default`, `hw:CARD=PCH,DEV=0`).
    /// Either this or `name` goes in `[audio] input/output/ring`.
    pub id: String,
    pub input: bool,
    pub output: bool,
    pub default_input: bool,
    pub default_output: bool,
    /// The device's default format when it opens ("48000 Hz, 2 ch, f32"),
    /// or why it does not: probing opens the PCM, so a listed device that
    /// cannot be used says so here.
    pub format: String,
}

fn probe(d: &cpal::Device) -> String {
    let cfg = if directions(d).1 {
        d.default_output_config()
    } else {
        d.default_input_config()
    };
    match cfg {
        Ok(c) => format!(
            "{} Hz, {} ch, {}",
            c.sample_rate(),
            c.channels(),
            c.sample_format()
        ),
        Err(e) => format!("cannot open: {e}"),
    }
}

/// The input and output devices of every available host (ALSA always; JACK
/// only when a JACK server answers), with the defaults marked.
pub fn list_devices() -> Vec<DeviceInfo> {
    quiet_alsa();
    let mut out = Vec::new();
    for id in cpal::available_hosts() {
        if id == cpal::HostId::Jack && !uses_jack() {
            // cpal's JACK host would try the default server: say nothing
            // about JACK unless it was asked for (see `host`).
            continue;
        }
        let Ok(h) = cpal::host_from_id(id) else {
            continue;
        };
        let key = |d: &cpal::Device| d.id().ok();
        let def_in = h.default_input_device().as_ref().and_then(key);
        let def_out = h.default_output_device().as_ref().and_then(key);
        let Ok(devs) = h.devices() else { continue };
        let mut devs: Vec<cpal::Device> = devs.collect();
        // The host's defaults (ALSA's `default` PCM) are not always among
        // the hints it enumerates: list them too.
        for d in [h.default_output_device(), h.default_input_device()]
            .into_iter()
            .flatten()
        {
            if !devs.iter().any(|x| x.id().ok() == d.id().ok()) {
                devs.insert(0, d);
            }
        }
        for d in devs {
            let dev_id = d.id().ok();
            out.push(DeviceInfo {
                host: id.name().to_string(),
                name: d.to_string(),
                id: dev_id
                    .as_ref()
                    .map(|i| i.id().to_string())
                    .unwrap_or_default(),
                input: directions(&d).0 || dev_id.is_some() && dev_id == def_in,
                output: directions(&d).1 || dev_id.is_some() && dev_id == def_out,
                default_input: dev_id.is_some() && dev_id == def_in,
                default_output: dev_id.is_some() && dev_id == def_out,
                format: probe(&d),
            });
        }
    }
    out
}

/// (input, output): the description's direction when the host knows it
/// (cpal's JACK devices answer `supports_output` for their input device
/// too), else what the device says.
fn directions(d: &cpal::Device) -> (bool, bool) {
    match d.description().map(|x| x.direction()) {
        Ok(cpal::DeviceDirection::Input) => (true, false),
        Ok(cpal::DeviceDirection::Output) => (false, true),
        Ok(cpal::DeviceDirection::Duplex) => (true, true),
        _ => (d.supports_input(), d.supports_output()),
    }
}

fn matches_name(d: &cpal::Device, n: &str) -> bool {
    d.to_string() == n
        || d.description().is_ok_and(|x| x.name() == n)
        || d.id().is_ok_and(|i| i.id() == n || i.to_string() == n)
}

fn find(host: &cpal::Host, name: Option<&str>, input: bool) -> Result<cpal::Device, DeviceError> {
    let what = if input { "input" } else { "output" };
    match name {
        None => if input {
            host.default_input_device()
        } else {
            host.default_output_device()
        }
        .ok_or_else(|| DeviceError(format!("no default {what} device"))),
        Some(n) => host
            .devices()
            .map_err(|e| DeviceError(format!("cannot list devices: {e}")))?
            .find(|d| {
                let (i, o) = directions(d);
                (if input { i } else { o }) && matches_name(d, n)
            })
            .ok_or_else(|| DeviceError(format!("no {what} device named {n:?}"))),
    }
}

type Ring = Arc<Mutex<VecDeque<f32>>>;
type Lost = Arc<Mutex<Option<String>>>;

fn on_error(lost: &Lost) -> impl FnMut(cpal::Error) + Send + 'static {
    let lost = lost.clone();
    move |e: cpal::Error| {
        // The error callback is not the real-time one (JACK calls it from
        // its shutdown notification): wait for the lock, so a loss is never
        // dropped because `check` held it at that moment.
        if matches!(
            e.kind(),
            cpal::ErrorKind::DeviceNotAvailable
                | cpal::ErrorKind::HostUnavailable
                | cpal::ErrorKind::StreamInvalidated
        ) && let Ok(mut l) = lost.lock()
            && l.is_none()
        {
            *l = Some(e.to_string());
        }
    }
}

fn build_input<T: cpal::SizedSample>(
    dev: &cpal::Device,
    cfg: cpal::StreamConfig,
    ring: Ring,
    cap: usize,
    lost: &Lost,
) -> Result<cpal::Stream, cpal::Error>
where
    f32: cpal::FromSample<T>,
{
    let ch = usize::from(cfg.channels.max(1));
    dev.build_input_stream::<T, _, _>(
        cfg,
        move |data: &[T], _| {
            if let Ok(mut r) = ring.try_lock() {
                for c in data.chunks(ch) {
                    let s: f32 = c
                        .iter()
                        .map(|&v| <f32 as cpal::FromSample<T>>::from_sample_(v))
                        .sum::<f32>();
                    if r.len() >= cap {
                        r.pop_front();
                    }
                    r.push_back(s / ch as f32);
                }
            }
        },
        on_error(lost),
        None,
    )
}

fn build_output<T: cpal::SizedSample + cpal::FromSample<f32>>(
    dev: &cpal::Device,
    cfg: cpal::StreamConfig,
    ring: Ring,
    low: Arc<AtomicUsize>,
    lost: &Lost,
) -> Result<cpal::Stream, cpal::Error> {
    let ch = usize::from(cfg.channels.max(1));
    dev.build_output_stream::<T, _, _>(
        cfg,
        move |data: &mut [T], _| {
            let mut r = ring.try_lock().ok();
            for c in data.chunks_mut(ch) {
                let s = r.as_mut().and_then(|r| r.pop_front()).unwrap_or(0.0);
                c.fill(<T as cpal::FromSample<f32>>::from_sample_(s));
            }
            // What stays queued after the card took its period: the
            // delay `write` trims (see `queue_trim`).
            if let Some(r) = r {
                low.fetch_min(r.len(), Ordering::Relaxed);
            }
        },
        on_error(lost),
        None,
    )
}

type InputSide = (cpal::Stream, Ring, Resampler, VecDeque<f32>);

struct OutputSide {
    _stream: cpal::Stream,
    ring: Ring,
    resampler: Resampler,
    /// Most native samples queued (latency bound).
    cap: usize,
    native_rate: u32,
    /// The ring's lowest level since the last `write` (native samples).
    low: Arc<AtomicUsize>,
}

fn err(what: &str, e: cpal::Error) -> DeviceError {
    DeviceError(format!("{what}: {e}"))
}

fn open_input(
    host: &cpal::Host,
    name: Option<&str>,
    rate: u32,
    lost: &Lost,
) -> Result<(InputSide, String), DeviceError> {
    let idev = find(host, name, true)?;
    let icfg = idev
        .default_input_config()
        .map_err(|e| err("input config", e))?;
    let irate = icfg.sample_rate();
    let icap = (f64::from(irate) * RING_SECONDS) as usize;
    let iring: Ring = Arc::new(Mutex::new(VecDeque::with_capacity(icap)));
    let sc = icfg.config();
    let istream = match icfg.sample_format() {
        cpal::SampleFormat::F32 => build_input::<f32>(&idev, sc, iring.clone(), icap, lost),
        cpal::SampleFormat::I16 => build_input::<i16>(&idev, sc, iring.clone(), icap, lost),
        f => return Err(DeviceError(format!("input sample format {f} unsupported"))),
    }
    .map_err(|e| err("cannot open input", e))?;
    istream.play().map_err(|e| err("cannot start input", e))?;
    let side = (istream, iring, Resampler::new(irate, rate), VecDeque::new());
    Ok((side, format!("{idev}@{irate}")))
}

fn open_output(
    host: &cpal::Host,
    name: Option<&str>,
    rate: u32,
    lost: &Lost,
) -> Result<(OutputSide, String), DeviceError> {
    let odev = find(host, name, false)?;
    let ocfg = odev
        .default_output_config()
        .map_err(|e| err("output config", e))?;
    let orate = ocfg.sample_rate();
    let ocap = (f64::from(orate) * OUT_MAX_SECONDS) as usize;
    let oring: Ring = Arc::new(Mutex::new(VecDeque::with_capacity(ocap)));
    let low = Arc::new(AtomicUsize::new(usize::MAX));
    let sc = ocfg.config();
    let ostream = match ocfg.sample_format() {
        cpal::SampleFormat::F32 => build_output::<f32>(&odev, sc, oring.clone(), low.clone(), lost),
        cpal::SampleFormat::I16 => build_output::<i16>(&odev, sc, oring.clone(), low.clone(), lost),
        f => return Err(DeviceError(format!("output sample format {f} unsupported"))),
    }
    .map_err(|e| err("cannot open output", e))?;
    ostream.play().map_err(|e| err("cannot start output", e))?;
    let side = OutputSide {
        _stream: ostream,
        ring: oring,
        resampler: Resampler::new(rate, orate),
        cap: ocap,
        native_rate: orate,
        low,
    };
    Ok((side, format!("{odev}@{orate}")))
}

/// Microphone and speaker of a sound card.
pub struct CpalDevice {
    rate: u32,
    label: String,
    lost: Lost,
    input: Option<InputSide>,
    output: Option<OutputSide>,
    /// Delay nobody needs, taken out of each queue (see `queue_trim`).
    mic_trim: QueueTrim,
    speaker_trim: QueueTrim,
    queues: QueueLevels,
}

/// The queues' mean levels over a call (the delay they add), logged at
/// close for the delay benches.
#[derive(Debug, Default)]
struct QueueLevels {
    frames: u64,
    /// Microphone backlog after a read, in samples at the session rate.
    mic: u64,
    /// Speaker ring after a write, in native samples.
    speaker: u64,
}

impl CpalDevice {
    /// Open `input`/`output` (None: the default device) for frames at `rate`.
    pub fn open(
        rate: u32,
        input: Option<&str>,
        output: Option<&str>,
    ) -> Result<CpalDevice, DeviceError> {
        quiet_alsa();
        let host = host();
        let lost: Lost = Arc::new(Mutex::new(None));
        let (i, ilabel) = open_input(&host, input, rate, &lost)?;
        let (o, olabel) = open_output(&host, output, rate, &lost)?;
        Ok(CpalDevice {
            rate,
            label: format!("cpal:{ilabel} -> {olabel}"),
            lost,
            input: Some(i),
            output: Some(o),
            mic_trim: QueueTrim::new(rate),
            speaker_trim: QueueTrim::new(rate),
            queues: QueueLevels::default(),
        })
    }

    /// Only a speaker (the ring device, tones): reads give silence.
    pub fn open_output_only(rate: u32, output: Option<&str>) -> Result<CpalDevice, DeviceError> {
        quiet_alsa();
        let host = host();
        let lost: Lost = Arc::new(Mutex::new(None));
        let (o, olabel) = open_output(&host, output, rate, &lost)?;
        Ok(CpalDevice {
            rate,
            label: format!("cpal:-> {olabel}"),
            lost,
            input: None,
            output: Some(o),
            mic_trim: QueueTrim::new(rate),
            speaker_trim: QueueTrim::new(rate),
            queues: QueueLevels::default(),
        })
    }

    fn check(&self) -> Result<(), DeviceError> {
        match self.lost.lock().ok().and_then(|l| l.clone()) {
            Some(why) => Err(DeviceError(format!("sound card lost: {why}"))),
            None => Ok(()),
        }
    }
}

impl AudioDevice for CpalDevice {
    fn name(&self) -> String {
        self.label.clone()
    }

    fn sample_rate(&self) -> u32 {
        self.rate
    }

    fn read(&mut self, frame: &mut [i16]) -> Result<(), DeviceError> {
        self.check()?;
        let Some((_, ring, lin, pending)) = &mut self.input else {
            frame.fill(0);
            return Ok(());
        };
        let native: Vec<f32> = match ring.lock() {
            Ok(mut r) => r.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        let mut at_rate = Vec::with_capacity(frame.len() * 2);
        lin.process_f32(&native, &mut at_rate);
        pending.extend(at_rate);
        // Clock drift: never let the microphone lag more than 200 ms.
        let max = (self.rate as usize / 5).max(frame.len() * 2);
        while pending.len() > max {
            pending.pop_front();
        }
        let to_i16 = |v: f32| (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
        let extra = self.mic_trim.wanted();
        if extra > 0 && pending.len() >= frame.len() + extra {
            // The frame and what it may lose, shortened unheard; what it
            // did not lose goes back to the head of the backlog.
            let mut chunk: Vec<i16> = pending.drain(..frame.len() + extra).map(to_i16).collect();
            self.mic_trim.trim(&mut chunk);
            for &v in chunk[frame.len()..].iter().rev() {
                pending.push_front(f32::from(v) / 32768.0);
            }
            frame.copy_from_slice(&chunk[..frame.len()]);
        } else {
            for s in frame.iter_mut() {
                *s = to_i16(pending.pop_front().unwrap_or(0.0));
            }
        }
        self.mic_trim.observe(pending.len());
        self.queues.mic += pending.len() as u64;
        Ok(())
    }

    fn write(&mut self, frame: &[i16]) -> Result<(), DeviceError> {
        self.check()?;
        let Some(out) = &mut self.output else {
            return Ok(());
        };
        let low = out.low.swap(usize::MAX, Ordering::Relaxed);
        if low != usize::MAX {
            let at_rate = low as u64 * u64::from(self.rate) / u64::from(out.native_rate);
            self.speaker_trim.observe(at_rate as usize);
        }
        let mut frame = frame.to_vec();
        self.speaker_trim.trim(&mut frame);
        let pcm: Vec<f32> = frame.iter().map(|&s| f32::from(s) / 32768.0).collect();
        let mut native = Vec::with_capacity(frame.len() * 8);
        out.resampler.process_f32(&pcm, &mut native);
        if let Ok(mut r) = out.ring.lock() {
            r.extend(native);
            while r.len() > out.cap {
                r.pop_front();
            }
            self.queues.speaker += r.len() as u64;
        }
        self.queues.frames += 1;
        Ok(())
    }

    fn close(&mut self) -> Result<(), DeviceError> {
        let q = &self.queues;
        if q.frames > 0
            && let Some(out) = &self.output
        {
            let ms = |sum: u64, rate: u32| sum as f64 * 1000.0 / q.frames as f64 / f64::from(rate);
            tracing::debug!(
                mic_backlog_ms = format!("{:.1}", ms(q.mic, self.rate)),
                speaker_ring_ms = format!("{:.1}", ms(q.speaker, out.native_rate)),
                mic_trimmed_ms = self.mic_trim.removed() * 1000 / u64::from(self.rate),
                speaker_trimmed_ms = self.speaker_trim.removed() * 1000 / u64::from(self.rate),
                "sound card queues over the call (mean after each frame)"
            );
        }
        self.input = None;
        self.output = None;
        Ok(())
    }
}
