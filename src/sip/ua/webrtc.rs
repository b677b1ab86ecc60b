//! The WebRTC branch.
//!
//! A leg is WebRTC when the peer's INVITE offers WebRTC (`sdp::parse(..).webrtc`)
//! or when the account has `media = "webrtc"` and we call. Its SDP comes from
//! a `WebRtcSession` instead of `LocalAudio`; everything else (dialogs, BYE,
//! CANCEL, INFO) is shared with the plain RTP path.

use std::collections::HashMap;
use std::sync::Arc;

use rsipstack::dialog::dialog::TransactionHandle;
use rsipstack::sip::StatusCode;

use super::{SipUa, UaEvent};
use crate::call::softphone::{Leg, SipInput};
use crate::sip::sdp::RemoteAudio;
use crate::webrtc_media::{AudioIo, MediaStats, WebRtcOptions, WebRtcSession};

/// A WebRTC leg's media.
#[derive(Default)]
pub(super) struct WebRtcLeg {
    /// The peer's offer, until the agent accepts (inbound).
    pub(super) pending_offer: Option<String>,
    pub(super) session: Option<Arc<tokio::sync::Mutex<WebRtcSession>>>,
    /// Our current local description (offer or answer).
    pub(super) local_sdp: Option<String>,
    /// The audio channels, until the audio path takes them.
    pub(super) io: Option<AudioIo>,
    /// Stops the leg's audio pump when the leg is forgotten.
    pub(super) audio: Option<tokio_util::sync::DropGuard>,
}

impl SipUa {
    pub(super) fn webrtc_opts(&self) -> WebRtcOptions {
        WebRtcOptions {
            bind_ip: self.inner.local_ip,
            // Bound to loopback (a server on this host): ICE needs the
            // loopback candidates, or no pair exists.
            include_loopback: self.inner.local_ip.is_loopback(),
            stun_servers: self.inner.cfg.stun_servers.clone(),
            turn: self.inner.turn.clone(),
            relay_only: self.inner.cfg.ice_policy == crate::sip::IcePolicy::Relay,
            ..WebRtcOptions::default()
        }
    }

    /// TURN is configured but our SDP has no relay candidate: the server
    /// did not answer within the gathering bound, or refused our
    /// credentials. `Err` when the call cannot go on without one (relay
    /// only); a notice either way (it would otherwise fail silently at ICE).
    pub(super) fn check_relay(&self, sdp: &str) -> Result<(), ()> {
        let Some(t) = &self.inner.turn else {
            return Ok(());
        };
        if sdp.contains(" typ relay") {
            return Ok(());
        }
        let relay_only = self.inner.cfg.ice_policy == crate::sip::IcePolicy::Relay;
        self.emit(UaEvent::Problem(format!(
            "TURN {} gave no relay address within {:?} (unreachable, or the credentials were refused){}",
            t.urls.join(", "),
            WebRtcOptions::default().gather_timeout,
            if relay_only {
                "; ice_policy = \"relay\": the call cannot be set up"
            } else {
                "; the call goes on without a relay"
            }
        )));
        if relay_only { Err(()) } else { Ok(()) }
    }

    pub(super) fn webrtc_legs(&self) -> std::sync::MutexGuard<'_, HashMap<Leg, WebRtcLeg>> {
        self.inner.webrtc.lock().expect("webrtc lock")
    }

    /// Does this leg carry WebRTC media?
    pub fn is_webrtc(&self, leg: Leg) -> bool {
        self.webrtc_legs().contains_key(&leg)
    }

    /// The leg's audio channels (once): PCM frames both ways and media
    /// events. Only for an embedder that pumps them itself
    /// ([`SipUa::pump_webrtc_audio_externally`]); otherwise the UA pumps
    /// them to the audio device when the call is up.
    pub fn take_webrtc_audio(&self, leg: Leg) -> Option<AudioIo> {
        self.webrtc_legs().get_mut(&leg).and_then(|w| w.io.take())
    }

    /// Packet and byte counters of the leg's media.
    pub async fn webrtc_stats(&self, leg: Leg) -> Option<MediaStats> {
        let session = self.webrtc_session(leg)?;
        let stats = session.lock().await.stats();
        Some(stats)
    }

    pub(super) fn webrtc_session(
        &self,
        leg: Leg,
    ) -> Option<Arc<tokio::sync::Mutex<WebRtcSession>>> {
        self.webrtc_legs().get(&leg).and_then(|w| w.session.clone())
    }

    pub(super) fn webrtc_store(&self, leg: Leg, mut session: WebRtcSession, sdp: String) {
        let io = session.take_io();
        let mut legs = self.webrtc_legs();
        let w = legs.entry(leg).or_default();
        w.pending_offer = None;
        w.io = io;
        w.session = Some(Arc::new(tokio::sync::Mutex::new(session)));
        w.local_sdp = Some(sdp);
    }

    pub(super) fn webrtc_local_sdp(&self, leg: Leg) -> Option<String> {
        self.webrtc_legs()
            .get(&leg)
            .and_then(|w| w.local_sdp.clone())
    }

    pub(super) fn webrtc_note_offer(&self, leg: Leg, offer: &str) {
        self.webrtc_legs().insert(
            leg,
            WebRtcLeg {
                pending_offer: Some(offer.to_string()),
                ..WebRtcLeg::default()
            },
        );
    }

    /// Closing happens when the session is dropped (it closes its transport).
    pub(super) fn webrtc_forget(&self, leg: Leg) {
        let gone = self.webrtc_legs().remove(&leg);
        drop(gone);
    }

    pub(super) fn webrtc_set_mute(&self, leg: Leg, mute: bool) {
        if let Some(s) = self.webrtc_session(leg) {
            tokio::spawn(async move { s.lock().await.set_mute(mute) });
        }
    }

    /// We call with WebRTC: make the offer (ICE gathered), then INVITE.
    pub(super) async fn webrtc_invite(self, leg: Leg, target: String) {
        match WebRtcSession::offer(self.webrtc_opts()).await {
            Ok((_, sdp)) if self.check_relay(&sdp).is_err() => {
                self.call_event(SipInput::Failed { leg, code: None });
            }
            Ok((session, sdp)) => {
                self.webrtc_store(leg, session, sdp);
                self.invite(leg, target);
            }
            Err(e) => {
                self.emit(UaEvent::Problem(format!("cannot start WebRTC media: {e}")));
                self.call_event(SipInput::Failed { leg, code: None });
            }
        }
    }

    /// The 2xx to our WebRTC INVITE; true when the leg is WebRTC.
    pub(super) async fn webrtc_apply_answer(&self, leg: Leg, body: &[u8]) -> bool {
        let Some(session) = self.webrtc_session(leg) else {
            return false;
        };
        let r = session
            .lock()
            .await
            .apply_answer(&String::from_utf8_lossy(body))
            .await;
        if let Err(e) = r {
            self.emit(UaEvent::Problem(format!(
                "the WebRTC answer was refused: {e}"
            )));
        }
        true
    }

    /// Accept an inbound WebRTC offer: the answer is made (ICE gathered)
    /// off the engine loop, then sent in the 200. False for plain RTP legs.
    pub(super) fn webrtc_accept(&self, leg: Leg) -> bool {
        let offer = self
            .webrtc_legs()
            .get(&leg)
            .and_then(|w| w.pending_offer.clone());
        let Some(offer) = offer else { return false };
        let ua = self.clone();
        tokio::spawn(async move {
            let answer = WebRtcSession::answer(ua.webrtc_opts(), &offer)
                .await
                .and_then(|(session, sdp)| match ua.check_relay(&sdp) {
                    Ok(()) => Ok((session, sdp)),
                    Err(()) => Err(crate::webrtc_media::WebRtcError::Stack(
                        "no TURN relay address".into(),
                    )),
                });
            match answer {
                Ok((session, sdp)) => {
                    ua.webrtc_store(leg, session, sdp.clone());
                    if let Some(d) = ua.dialog_of(leg)
                        && let Err(e) =
                            d.accept(Some(vec![Self::sdp_header()]), Some(sdp.into_bytes()))
                    {
                        ua.emit(UaEvent::Problem(format!("could not answer: {e}")));
                    }
                }
                Err(e) => {
                    ua.emit(UaEvent::Problem(format!("cannot answer with WebRTC: {e}")));
                    ua.mark_local_end(leg);
                    if let Some(d) = ua.dialog_of(leg) {
                        let _ = d.reject(Some(StatusCode::NotAcceptableHere), None);
                    }
                    ua.forget(leg);
                }
            }
        });
        true
    }

    /// A re-INVITE / UPDATE offer on a WebRTC leg (e.g. JsSIP's hold):
    /// answered by the same session, so the transport and media stay up.
    pub(super) async fn webrtc_update(
        &self,
        leg: Leg,
        remote: RemoteAudio,
        body: &[u8],
        handle: TransactionHandle,
    ) {
        let Some(session) = self.webrtc_session(leg) else {
            let _ = handle.reply(StatusCode::NotAcceptableHere).await;
            return;
        };
        let answer = session
            .lock()
            .await
            .handle_reoffer(&String::from_utf8_lossy(body))
            .await;
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                self.emit(UaEvent::Problem(format!("re-INVITE refused: {e}")));
                let _ = handle.reply(StatusCode::NotAcceptableHere).await;
                return;
            }
        };
        if let Some(w) = self.webrtc_legs().get_mut(&leg) {
            w.local_sdp = Some(answer.clone());
        }
        let was_held = {
            let mut legs = self.inner.legs.lock().expect("legs lock");
            let Some(st) = legs.get_mut(&leg) else { return };
            let was_held = st.remote.as_ref().is_some_and(|r| r.direction.is_hold());
            st.remote = Some(remote.clone());
            was_held
        };
        let _ = handle
            .respond(
                StatusCode::OK,
                Some(vec![Self::sdp_header()]),
                Some(answer.into_bytes()),
            )
            .await;
        let now_held = remote.direction.is_hold();
        if now_held != was_held {
            self.call_event(SipInput::RemoteHold {
                leg,
                held: now_held,
            });
        }
    }

    /// Hold on a WebRTC leg is not done by re-INVITE here (the VCC platform
    /// holds by push request); refuse it visibly rather than send plain SDP.
    pub(super) fn webrtc_hold_refused(&self, leg: Leg, hold: bool) -> bool {
        if !self.is_webrtc(leg) {
            return false;
        }
        self.emit(UaEvent::Problem(
            "hold by re-INVITE is not available on WebRTC calls".to_string(),
        ));
        self.call_event(SipInput::HoldResult {
            leg,
            held: hold,
            ok: false,
        });
        true
    }
}
