//! [`SipAction`]s from the call logic, dispatched to the wire. Network
//! waits happen in spawned tasks: the engine loop never blocks on them.

use rsipstack::sip::StatusCode;

use super::{SipUa, UaEvent};
use crate::call::softphone::{Leg, SipAction};
use crate::sip::config::MediaMode;

impl SipUa {
    /// Run one action. Network waits happen in spawned tasks: the engine
    /// loop never blocks on the wire.
    pub fn execute(&self, action: SipAction) {
        let ua = self.clone();
        if let SipAction::Invite { leg, .. } = &action {
            // Outbound legs are numbered by the call logic, inbound ones
            // here: keep the two apart, so a call that arrives while our
            // own call is up (or right after it) never reuses its number
            // (its leg state, its `call-<n>-heard.wav`).
            let mut n = self.inner.next_leg.lock().expect("leg lock");
            *n = (*n).max(leg.0 + 1);
        }
        match action {
            SipAction::Invite { leg, target } if ua.inner.cfg.media == MediaMode::Webrtc => {
                tokio::spawn(ua.webrtc_invite(leg, target));
            }
            SipAction::Invite { leg, target } => ua.invite(leg, target),
            SipAction::Ringing { leg } => {
                if let Some(d) = ua.dialog_of(leg) {
                    let _ = d.ringing(None, None);
                }
            }
            SipAction::Accept { leg } => {
                if ua.webrtc_accept(leg) {
                    return;
                }
                let sdp = ua.leg_sdp(leg, false);
                if let Some(d) = ua.dialog_of(leg) {
                    let r = d.accept(Some(vec![Self::sdp_header()]), sdp.map(String::into_bytes));
                    if let Err(e) = r {
                        ua.emit(UaEvent::Problem(format!("could not answer: {e}")));
                    }
                }
            }
            SipAction::Reject { leg, code } => {
                ua.mark_local_end(leg);
                if let Some(d) = ua.dialog_of(leg) {
                    let _ = d.reject(Some(StatusCode::from(code)), None);
                }
                ua.forget(leg);
            }
            SipAction::Cancel { leg } => {
                ua.mark_local_end(leg);
                if let Some(d) = ua.dialog_of(leg) {
                    tokio::spawn(async move {
                        if let Err(e) = d.cancel().await {
                            tracing::debug!(error = %e, "CANCEL failed");
                        }
                    });
                }
            }
            SipAction::Bye { leg } => {
                ua.mark_local_end(leg);
                // RFC 3261 §15.1.1: the session is over (no media sent or
                // listened to) once the BYE is passed to its transaction,
                // not when (or if) the far end answers it.
                ua.stop_rtp_media(leg);
                if let Some(d) = ua.dialog_of(leg) {
                    tokio::spawn(async move {
                        if let Err(e) = d.bye().await {
                            tracing::debug!(error = %e, "BYE failed");
                        }
                        ua.forget(leg);
                    });
                }
            }
            SipAction::Hold { leg, hold } => {
                tokio::spawn(async move { ua.hold(leg, hold).await });
            }
            SipAction::Refer { leg, target } => {
                tokio::spawn(async move { ua.refer(leg, target, None).await });
            }
            SipAction::AttendedRefer {
                leg,
                target,
                replaces,
            } => {
                tokio::spawn(async move { ua.refer(leg, target, Some(replaces)).await });
            }
            // RFC 4733 in the audio when the peer took telephone-event,
            // SIP INFO (application/dtmf-relay) otherwise.
            SipAction::Dtmf { leg, digit } => {
                if !ua.rtp_send_dtmf(leg, digit) {
                    tokio::spawn(async move { ua.dtmf_info(leg, digit).await });
                }
            }
            // Mute is local media: no signalling.
            SipAction::Mute { leg, mute } => {
                ua.webrtc_set_mute(leg, mute);
                ua.rtp_set_mute(leg, mute);
            }
            SipAction::Abandon { leg } => ua.abandon(leg),
            SipAction::Conference { legs } => ua.conference(&legs),
            SipAction::EndConference => ua.end_conference(),
            SipAction::WaitingBeep { leg } => ua.waiting_beep(leg),
        }
    }

    /// A CANCELled INVITE that got no final response in 64*T1 (RFC 3261
    /// §9.1): the dialog leaves the dialog layer, the INVITE task is
    /// stopped (rsipstack's guard then ends its transaction), and the leg's
    /// RTP socket and state are freed.
    pub(super) fn abandon(&self, leg: Leg) {
        self.mark_local_end(leg);
        if let Some(d) = self.dialog_of(leg) {
            self.inner.dialogs.remove_dialog(&d.id());
        }
        let task = self
            .inner
            .invites
            .lock()
            .expect("invites lock")
            .remove(&leg);
        if let Some(t) = task {
            t.abort();
        }
        self.forget(leg);
    }
}
