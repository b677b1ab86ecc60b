//! Requests we send inside a dialog: hold / resume re-INVITEs, REFER
//! (blind and with Replaces), DTMF over SIP INFO.

use rsipstack::sip::Header;

use super::{SipUa, UaEvent, escape_uri_header};
use crate::call::softphone::{Leg, SipInput};
use crate::sip::sdp;

impl SipUa {
    pub(super) async fn hold(&self, leg: Leg, hold: bool) {
        if self.webrtc_hold_refused(leg, hold) {
            return;
        }
        let Some(d) = self.dialog_of(leg) else { return };
        // Hold: we offer sendonly (RFC 6337 §5.3), resume: sendrecv.
        let offer = {
            let mut legs = self.inner.legs.lock().expect("legs lock");
            let Some(st) = legs.get_mut(&leg) else { return };
            st.sdp_version += 1;
            let dir = if hold {
                sdp::Direction::SendOnly
            } else {
                sdp::Direction::SendRecv
            };
            let mut local = self.local_audio(st.rtp_port, st.sdp_version, dir);
            local.codecs = vec![st.codec];
            local.telephone_events = sdp::our_telephone_events(&local.codecs);
            local.render()
        };
        let resp = d
            .reinvite(Some(vec![Self::sdp_header()]), Some(offer.into_bytes()))
            .await;
        let ok = matches!(&resp, Ok(Some(r)) if u16::from(r.status_code.clone()) / 100 == 2);
        if ok {
            self.rtp_set_hold(leg, hold);
            if let Some(s) = self.inner.legs.lock().expect("legs lock").get_mut(&leg) {
                s.held_by_us = hold;
                // Our offer, their answer: from now on we are the offerer,
                // so an offerless re-INVITE gets an offer, not an answer to
                // the peer's old SDP.
                s.remote = None;
            }
        }
        self.call_event(SipInput::HoldResult {
            leg,
            held: hold,
            ok,
        });
    }

    pub(super) async fn refer(&self, leg: Leg, target: String, replaces: Option<Leg>) {
        let Some(d) = self.dialog_of(leg) else { return };
        let uri = match self.target_uri(&target) {
            Ok(u) => u,
            Err(e) => {
                self.emit(UaEvent::Problem(e));
                return;
            }
        };
        let refer_to = match replaces.map(|r| self.replaces_of(r)) {
            None => rsipstack::sip::ReferTo::from(uri),
            Some(Some(r)) => rsipstack::sip::ReferTo::new(format!("<{uri}?Replaces={r}>")),
            // The consult dialog is gone: nothing to replace.
            Some(None) => {
                return self.call_event(SipInput::ReferAnswered { leg, code: 481 });
            }
        };
        match d.refer(refer_to, None, None).await {
            Ok(Some(r)) => {
                let code = u16::from(r.status_code.clone());
                // 202 Accepted: progress follows in NOTIFY (RFC 3515 §2.4.4).
                self.call_event(SipInput::ReferAnswered { leg, code });
            }
            _ => self.call_event(SipInput::ReferAnswered { leg, code: 408 }),
        }
    }

    /// The escaped `Replaces` value (RFC 3891 §6.1) naming `leg`'s dialog
    /// as its other end sees it: to-tag is that end's tag (our remote
    /// tag), from-tag ours (RFC 5589 §7.1).
    pub(super) fn replaces_of(&self, leg: Leg) -> Option<String> {
        let id = self.dialog_of(leg)?.id();
        let raw = format!(
            "{};to-tag={};from-tag={}",
            id.call_id, id.remote_tag, id.local_tag
        );
        Some(escape_uri_header(&raw))
    }

    pub(super) async fn dtmf_info(&self, leg: Leg, digit: char) {
        let Some(d) = self.dialog_of(leg) else { return };
        let body = format!("Signal={digit}\r\nDuration=160\r\n");
        let headers = vec![Header::ContentType("application/dtmf-relay".into())];
        match d.info(Some(headers), Some(body.into_bytes())).await {
            Ok(Some(r)) if u16::from(r.status_code.clone()) / 100 == 2 => {}
            Ok(Some(r)) => self.emit(UaEvent::Problem(format!(
                "DTMF {digit} refused: {}",
                u16::from(r.status_code.clone())
            ))),
            _ => self.emit(UaEvent::Problem(format!("DTMF {digit}: no answer"))),
        }
    }
}
