//! Requests outside a dialog: a new INVITE becomes a ringing leg (or a
//! 486/488/481 at once); OPTIONS, stray BYE/CANCEL and the rest are answered.

use rsipstack::dialog::dialog::Dialog;
use rsipstack::sip::prelude::*;
use rsipstack::sip::{Header, Method, StatusCode};
use rsipstack::transaction::TransactionReceiver;

use super::{LegState, SipUa, UaEvent, caller_identity};
use crate::call::softphone::SipInput;
use crate::sip::sdp;

impl SipUa {
    pub(super) async fn incoming_loop(self, mut incoming: TransactionReceiver) {
        while let Some(mut tx) = incoming.recv().await {
            let method = tx.original.method;
            // In-dialog requests (BYE, re-INVITE, INFO, REFER, NOTIFY, ACK).
            if let Some(dialog) = self.inner.dialogs.match_dialog(&tx) {
                tokio::spawn(async move {
                    let mut dialog = dialog;
                    let r = match &mut dialog {
                        Dialog::Invite(d) => d.handle(&mut tx).await,
                        _ => Ok(()),
                    };
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "in-dialog request failed");
                    }
                });
                continue;
            }
            match method {
                Method::Invite => self.new_inbound(tx).await,
                Method::Options => {
                    // RFC 3261 §11.2: tell what we support.
                    let _ = tx.reply(StatusCode::OK).await;
                }
                Method::Ack => {}
                Method::Bye | Method::Cancel => {
                    let _ = tx.reply(StatusCode::CallTransactionDoesNotExist).await;
                }
                _ => {
                    let _ = tx.reply(StatusCode::MethodNotAllowed).await;
                }
            }
        }
    }

    pub(super) async fn new_inbound(
        &self,
        mut tx: rsipstack::transaction::transaction::Transaction,
    ) {
        if self.ringing_inbound() >= crate::sip::admission::MAX_RINGING_INBOUND {
            // Busy Here at once (RFC 3261 §21.4.24): no dialog, no RTP port,
            // no event for the call logic.
            let _ = tx.reply(StatusCode::BusyHere).await;
            return;
        }
        let req = tx.original.clone();
        let remote = sdp::parse(&String::from_utf8_lossy(&req.body));
        let (number, display_name) = caller_identity(&req);
        let call_id = req
            .call_id_header()
            .map(|h| h.value().to_string())
            .unwrap_or_default();
        // An offer we cannot answer is refused now (RFC 3261 §21.4.26 488).
        let (remote, codec) = match remote {
            Ok(r) if r.webrtc => (Some(r), sdp::PCMU),
            Ok(r) => match sdp::choose_codec(&r, self.inner.cfg.codecs.as_slice()) {
                Ok(c) => (Some(r), c),
                Err(e) => {
                    self.emit(UaEvent::Problem(format!("call from {number} refused: {e}")));
                    let _ = tx.reply(StatusCode::NotAcceptableHere).await;
                    return;
                }
            },
            // No SDP in the INVITE: we will offer in the 200 (RFC 3264 §4).
            Err(_) if req.body.is_empty() => (None, sdp::PCMU),
            Err(e) => {
                self.emit(UaEvent::Problem(format!("call from {number} refused: {e}")));
                let _ = tx.reply(StatusCode::NotAcceptableHere).await;
                return;
            }
        };
        // rsipstack appends the arrival transport to the remote target when
        // the Contact names none (and its Contact parser drops an explicit
        // `transport=udp`), which sends our BYE to a UDP phone over TCP/WS.
        // Behind a proxy (Record-Route present) the dialog needs no flow
        // affinity: in-dialog requests follow the route set. So hide the
        // connection while the dialog is created.
        let proxied = req
            .headers
            .iter()
            .any(|h| matches!(h, Header::RecordRoute(_)));
        let flow = if proxied { tx.connection.take() } else { None };
        let created = self.inner.dialogs.get_or_create_server_invite(
            &tx,
            self.inner.state_tx.clone(),
            Some(self.inner.cred.clone()),
            Some(self.inner.contact.clone()),
        );
        if flow.is_some() {
            tx.connection = flow;
        }
        let dialog = match created {
            Ok(d) => d,
            Err(e) => {
                // The request's fault, not ours: 481 for a To tag that names
                // no dialog (RFC 3261 §12.2.2), 400 otherwise (§21.4.1).
                tracing::debug!(error = %e, "cannot create a dialog for an INVITE");
                let status = match e {
                    rsipstack::Error::DialogError(_, _, code) if code.code() < 500 => code,
                    _ => StatusCode::BadRequest,
                };
                let _ = tx.reply(status).await;
                return;
            }
        };
        let leg = self.new_leg();
        if remote.as_ref().is_some_and(|r| r.webrtc) {
            self.webrtc_note_offer(leg, &String::from_utf8_lossy(&req.body));
        }
        let (rtp, rtp_port) = self.bind_rtp();
        self.inner.legs.lock().expect("legs lock").insert(
            leg,
            LegState {
                dialog: Some(dialog.clone()),
                rtp,
                rtp_port,
                remote,
                codec,
                sdp_version: 1,
                held_by_us: false,
                ended_locally: false,
                inbound: true,
                confirmed: false,
            },
        );
        self.inner
            .by_call_id
            .lock()
            .expect("call-id lock")
            .insert(call_id, leg);
        let mut d = dialog;
        tokio::spawn(async move {
            if let Err(e) = d.handle(&mut tx).await {
                tracing::debug!(error = %e, "inbound INVITE transaction ended");
            }
        });
        self.call_event(SipInput::Incoming {
            leg,
            number,
            display_name,
        });
    }

    /// Inbound legs not yet answered and ACKed.
    pub(super) fn ringing_inbound(&self) -> usize {
        let legs = self.inner.legs.lock().expect("legs lock");
        legs.values().filter(|s| s.inbound && !s.confirmed).count()
    }
}
