//! Being transferred, on the UA's side: a REFER we receive (RFC 3515) and
//! an INVITE with Replaces (RFC 3891). The call core decides; this parses,
//! matches dialogs and speaks the wire:
//!
//! - REFER on a call: the Refer-To URI and its `Replaces` header (RFC 3891
//!   §6.1) go to the core as `SipInput::Referred`; the REFER's transaction
//!   waits (at most 64*T1, the stack's bound) for `SipAction::AnswerRefer`;
//! - after a 202 the implicit subscription's NOTIFYs (message/sipfrag,
//!   RFC 3515 §2.4.4–§2.4.5) leave one at a time, in order, from one task,
//!   so "100 Trying" never overtakes the 202 and "200 OK" never overtakes
//!   "180 Ringing";
//! - `SipAction::InviteReplacing`: our INVITE carrying the Replaces value;
//! - an INVITE with Replaces: matched against our confirmed dialogs by
//!   Call-ID, our tag (to-tag) and theirs (from-tag) (RFC 3891 §3); no
//!   match is 481, `early-only` on a confirmed dialog is 486.

use std::collections::HashMap;

use rsipstack::dialog::DialogId;
use rsipstack::dialog::dialog::TransactionHandle;
use rsipstack::sip::{Header, StatusCode};
use tokio::sync::mpsc;

use super::dialog_state::NOTIFY_SETTLE;
use super::{Leg, SipInput, SipUa, UaEvent};

/// One step of the REFERs we received, in the order the core asked.
enum Job {
    /// Final answer to the REFER (202 starts the subscription: NOTIFY 100).
    Answer { leg: Leg, code: u16 },
    /// A NOTIFY with the referred INVITE's status (`done`: the last one).
    Notify { leg: Leg, code: u16, done: bool },
}

#[derive(Default)]
pub(super) struct Transferee {
    /// REFERs waiting for the core's decision.
    pending: HashMap<Leg, TransactionHandle>,
    /// The one task that answers REFERs and sends their NOTIFYs.
    queue: Option<mpsc::UnboundedSender<Job>>,
}

/// An RFC 3891 Replaces value, decoded: `call-id;to-tag=x;from-tag=y`.
#[derive(Debug, PartialEq, Eq)]
pub struct Replaces {
    pub call_id: String,
    pub to_tag: String,
    pub from_tag: String,
    pub early_only: bool,
}

/// Parse a Replaces value (RFC 3891 §6.1); `None` when it lacks a part.
pub fn parse_replaces(v: &str) -> Option<Replaces> {
    let mut parts = v.split(';').map(str::trim);
    let call_id = parts.next().filter(|c| !c.is_empty())?.to_string();
    let (mut to_tag, mut from_tag, mut early_only) = (None, None, false);
    for p in parts {
        let (k, val) = p.split_once('=').unwrap_or((p, ""));
        match k.trim().to_ascii_lowercase().as_str() {
            "to-tag" => to_tag = Some(val.trim().to_string()),
            "from-tag" => from_tag = Some(val.trim().to_string()),
            "early-only" => early_only = true,
            _ => {}
        }
    }
    let ok = |t: &str| !t.is_empty() && super::super::target::wire_safe(t);
    Some(Replaces {
        to_tag: to_tag.filter(|t| ok(t))?,
        from_tag: from_tag.filter(|t| ok(t))?,
        early_only,
        call_id: Some(call_id).filter(|c| ok(c))?,
    })
}

impl SipUa {
    /// A REFER on one of our calls: hand it to the core, keep the
    /// transaction for its answer.
    pub(super) async fn on_refer(
        &self,
        id: DialogId,
        req: rsipstack::sip::Request,
        handle: TransactionHandle,
    ) {
        let Some(leg) = self.leg_for(&id) else {
            let _ = handle.reply(StatusCode::CallTransactionDoesNotExist).await;
            return;
        };
        let refer_to = req.headers.iter().find_map(|h| match h {
            Header::ReferTo(r) => Some(r.value().to_string()),
            Header::Other(n, v) if n.eq_ignore_ascii_case("Refer-To") || n == "r" => {
                Some(v.clone())
            }
            _ => None,
        });
        let Some(refer_to) = refer_to else {
            // RFC 3515 §2.4.1: exactly one Refer-To, or 400.
            let _ = handle.reply(StatusCode::BadRequest).await;
            return;
        };
        let t = rsipstack::sip::event_packages::parse_refer_to(&refer_to);
        if t.replaces
            .as_deref()
            .is_some_and(|r| parse_replaces(r).is_none())
        {
            let _ = handle.reply(StatusCode::BadRequest).await;
            return;
        }
        self.inner
            .transferee
            .lock()
            .expect("transferee lock")
            .pending
            .insert(leg, handle);
        self.call_event(SipInput::Referred {
            leg,
            target: t.uri,
            replaces: t.replaces,
        });
    }

    pub(super) fn answer_refer(&self, leg: Leg, code: u16) {
        self.transfer_job(Job::Answer { leg, code });
    }

    pub(super) fn refer_notify(&self, leg: Leg, code: u16, done: bool) {
        self.transfer_job(Job::Notify { leg, code, done });
    }

    fn transfer_job(&self, job: Job) {
        let mut t = self.inner.transferee.lock().expect("transferee lock");
        let tx = t.queue.get_or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(self.clone().transfer_loop(rx));
            tx
        });
        let _ = tx.send(job);
    }

    async fn transfer_loop(self, mut rx: mpsc::UnboundedReceiver<Job>) {
        while let Some(job) = rx.recv().await {
            match job {
                Job::Answer { leg, code } => {
                    let handle = self
                        .inner
                        .transferee
                        .lock()
                        .expect("transferee lock")
                        .pending
                        .remove(&leg);
                    let Some(h) = handle else { continue };
                    let _ = h.reply(StatusCode::from(code)).await;
                    if code == 202 {
                        // The stack sends the 202 from its own task: let it
                        // leave before the first NOTIFY (RFC 3515 §2.4.4).
                        tokio::time::sleep(NOTIFY_SETTLE).await;
                        self.send_notify(leg, 100, false).await;
                    }
                }
                Job::Notify { leg, code, done } => self.send_notify(leg, code, done).await,
            }
        }
    }

    async fn send_notify(&self, leg: Leg, code: u16, done: bool) {
        let Some(d) = self.dialog_of(leg) else { return };
        let status = StatusCode::from(code);
        let state = if done {
            "terminated;reason=noresource"
        } else {
            "active;expires=60"
        };
        let headers = vec![
            Header::Event("refer".into()),
            Header::SubscriptionState(state.into()),
            Header::ContentType("message/sipfrag;version=2.0".into()),
        ];
        let body = format!("SIP/2.0 {code} {}\r\n", status.text());
        if let Err(e) = d.notify(Some(headers), Some(body.into_bytes())).await {
            tracing::debug!(error = %e, "NOTIFY of a REFER failed");
        }
    }

    /// The confirmed dialog an INVITE's Replaces header names: `Ok(None)`
    /// without the header, `Err(code)` when it names none we may replace.
    pub(super) fn replaced_leg(
        &self,
        req: &rsipstack::sip::Request,
    ) -> Result<Option<Leg>, StatusCode> {
        let value = req.headers.iter().find_map(|h| match h {
            Header::Replaces(r) => Some(r.value().to_string()),
            Header::Other(n, v) if n.eq_ignore_ascii_case("Replaces") => Some(v.clone()),
            _ => None,
        });
        let Some(value) = value else { return Ok(None) };
        let r = parse_replaces(&value).ok_or(StatusCode::BadRequest)?;
        let legs = self.inner.legs.lock().expect("legs lock");
        let found = legs.iter().find_map(|(leg, s)| {
            let id = s.dialog.as_ref()?.id();
            (id.call_id == r.call_id && id.local_tag == r.to_tag && id.remote_tag == r.from_tag)
                .then_some((*leg, s.confirmed && !s.ended_locally))
        });
        match found {
            Some((leg, true)) if !r.early_only => Ok(Some(leg)),
            // RFC 3891 §3: early-only and the dialog is confirmed.
            Some((_, true)) => Err(StatusCode::BusyHere),
            // RFC 3891 §3: no such dialog, or not one we can take over.
            _ => Err(StatusCode::CallTransactionDoesNotExist),
        }
    }

    /// Our INVITE for a REFER whose Refer-To carried Replaces.
    pub(super) fn invite_replacing(&self, leg: Leg, target: String, replaces: &str) {
        let Some(r) = parse_replaces(replaces) else {
            self.emit(UaEvent::Problem("a malformed Replaces value".into()));
            return self.call_event(SipInput::Failed { leg, code: None });
        };
        let value = format!(
            "{};to-tag={};from-tag={}{}",
            r.call_id,
            r.to_tag,
            r.from_tag,
            if r.early_only { ";early-only" } else { "" }
        );
        // `Require: replaces` (the option tag of RFC 3891): a UA without
        // the extension refuses (420) rather than ringing as a new call.
        let extra = vec![
            Header::Replaces(value.into()),
            Header::Require("replaces".into()),
        ];
        if self.inner.cfg.media == crate::sip::MediaMode::Webrtc {
            tokio::spawn(self.clone().webrtc_invite(leg, target, extra));
        } else {
            self.invite(leg, target, extra);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_values() {
        assert_eq!(
            parse_replaces("abc@h;to-tag=1;from-tag=2"),
            Some(Replaces {
                call_id: "abc@h".into(),
                to_tag: "1".into(),
                from_tag: "2".into(),
                early_only: false
            })
        );
        assert!(
            parse_replaces("abc@h;from-tag=2;early-only;to-tag=1")
                .is_some_and(|r| r.early_only && r.to_tag == "1")
        );
        assert_eq!(parse_replaces("abc@h;to-tag=1"), None);
        assert_eq!(parse_replaces(";to-tag=1;from-tag=2"), None);
        assert_eq!(parse_replaces("a\r\nX: y;to-tag=1;from-tag=2"), None);
    }
}
