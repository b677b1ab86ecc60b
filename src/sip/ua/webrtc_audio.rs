//! The sound of a WebRTC leg: once the call is up (our 2xx ACKed, or the
//! peer's 2xx to our INVITE: the same seam where `rtp_media` starts a plain
//! RTP leg), the UA itself pumps the leg's PCM frames between the session's
//! [`AudioIo`] and the call's audio device (`[audio]`). So every user of the
//! UA (a plain SIP account, the VCC voice leg) has sound without having to
//! remember it.
//!
//! ```text
//!  device ─read, one 20 ms frame per tick─▶ to_peer   (encoded by webrtc_media)
//!  device ◀─write, as frames arrive──────── from_peer (decoded by webrtc_media)
//! ```
//!
//! The pump stops when the leg is forgotten (its guard lives in the leg's
//! WebRTC state) or when the session closes its channels; the device is then
//! closed, so a file device's WAV gets its final header.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::media::bridge::LegDevice;
use crate::media::{AudioDevice, NullDevice};
use crate::webrtc_media::{
    AudioIo, DISCONNECTED_AFTER, FRAME_SAMPLES, MediaEvent, SAMPLE_RATE, Step,
};

use super::{Leg, SipUa, UaEvent};
use crate::call::softphone::SipInput;

/// How the UA treats WebRTC audio; one per UA.
#[derive(Default)]
pub(super) struct WebRtcAudio {
    /// Numbers the calls' devices (`call-<n>-heard.wav`); `None`: the leg's
    /// number, as plain RTP legs do.
    numbers: Mutex<Option<Arc<AtomicU64>>>,
    /// The embedder pumps the frames itself (`take_webrtc_audio`).
    external: AtomicBool,
}

impl SipUa {
    /// Number the calls' audio devices from `counter` (incremented per
    /// call) instead of by leg: the VCC voice leg keeps its numbering
    /// across the UAs of successive registrations.
    pub fn number_calls_with(&self, counter: Arc<AtomicU64>) {
        *self
            .inner
            .webrtc_audio
            .numbers
            .lock()
            .expect("numbers lock") = Some(counter);
    }

    /// The embedder takes each WebRTC leg's frames with
    /// [`SipUa::take_webrtc_audio`] and pumps them itself (measurements of
    /// the raw media); the UA then leaves the audio device alone.
    pub fn pump_webrtc_audio_externally(&self, external: bool) {
        self.inner
            .webrtc_audio
            .external
            .store(external, Ordering::Relaxed);
    }

    /// The WebRTC leg is up: pump its audio to and from the call's device.
    /// Idempotent (the channels are taken once).
    pub(super) fn start_webrtc_audio(&self, leg: Leg) {
        if self.inner.webrtc_audio.external.load(Ordering::Relaxed) {
            return;
        }
        let cancel = CancellationToken::new();
        let io = {
            let mut legs = self.webrtc_legs();
            let Some(w) = legs.get_mut(&leg) else { return };
            let Some(io) = w.io.take() else { return };
            // Forgetting the leg drops the guard, which stops the pump.
            w.audio = Some(cancel.clone().drop_guard());
            io
        };
        let n = match &*self
            .inner
            .webrtc_audio
            .numbers
            .lock()
            .expect("numbers lock")
        {
            Some(c) => c.fetch_add(1, Ordering::SeqCst) + 1,
            None => leg.0,
        };
        let audio = self.inner.audio.lock().expect("audio lock").clone();
        let ua = self.clone();
        tokio::spawn(async move {
            let device = match super::rtp_media::open_device(&audio, n, SAMPLE_RATE) {
                Ok(d) => d,
                Err(e) => {
                    // Silence still goes out, so the peer's media stays up.
                    ua.emit(UaEvent::Problem(format!(
                        "audio device: {e}; the call has no sound"
                    )));
                    Box::new(NullDevice::new(SAMPLE_RATE))
                }
            };
            // Its own device until a three-way call mixes it (`conference`).
            let (device, switch) = LegDevice::wrap(device);
            ua.mixing_add(leg, switch);
            tracing::debug!(?leg, n, "WebRTC audio starts");
            let told = ua.clone();
            let recording_stopped = move |r: crate::media::RecordingStopped| {
                told.emit(UaEvent::Media(crate::engine::Event::Notice(
                    crate::engine::Notice::Info(crate::engine::Info::RecordingStopped {
                        file: r.file,
                        disk_full: r.disk_full,
                    }),
                )));
            };
            let restarter = ua.clone();
            let path_down = move || {
                let ua = restarter.clone();
                tokio::spawn(async move { ua.webrtc_restart_ice(leg, DISCONNECTED_GRACE).await });
            };
            let ended = pump(io, Box::new(device), cancel, recording_stopped, path_down).await;
            // Also when the leg was forgotten before the pump started.
            ua.mixing_remove(leg);
            if ended == Ended::PathLost {
                ua.emit(UaEvent::Problem(format!(
                    "the call's media path died (nothing from the far end for {}+ s, and an ICE restart did not bring it back); hung up",
                    (DISCONNECTED_AFTER + DISCONNECTED_GRACE).as_secs()
                )));
                ua.call_event(SipInput::MediaLost { leg });
            }
        });
    }
}

/// How long a disconnected ICE transport (nothing from the peer for
/// [`DISCONNECTED_AFTER`] already) may take to come back, by itself or by
/// the ICE restart asked for at once (`ice_restart.rs`), before the call is
/// hung up: a path that died must not leave the agent in a silent call,
/// and the call ends within 10 s of the path's death (issue 18).
const DISCONNECTED_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// Cancelled, or the session closed its channels.
    Normally,
    /// ICE failed, or stayed disconnected past [`DISCONNECTED_GRACE`]
    /// (an ICE restart included).
    PathLost,
}

/// Device → peer one 20 ms frame per tick; peer → device as frames arrive.
async fn pump(
    io: AudioIo,
    mut device: Box<dyn AudioDevice>,
    cancel: CancellationToken,
    recording_stopped: impl Fn(crate::media::RecordingStopped),
    path_down: impl Fn(),
) -> Ended {
    let AudioIo {
        to_peer,
        mut from_peer,
        mut events,
        timeline,
    } = io;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut frame = vec![0i16; FRAME_SAMPLES];
    let mut device_ok = true;
    let mut events_open = true;
    let mut lost_at: Option<tokio::time::Instant> = None;
    let mut played = false;
    let mut ended = Ended::Normally;
    loop {
        let grace_over = async {
            match lost_at {
                Some(at) => tokio::time::sleep_until(at + DISCONNECTED_GRACE).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = grace_over => {
                ended = Ended::PathLost;
                break;
            }
            _ = tick.tick() => {
                if device_ok && let Err(e) = device.read(&mut frame) {
                    tracing::warn!("WebRTC audio: microphone: {e}");
                    device_ok = false;
                }
                if !device_ok {
                    frame.fill(0);
                }
                match to_peer.try_send(frame.clone()) {
                    Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => {}
                    Err(mpsc::error::TrySendError::Closed(_)) => break,
                }
            }
            f = from_peer.recv() => match f {
                Some(f) => {
                    if device_ok && let Err(e) = device.write(&f) {
                        tracing::warn!("WebRTC audio: speaker: {e}");
                        device_ok = false;
                    }
                    if let Some(r) = device.take_recording_stopped() {
                        recording_stopped(r);
                    }
                    if !played {
                        played = true;
                        timeline.mark(Step::FirstPlayed, std::time::Instant::now());
                    }
                }
                None => break,
            },
            e = events.recv(), if events_open => match e {
                Some(MediaEvent::FirstAudio { codec, .. }) => {
                    tracing::debug!(codec = codec.name(), "WebRTC audio: first frame from the peer");
                }
                Some(MediaEvent::Failed { state, .. }) => {
                    tracing::info!(%state, "WebRTC audio: the media path is down");
                    if state == "failed" {
                        ended = Ended::PathLost;
                        break;
                    }
                    if lost_at.is_none() {
                        lost_at = Some(tokio::time::Instant::now());
                        path_down();
                    }
                }
                Some(MediaEvent::Connected { .. }) => {
                    if lost_at.take().is_some() {
                        tracing::info!("WebRTC audio: the media path is back");
                    }
                }
                Some(e) => tracing::debug!(?e, "WebRTC audio: media"),
                None => events_open = false,
            },
        }
    }
    if let Err(e) = device.close() {
        tracing::warn!("WebRTC audio: closing the audio device: {e}");
    }
    ended
}
