//! The binding check of a UDP account (`[sip] keepalive_s`): OPTIONS to
//! our own address of record through the registrar, judged by
//! `sip::binding_check` (which explains why).

use std::time::Duration;

use rsipstack::dialog::authenticate::{AuthRetry, handle_client_authenticate};
use rsipstack::sip::SipMessage;
use rsipstack::sip::{Method, StatusCode};
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transaction::transaction::Transaction;
use tokio::time::Instant;

use super::SipUa;
use crate::sip::Transport;
use crate::sip::binding_check::{BindingCheck, Step};

impl SipUa {
    /// Wait `wait` (until the refresh), checking every `keepalive_s` that
    /// the registrar still routes our address to us. `Some(status)` (the
    /// probe's answer, `None` for none) as soon as it does not: register
    /// again now. Only UDP accounts probe; a stream account learns of a
    /// restart from its closed connection (`transport_lost`).
    pub(super) async fn sleep_watching_binding(&self, wait: Duration) -> Option<Option<u16>> {
        let until = Instant::now() + wait;
        let every = self.inner.cfg.keepalive_s;
        if every == 0 || self.inner.cfg.transport != Transport::Udp {
            tokio::time::sleep_until(until).await;
            return None;
        }
        let every = Duration::from_secs(u64::from(every));
        let mut check = BindingCheck::default();
        check.registered();
        // The first probe right after the REGISTER calibrates the check.
        let mut next = Instant::now();
        loop {
            tokio::time::sleep_until(next.min(until)).await;
            if Instant::now() >= until {
                return None;
            }
            // A probe still unanswered at the refresh gives way to it.
            let status = tokio::select! {
                s = self.probe_binding() => s,
                _ = tokio::time::sleep_until(until) => return None,
            };
            match check.answer(status) {
                Step::Keep => next = Instant::now() + every,
                Step::Reregister => {
                    tracing::info!(
                        status = ?status,
                        "the registrar no longer routes our address to us (did it restart?): registering again"
                    );
                    return Some(status);
                }
                Step::Useless => {
                    tracing::info!(
                        status = ?status,
                        "the registrar does not route OPTIONS to our binding: no binding check until the next registration"
                    );
                    tokio::time::sleep_until(until).await;
                    return None;
                }
            }
        }
    }

    /// One OPTIONS to our own address of record; its final status, or
    /// `None` when it could not be sent. Timer F (no answer) comes back as
    /// the transaction layer's own 408.
    async fn probe_binding(&self) -> Option<u16> {
        let inner = &self.inner;
        let aor: rsipstack::sip::Uri = format!("sip:{}@{}", inner.cfg.user, inner.cfg.domain())
            .as_str()
            .try_into()
            .ok()?;
        let ep = &inner.endpoint;
        let via = ep.get_via(None, None).ok()?;
        let from = rsipstack::sip::typed::From {
            display_name: None,
            uri: aor.clone(),
            params: vec![],
        }
        .with_tag(rsipstack::transaction::make_tag());
        let to = rsipstack::sip::typed::To {
            display_name: None,
            uri: aor.clone(),
            params: vec![],
        };
        let mut seq = 1;
        let request = ep.make_request(Method::Options, aor, via, from, to, seq, None);
        let key = TransactionKey::from_request(&request, TransactionRole::Client).ok()?;
        let mut tx = Transaction::new_client(key, request, ep.clone(), None);
        tx.destination = Some(inner.server.clone());
        tx.send().await.ok()?;
        let mut auth = AuthRetry::new();
        while let Some(msg) = tx.receive().await {
            let SipMessage::Response(resp) = msg else {
                continue;
            };
            match resp.status_code {
                ref s if s.kind() == rsipstack::sip::StatusCodeKind::Provisional => continue,
                // The proxy challenges requests from its own users (RFC
                // 3261 §22.3): answer once with the account's credentials.
                StatusCode::Unauthorized | StatusCode::ProxyAuthenticationRequired
                    if !inner.cred.password.is_empty() && auth.should_answer(&resp) =>
                {
                    seq += 1;
                    tx = handle_client_authenticate(seq, &tx, resp, &inner.cred)
                        .await
                        .ok()?;
                    tx.destination = Some(inner.server.clone());
                    tx.send().await.ok()?;
                }
                ref s => return Some(u16::from(s.clone())),
            }
        }
        None
    }
}
