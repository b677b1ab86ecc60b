//! What the dialog layer reports: early / confirmed dialogs, the peer's
//! re-INVITEs, INFO, NOTIFY, REFER, and the end of a dialog.

use rsipstack::dialog::DialogId;
use rsipstack::dialog::dialog::{
    DialogState, DialogStateReceiver, TerminatedReason, TransactionHandle,
};
use rsipstack::sip::{Method, StatusCode};

use super::{SipUa, UaEvent, parse_dtmf_relay, parse_sipfrag};
use crate::call::softphone::SipInput;
use crate::sip::sdp;

/// How long a NOTIFY's progress waits for our 200 to leave (see `on_state`).
const NOTIFY_SETTLE: std::time::Duration = std::time::Duration::from_millis(30);

impl SipUa {
    pub(super) async fn state_loop(self, mut rx: DialogStateReceiver) {
        while let Some(state) = rx.recv().await {
            self.on_state(state).await;
        }
    }

    pub(super) async fn on_state(&self, state: DialogState) {
        match state {
            DialogState::Early(id, resp) => {
                if let Some(leg) = self.leg_for(&id) {
                    self.call_event(SipInput::Progress {
                        leg,
                        code: u16::from(resp.status_code.clone()),
                    });
                }
            }
            DialogState::Confirmed(id, _) => {
                let Some(leg) = self.leg_for(&id) else { return };
                // Confirmed repeats after every answered re-INVITE: report
                // only the first, for inbound calls (ACK of our 200).
                let first = {
                    let mut legs = self.inner.legs.lock().expect("legs lock");
                    match legs.get_mut(&leg) {
                        Some(s) if s.inbound && !s.confirmed => {
                            s.confirmed = true;
                            true
                        }
                        _ => false,
                    }
                };
                if first {
                    let remote = self
                        .inner
                        .legs
                        .lock()
                        .expect("legs lock")
                        .get(&leg)
                        .and_then(|s| s.remote.clone());
                    if let Some(r) = remote {
                        self.start_rtp_media(leg, &r);
                    }
                    self.call_event(SipInput::Confirmed { leg });
                }
            }
            DialogState::Updated(id, req, handle) => self.on_update(id, req, handle).await,
            DialogState::Info(id, req, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
                if let Some(leg) = self.leg_for(&id)
                    && let Some(digit) = parse_dtmf_relay(&String::from_utf8_lossy(&req.body))
                {
                    self.call_event(SipInput::Dtmf { leg, digit });
                }
            }
            DialogState::Notify(id, req, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
                if let Some(leg) = self.leg_for(&id)
                    && let Some(code) = parse_sipfrag(&String::from_utf8_lossy(&req.body))
                {
                    // The stack sends our 200 from its own task: let it
                    // leave before the BYE or REFER this NOTIFY leads to,
                    // so a strict peer sees them in order.
                    tokio::time::sleep(NOTIFY_SETTLE).await;
                    let done = code >= 200;
                    self.call_event(SipInput::TransferProgress { leg, code, done });
                }
            }
            DialogState::Options(_, _, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
            }
            DialogState::Refer(_, _, handle) => {
                // Being transferred away is not something an agent console
                // does silently (RFC 3515 §2.4.2 allows refusing).
                let _ = handle.reply(StatusCode::Forbidden).await;
                self.emit(UaEvent::Problem(
                    "the other party asked to transfer this call; refused".to_string(),
                ));
            }
            DialogState::Message(_, _, handle) | DialogState::Publish(_, _, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
            }
            DialogState::Terminated(id, reason) => self.on_terminated(id, reason),
            DialogState::Calling(_) | DialogState::Trying(_) | DialogState::WaitAck(_, _) => {}
        }
    }

    /// A re-INVITE or UPDATE from the peer: answer it, and tell the agent
    /// when it is a hold or a resume (RFC 3264 §8.4).
    pub(super) async fn on_update(
        &self,
        id: DialogId,
        req: rsipstack::sip::Request,
        handle: TransactionHandle,
    ) {
        let Some(leg) = self.leg_for(&id) else {
            let _ = handle.reply(StatusCode::CallTransactionDoesNotExist).await;
            return;
        };
        if req.method != Method::Invite && req.method != Method::Update {
            let _ = handle.reply(StatusCode::OK).await;
            return;
        }
        if req.body.is_empty() {
            // A session refresh (RFC 4028) or an offerless re-INVITE: answer
            // with our current SDP as an offer.
            let sdp = self
                .webrtc_local_sdp(leg)
                .or_else(|| self.leg_sdp(leg, false));
            let _ = handle
                .respond(
                    StatusCode::OK,
                    Some(vec![Self::sdp_header()]),
                    sdp.map(String::into_bytes),
                )
                .await;
            return;
        }
        let remote = match sdp::parse(&String::from_utf8_lossy(&req.body)) {
            Ok(r) => r,
            Err(e) => {
                self.emit(UaEvent::Problem(format!("re-INVITE refused: {e}")));
                let _ = handle.reply(StatusCode::NotAcceptableHere).await;
                return;
            }
        };
        if self.is_webrtc(leg) {
            return self.webrtc_update(leg, remote, &req.body, handle).await;
        }
        let codec = match sdp::choose_codec(&remote, self.inner.cfg.codecs.as_slice()) {
            Ok(c) => c,
            Err(e) => {
                self.emit(UaEvent::Problem(format!("re-INVITE refused: {e}")));
                let _ = handle.reply(StatusCode::NotAcceptableHere).await;
                return;
            }
        };
        let (answer, was_held) = {
            let mut legs = self.inner.legs.lock().expect("legs lock");
            let Some(st) = legs.get_mut(&leg) else { return };
            let was_held = st.remote.as_ref().is_some_and(|r| r.direction.is_hold());
            st.sdp_version += 1;
            st.codec = codec;
            let local = self.local_audio(st.rtp_port, st.sdp_version, sdp::Direction::SendRecv);
            let answer = local.answer(&remote, codec, st.held_by_us);
            st.remote = Some(remote.clone());
            (answer, was_held)
        };
        let _ = handle
            .respond(
                StatusCode::OK,
                Some(vec![Self::sdp_header()]),
                Some(answer.into_bytes()),
            )
            .await;
        self.rtp_follow_offer(leg, &remote, codec);
        let now_held = remote.direction.is_hold();
        if now_held != was_held {
            self.call_event(SipInput::RemoteHold {
                leg,
                held: now_held,
            });
        }
    }

    pub(super) fn on_terminated(&self, id: DialogId, reason: TerminatedReason) {
        self.inner.dialogs.remove_dialog(&id);
        let Some(leg) = self.leg_for(&id) else { return };
        let (ended_locally, inbound, confirmed) = {
            let legs = self.inner.legs.lock().expect("legs lock");
            match legs.get(&leg) {
                Some(s) => (s.ended_locally, s.inbound, s.confirmed),
                None => return,
            }
        };
        if ended_locally {
            self.forget(leg);
            return;
        }
        if !inbound {
            // Outbound failures arrive through the INVITE's final response;
            // only a BYE after answer is news here.
            if confirmed {
                self.forget(leg);
                self.call_event(SipInput::RemoteBye { leg });
            }
            return;
        }
        self.forget(leg);
        match reason {
            TerminatedReason::UacCancel => self.call_event(SipInput::RemoteCancel { leg }),
            TerminatedReason::Timeout if !confirmed => {
                self.call_event(SipInput::Failed { leg, code: None })
            }
            _ if !confirmed => self.call_event(SipInput::RemoteCancel { leg }),
            _ => self.call_event(SipInput::RemoteBye { leg }),
        }
    }
}
