//! The plain RTP audio of a call leg: starts a [`MediaSession`] on the leg's
//! bound RTP socket once the call is up, follows hold, mute and re-INVITEs,
//! sends DTMF as RFC 4733 events when negotiated, and stops it at the end.
//! WebRTC legs have their own media (`webrtc_media`), pumped to the same
//! devices by `webrtc_audio`.

use std::net::SocketAddr;

use crate::call::softphone::SipInput;
use crate::engine::{Event, Info, Notice, Quality};
use crate::media::bridge::LegDevice;
use crate::media::{MediaEvent, MediaParams, MediaSession};
use crate::sip::sdp::{Codec, RemoteAudio};

use super::{Leg, SipUa, UaEvent};

impl SipUa {
    /// Start audio for `leg` towards `remote` (the peer's SDP).
    pub(super) fn start_rtp_media(&self, leg: Leg, remote: &RemoteAudio) {
        if self.is_webrtc(leg) {
            return self.start_webrtc_audio(leg);
        }
        let Some(ip) = remote.addr else { return };
        let (socket, codec) = {
            let mut legs = self.inner.legs.lock().expect("legs lock");
            let Some(st) = legs.get_mut(&leg) else { return };
            (st.rtp.take(), st.codec)
        };
        let Some(socket) = socket else { return };
        let n = leg.0;
        // The device runs at the negotiated codec's rate (16 kHz for Opus
        // and G.722, 8 kHz for G.711), so the session needs no resampling.
        let rate = codec.kind.preferred_device_rate();
        let audio = self.inner.audio.lock().expect("audio lock").clone();
        let device = match open_device(&audio, n, rate) {
            Ok(d) => d,
            Err(e) => {
                self.emit(UaEvent::Problem(format!(
                    "audio device: {e}; the call has no sound"
                )));
                return;
            }
        };
        // Its own device until a three-way call mixes it (`conference`).
        let (device, switch) = LegDevice::wrap(device);
        let te = remote.telephone_event_for(codec.kind).map(|t| t.pt);
        let params = MediaParams::with_codec(codec.kind, codec.pt, te);
        tracing::debug!(codec = %codec.kind, pt = codec.pt, "RTP audio starts");
        let dest = SocketAddr::new(ip, remote.port);
        match MediaSession::start(socket, dest, params, Box::new(device)) {
            Ok(mut handle) => {
                self.mixing_add(leg, switch);
                if let Some(mut rx) = handle.take_events() {
                    let ua = self.clone();
                    tokio::spawn(async move {
                        while let Some(ev) = rx.recv().await {
                            if let Some(e) = media_event(leg, ev) {
                                ua.emit(e);
                            }
                        }
                    });
                }
                self.inner
                    .media
                    .lock()
                    .expect("media lock")
                    .insert(leg, (handle, te.is_some()));
            }
            Err(e) => self.emit(UaEvent::Problem(format!("audio could not start: {e}"))),
        }
    }

    /// Through the mixing state: a leg in a three-way call mutes the
    /// agent in the mix, not its own stream (`conference`).
    pub(super) fn rtp_set_mute(&self, leg: Leg, mute: bool) {
        self.mixing_set_mute(leg, mute);
    }

    pub(super) fn rtp_set_hold(&self, leg: Leg, hold: bool) {
        if let Some((h, _)) = self.inner.media.lock().expect("media lock").get(&leg) {
            h.set_hold(hold);
        }
    }

    /// The peer sent a new offer (re-INVITE): follow its address, codec and
    /// direction, so audio flows again after an unhold (RFC 3264 §8).
    pub(super) fn rtp_follow_offer(&self, leg: Leg, remote: &RemoteAudio, codec: Codec) {
        let mut map = self.inner.media.lock().expect("media lock");
        let Some((h, te_ok)) = map.get_mut(&leg) else {
            return;
        };
        let te = remote.telephone_event_for(codec.kind).map(|t| t.pt);
        *te_ok = te.is_some();
        if let Some(ip) = remote.addr {
            h.update_remote(SocketAddr::new(ip, remote.port), codec.kind, codec.pt, te);
        }
        let held = remote.direction.is_hold();
        let inactive = remote.direction == crate::sip::sdp::Direction::Inactive;
        h.set_direction(!held, !inactive);
    }

    /// True when the digit went out as an RFC 4733 event.
    pub(super) fn rtp_send_dtmf(&self, leg: Leg, digit: char) -> bool {
        match self.inner.media.lock().expect("media lock").get(&leg) {
            Some((h, true)) => h.send_dtmf(digit).is_ok(),
            _ => false,
        }
    }

    pub(super) fn stop_rtp_media(&self, leg: Leg) {
        self.mixing_remove(leg);
        let entry = self.inner.media.lock().expect("media lock").remove(&leg);
        if let Some((h, _)) = entry {
            tokio::spawn(async move {
                let _ = h.stop().await;
            });
        }
    }
}

/// What the console shows of the audio path: quality and received
/// digits belong to the leg's call (the backend names it); levels and
/// device trouble are the console's. The latched source address is for the
/// log only (an agent has nothing to do with it).
fn media_event(leg: Leg, ev: MediaEvent) -> Option<UaEvent> {
    Some(match ev {
        MediaEvent::Levels { mic, speaker } => UaEvent::Media(Event::AudioLevel { mic, speaker }),
        MediaEvent::Quality {
            jitter_ms,
            loss_pct,
            rtt_ms,
            mos,
        } => UaEvent::Call(SipInput::Quality {
            leg,
            quality: Quality {
                jitter_ms,
                loss_pct,
                rtt_ms: rtt_ms.unwrap_or(0.0),
                mos,
            },
        }),
        MediaEvent::Dtmf(digit) => UaEvent::Call(SipInput::Dtmf { leg, digit }),
        MediaEvent::DeviceLost(why) => {
            UaEvent::Media(Event::Notice(Notice::Info(Info::AudioDeviceLost {
                detail: why.to_string(),
            })))
        }
        MediaEvent::RecordingStopped(r) => {
            UaEvent::Media(Event::Notice(Notice::Info(Info::RecordingStopped {
                file: r.file,
                disk_full: r.disk_full,
            })))
        }
        MediaEvent::Latched(addr) => {
            tracing::debug!(%addr, "RTP source latched");
            return None;
        }
    })
}

/// Open the call's device. A sound card can be busy for a moment when the
/// call starts: the ringtone (`media::alert_player`) may still hold an
/// exclusive ALSA `hw:` device, and it only lets go when it sees the
/// answer, which is emitted after this. So a failing ALSA card is tried
/// again a few times (at most ~200 ms, on this failure path only); files,
/// the null device and JACK (shared by design, and a refused JACK client
/// must not be reopened at once) never wait.
pub(super) fn open_device(
    audio: &crate::media::AudioConfig,
    n: u64,
    rate: u32,
) -> Result<Box<dyn crate::media::AudioDevice>, crate::media::DeviceError> {
    const RETRIES: u32 = 4;
    let mut attempt = 0;
    loop {
        match audio.open(n, rate) {
            Ok(d) => return Ok(d),
            Err(e)
                if audio.device != crate::media::DeviceKind::Cpal
                    || crate::media::cpal_device::uses_jack()
                    || attempt == RETRIES =>
            {
                return Err(e);
            }
            Err(e) => {
                attempt += 1;
                tracing::debug!(error = %e, attempt, "sound card busy; trying again");
                let pause = std::time::Duration::from_millis(50);
                // Do not stall a tokio worker without telling the runtime.
                match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
                    Ok(tokio::runtime::RuntimeFlavor::MultiThread) => {
                        tokio::task::block_in_place(|| std::thread::sleep(pause))
                    }
                    _ => std::thread::sleep(pause),
                }
            }
        }
    }
}
