//! Outbound calls: the target URI and the INVITE client transaction up to
//! its final response.

use rsipstack::dialog::invitation::InviteOption;

use super::{LegState, SipUa, UaEvent};
use crate::call::softphone::{Leg, SipInput};
use crate::sip::sdp;

impl SipUa {
    pub(super) fn target_uri(&self, target: &str) -> Result<rsipstack::sip::Uri, String> {
        // Defence in depth: the call logic checks every target
        // (`sip::target`), but nothing that could end or split a header
        // line reaches the Request-Line, To or Refer-To whatever the caller.
        if !crate::sip::target::wire_safe(target) || target.contains('?') {
            return Err(format!("{target:?} is not a SIP address we send"));
        }
        let text = if target.starts_with("sip:") || target.starts_with("sips:") {
            target.to_string()
        } else {
            // Without an explicit domain the request URI names the server
            // with its port: in-dialog and CANCEL requests follow the
            // request URI (RFC 3261 §9.1), so it must reach the same place.
            let host = match &self.inner.cfg.domain {
                Some(d) => d.clone(),
                None => self.inner.server.addr.to_string(),
            };
            format!("sip:{target}@{host}")
        };
        text.as_str()
            .try_into()
            .map_err(|e: rsipstack::sip::Error| format!("`{target}` is not a SIP address: {e}"))
    }

    pub(super) fn invite(&self, leg: Leg, target: String) {
        let callee = match self.target_uri(&target) {
            Ok(u) => u,
            Err(e) => {
                self.emit(UaEvent::Problem(e));
                self.call_event(SipInput::Failed { leg, code: None });
                return;
            }
        };
        let caller: rsipstack::sip::Uri =
            match format!("sip:{}@{}", self.inner.cfg.user, self.inner.cfg.domain())
                .as_str()
                .try_into()
            {
                Ok(u) => u,
                Err(e) => {
                    self.emit(UaEvent::Problem(format!("bad account address: {e}")));
                    self.call_event(SipInput::Failed { leg, code: None });
                    return;
                }
            };
        let (rtp, rtp_port) = self.bind_rtp();
        self.inner.legs.lock().expect("legs lock").insert(
            leg,
            LegState {
                dialog: None,
                rtp,
                rtp_port,
                remote: None,
                codec: sdp::PCMU,
                sdp_version: 1,
                held_by_us: false,
                ended_locally: false,
                inbound: false,
                confirmed: false,
            },
        );
        let offer = self
            .webrtc_local_sdp(leg)
            .or_else(|| self.leg_sdp(leg, false));
        let opt = InviteOption {
            caller_display_name: self.inner.cfg.display_name.clone(),
            caller,
            callee,
            destination: Some(self.inner.server.clone()),
            content_type: Some("application/sdp".to_string()),
            offer: offer.map(String::into_bytes),
            contact: self.inner.contact.clone(),
            // No password (`register = false` trunk): nothing to answer a challenge with.
            credential: (!self.inner.cred.password.is_empty()).then(|| self.inner.cred.clone()),
            ..Default::default()
        };
        let started = self
            .inner
            .dialogs
            .do_invite_async(opt, self.inner.state_tx.clone());
        let (dialog, handle) = match started {
            Ok(x) => x,
            Err(e) => {
                self.emit(UaEvent::Problem(format!("could not send the INVITE: {e}")));
                self.forget(leg);
                self.call_event(SipInput::Failed { leg, code: None });
                return;
            }
        };
        let call_id = dialog.id().call_id.clone();
        if let Some(s) = self.inner.legs.lock().expect("legs lock").get_mut(&leg) {
            s.dialog = Some(dialog);
        }
        self.inner
            .by_call_id
            .lock()
            .expect("call-id lock")
            .insert(call_id, leg);
        let ua = self.clone();
        let task = tokio::spawn(async move {
            let outcome = match handle.await {
                Ok(Ok((_, Some(resp)))) => Ok(resp),
                Ok(Ok((_, None))) => Err(None),
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "INVITE failed");
                    Err(None)
                }
                Err(_) => Err(None),
            };
            match outcome {
                Ok(resp) => {
                    let code = u16::from(resp.status_code.clone());
                    let cancelled = ua
                        .inner
                        .legs
                        .lock()
                        .expect("legs lock")
                        .get(&leg)
                        .is_some_and(|s| s.ended_locally);
                    if code / 100 == 2 && cancelled {
                        // The 200 crossed our CANCEL (RFC 3261 §9.1): no
                        // media for it; the call logic sends the BYE.
                        ua.inner.invites.lock().expect("invites lock").remove(&leg);
                        ua.call_event(SipInput::Answered { leg });
                    } else if code / 100 == 2 {
                        ua.inner.invites.lock().expect("invites lock").remove(&leg);
                        let webrtc = ua.webrtc_apply_answer(leg, &resp.body).await;
                        let remote = sdp::parse(&String::from_utf8_lossy(&resp.body)).ok();
                        let mut bad_codec = None;
                        if let Some(s) = ua.inner.legs.lock().expect("legs lock").get_mut(&leg) {
                            if let Some(r) = remote.as_ref().filter(|_| !webrtc) {
                                match sdp::choose_codec(r, ua.inner.cfg.codecs.as_slice()) {
                                    Ok(c) => s.codec = c,
                                    Err(e) => bad_codec = Some(e.to_string()),
                                }
                            }
                            // Our offer stays ours: re-INVITEs we send are offers.
                            s.confirmed = true;
                        }
                        if let Some(msg) = bad_codec {
                            ua.emit(UaEvent::Problem(msg));
                        } else if let Some(r) = remote.as_ref().filter(|_| !webrtc) {
                            ua.start_rtp_media(leg, r);
                        } else if webrtc {
                            ua.start_webrtc_audio(leg);
                        }
                        ua.call_event(SipInput::Answered { leg });
                    } else {
                        ua.forget(leg);
                        ua.call_event(SipInput::Failed {
                            leg,
                            code: Some(code),
                        });
                    }
                }
                Err(code) => {
                    ua.forget(leg);
                    ua.call_event(SipInput::Failed { leg, code });
                }
            }
        });
        // Kept until a final response (`forget` drops it after the leg's
        // state, so checking the leg under this lock never leaves a stale one).
        let mut invites = self.inner.invites.lock().expect("invites lock");
        if self
            .inner
            .legs
            .lock()
            .expect("legs lock")
            .contains_key(&leg)
        {
            invites.insert(leg, task.abort_handle());
        }
    }
}
