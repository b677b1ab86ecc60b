//! The first look at every request that reaches our SIP port, before
//! rsipstack makes a transaction of it:
//!
//! - a request without the headers a transaction and a dialog need gets
//!   400 with the reason in the phrase (RFC 3261 §8.2.2 and §21.4.1:
//!   "Missing Call-ID header field"), instead of a 500 from deep in the
//!   stack or no answer at all;
//! - an INVITE that would start a dialog passes [`Admission`]; over the
//!   limit it gets 503 with Retry-After (RFC 3261 §21.5.4, §20.33).
//!
//! Both answers are stateless (RFC 3261 §8.2.7): no transaction, no timer,
//! nothing kept, and they go back to the packet's source address only (no
//! reflection towards a Via someone wrote).

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rsipstack::sip::prelude::*;
use rsipstack::sip::{Header, Method, Request, Response, SipMessage, StatusCode};
use rsipstack::transaction::endpoint::TransportEventInspector;
use rsipstack::transport::{SipConnection, TransportEvent};

use super::admission::{Admission, Limits, Verdict};

/// What becomes of one incoming request.
#[derive(Debug)]
pub enum Decision {
    /// On to the stack.
    Pass,
    /// Answer this, statelessly, and forget the request.
    Reply(Box<Response>),
    /// Nothing can be answered (no Via to put in a response).
    Drop,
}

/// Refusals are logged as a summary at most this often, never one line
/// per packet (a flood must not become a log flood).
const REPORT_EVERY: Duration = Duration::from_secs(10);

pub struct Gate {
    state: Mutex<State>,
    server: String,
    /// Our stream listeners (TCP): a connection whose local address is one
    /// of these was accepted from outside, and is rate-limited as UDP is.
    listeners: Vec<SocketAddr>,
    /// Told when a stream we dialled (the registrar's TCP, TLS or
    /// WebSocket connection) closes: the registration went with it.
    dialled_closed: Option<std::sync::Arc<tokio::sync::Notify>>,
}

struct State {
    admission: Admission,
    refused: u64,
    malformed: u64,
    reported: Option<Instant>,
}

impl Gate {
    pub fn new(limits: Limits, server: &str, now: Instant) -> Gate {
        Gate {
            state: Mutex::new(State {
                admission: Admission::new(limits, now),
                refused: 0,
                malformed: 0,
                reported: None,
            }),
            server: server.to_string(),
            listeners: Vec::new(),
            dialled_closed: None,
        }
    }

    /// Notify `n` when a stream connection we dialled closes.
    pub fn on_dialled_stream_closed(mut self, n: std::sync::Arc<tokio::sync::Notify>) -> Gate {
        self.dialled_closed = Some(n);
        self
    }

    fn accepted_here(&self, conn: &SipConnection) -> bool {
        conn.get_addr()
            .get_socketaddr()
            .is_ok_and(|local| self.listeners.contains(&local))
    }

    /// Stream connections accepted on these listening addresses are
    /// rate-limited too (see [`Gate::decide_on`]).
    pub fn with_listeners(mut self, listeners: Vec<SocketAddr>) -> Gate {
        self.listeners = listeners;
        self
    }

    /// Whether new dialogs arriving on `conn` pass the rate limit: every
    /// datagram, and a stream connection someone else opened to our
    /// listener (a TCP flood is the same attack as a UDP one; its source
    /// address at least cannot be spoofed, so the per-source bucket is
    /// exact). Not a stream we dialled: the VCC voice WebSocket and our
    /// registrar's connection carry an agent leg per call-out, as fast as
    /// the agent calls out (see commit 7a035a0).
    fn rate_limited(&self, conn: &SipConnection) -> bool {
        matches!(conn, SipConnection::Udp(_)) || self.accepted_here(conn)
    }

    /// Look at one request from `source`.
    #[cfg(test)]
    pub fn decide(&self, req: &Request, source: IpAddr, now: Instant) -> Decision {
        self.decide_on(req, source, now, true)
    }

    /// [`Gate::decide`], with the rate limit only when `rate_limit`: it is
    /// for what anyone can send us (datagrams, and streams accepted on our
    /// listener), not for a stream we dialled ([`Gate::rate_limited`]).
    pub fn decide_on(
        &self,
        req: &Request,
        source: IpAddr,
        now: Instant,
        rate_limit: bool,
    ) -> Decision {
        // An ACK is never answered (RFC 3261 §17.2.3); the stack drops
        // the ones that match nothing.
        if req.method == Method::Ack {
            return Decision::Pass;
        }
        if req.via_header().is_err() {
            self.count(now, |s| s.malformed += 1);
            return Decision::Drop;
        }
        if let Some(reason) = malformed(req) {
            self.count(now, |s| s.malformed += 1);
            let status = StatusCode::Other(400, reason.to_string());
            return Decision::Reply(Box::new(self.response(req, status, vec![])));
        }
        let new_dialog = req.method == Method::Invite
            && req
                .to_header()
                .and_then(|t| t.tag())
                .is_ok_and(|t| t.is_none());
        if !new_dialog || !rate_limit {
            return Decision::Pass;
        }
        let call_id = req
            .call_id_header()
            .map(|c| c.value().to_string())
            .unwrap_or_default();
        let verdict = {
            let mut s = self.state.lock().expect("gate lock");
            s.admission.new_invite(now, source, &call_id)
        };
        match verdict {
            Verdict::Admit => Decision::Pass,
            Verdict::Refuse { retry_after_s } => {
                self.count(now, |s| s.refused += 1);
                let retry = Header::RetryAfter(retry_after_s.to_string().into());
                Decision::Reply(Box::new(self.response(
                    req,
                    StatusCode::ServiceUnavailable,
                    vec![retry],
                )))
            }
        }
    }

    fn count(&self, now: Instant, f: impl FnOnce(&mut State)) {
        let mut s = self.state.lock().expect("gate lock");
        f(&mut s);
        if s.reported
            .is_some_and(|t| now.saturating_duration_since(t) < REPORT_EVERY)
        {
            return;
        }
        s.reported = Some(now);
        tracing::warn!(
            refused = s.refused,
            malformed = s.malformed,
            "SIP: new calls refused over the rate limit (503), malformed requests answered 400 or dropped (totals)"
        );
    }

    /// A stateless response (RFC 3261 §8.2.6): Via, From, To, Call-ID and
    /// CSeq copied; a To tag added when there is none, the same for every
    /// retransmission of the request (derived from its branch, §8.2.7).
    fn response(&self, req: &Request, status: StatusCode, extra: Vec<Header>) -> Response {
        let mut headers: Vec<Header> = req
            .headers
            .iter()
            .filter(|h| {
                matches!(
                    h,
                    Header::Via(_)
                        | Header::From(_)
                        | Header::To(_)
                        | Header::CallId(_)
                        | Header::CSeq(_)
                )
            })
            .cloned()
            .collect();
        let tag = stateless_tag(req);
        for h in headers.iter_mut() {
            if let Header::To(to) = h
                && to.tag().is_ok_and(|t| t.is_none())
            {
                let _ = to.mut_tag(tag.clone().into());
            }
        }
        headers.extend(extra);
        headers.push(Header::Server(self.server.clone().into()));
        headers.push(Header::ContentLength(0u32.into()));
        Response {
            status_code: status,
            wire_reason: None,
            version: req.version,
            headers: headers.into(),
            body: Vec::new(),
        }
    }
}

/// The first thing missing or unreadable that rsipstack needs to make a
/// transaction (Via branch, From tag, Call-ID, CSeq) or a dialog (To, and
/// for an INVITE a Contact, RFC 3261 §8.1.1.8), as a reason phrase.
pub fn malformed(req: &Request) -> Option<&'static str> {
    let Ok(from) = req.from_header() else {
        return Some("Missing From header field");
    };
    match from.tag() {
        Ok(Some(_)) => {}
        Ok(None) => return Some("Missing From tag"),
        Err(_) => return Some("Bad From header field"),
    }
    let Ok(to) = req.to_header() else {
        return Some("Missing To header field");
    };
    if to.typed().is_err() {
        return Some("Bad To header field");
    }
    if req.call_id_header().is_err() {
        return Some("Missing Call-ID header field");
    }
    let Ok(cseq) = req.cseq_header() else {
        return Some("Missing CSeq header field");
    };
    if cseq.seq().is_err() || cseq.method().is_err() {
        return Some("Bad CSeq header field");
    }
    if req.top_via_header().and_then(|v| v.typed()).is_err() {
        return Some("Bad Via header field");
    }
    if req.method == Method::Invite {
        match req.typed_contact_headers() {
            Ok(c) if c.is_empty() => return Some("Missing Contact header field"),
            Ok(_) => {}
            Err(_) => return Some("Bad Contact header field"),
        }
    }
    None
}

fn stateless_tag(req: &Request) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    if let Ok(v) = req.via_header() {
        v.value().hash(&mut h);
    }
    if let Ok(c) = req.call_id_header() {
        c.value().hash(&mut h);
    }
    format!("sl{:x}", h.finish())
}

#[async_trait::async_trait]
impl TransportEventInspector for Gate {
    async fn handle(&self, event: TransportEvent) -> Option<TransportEvent> {
        if let TransportEvent::Closed(conn) = &event
            && conn.is_reliable()
            && !self.accepted_here(conn)
            && let Some(n) = &self.dialled_closed
        {
            n.notify_one();
        }
        let TransportEvent::Incoming(SipMessage::Request(req), conn, from) = &event else {
            return Some(event);
        };
        let source = from
            .get_socketaddr()
            .map(|a| a.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let rate_limit = self.rate_limited(conn);
        match self.decide_on(req, source, Instant::now(), rate_limit) {
            Decision::Pass => Some(event),
            Decision::Drop => None,
            Decision::Reply(resp) => {
                // To where the packet came from (UDP), or down its connection.
                if let Err(e) = conn.send(SipMessage::Response(*resp), Some(from)).await {
                    tracing::debug!(error = %e, "stateless response not sent");
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:alice@127.0.0.1:5060 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK-1;rport\r\n\
        Max-Forwards: 70\r\n\
        From: <sip:bob@192.0.2.1>;tag=f1\r\n\
        To: <sip:alice@127.0.0.1>\r\n\
        Call-ID: c1@192.0.2.1\r\n\
        CSeq: 1 INVITE\r\n\
        Contact: <sip:bob@192.0.2.1:5070>\r\n\
        Content-Length: 0\r\n\r\n";

    fn without(header: &str) -> Request {
        let text: String = INVITE
            .split_inclusive("\r\n")
            .filter(|l| !l.starts_with(&format!("{header}:")))
            .collect();
        Request::try_from(text.as_bytes()).expect("parses")
    }

    fn gate() -> Gate {
        Gate::new(
            Limits {
                per_source_burst: 2.0,
                ..Limits::default()
            },
            "tongdai/test",
            Instant::now(),
        )
    }

    fn src() -> IpAddr {
        IpAddr::from([192, 0, 2, 1])
    }

    fn reply(d: Decision) -> Response {
        match d {
            Decision::Reply(r) => *r,
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    #[test]
    fn each_missing_header_is_a_400_naming_it() {
        let g = gate();
        for (h, phrase) in [
            ("Contact", "Missing Contact header field"),
            ("To", "Missing To header field"),
            ("From", "Missing From header field"),
            ("Call-ID", "Missing Call-ID header field"),
            ("CSeq", "Missing CSeq header field"),
        ] {
            let r = reply(g.decide(&without(h), src(), Instant::now()));
            let wire = String::from_utf8(r.to_bytes()).expect("utf-8");
            assert!(
                wire.starts_with(&format!("SIP/2.0 400 {phrase}\r\n")),
                "{h}: {wire}"
            );
            assert!(wire.contains("branch=z9hG4bK-1"), "Via copied: {wire}");
        }
    }

    #[test]
    fn no_via_cannot_be_answered_and_ack_is_never_answered() {
        let g = gate();
        assert!(matches!(
            g.decide(&without("Via"), src(), Instant::now()),
            Decision::Drop
        ));
        let ack = INVITE
            .replace("INVITE sip", "ACK sip")
            .replace("1 INVITE", "1 ACK");
        let ack = Request::try_from(ack.as_bytes()).expect("parses");
        assert!(matches!(
            g.decide(&ack, src(), Instant::now()),
            Decision::Pass
        ));
    }

    #[test]
    fn a_from_without_tag_is_a_400() {
        let text = INVITE.replace(";tag=f1", "");
        let req = Request::try_from(text.as_bytes()).expect("parses");
        let r = reply(gate().decide(&req, src(), Instant::now()));
        assert_eq!(
            r.status_code,
            StatusCode::Other(400, "Missing From tag".into())
        );
    }

    #[test]
    fn over_the_limit_a_503_with_retry_after_and_a_to_tag() {
        let g = gate();
        let t0 = Instant::now();
        let mut codes = Vec::new();
        for i in 0..4 {
            let text = INVITE.replace("c1@", &format!("c{i}@"));
            let req = Request::try_from(text.as_bytes()).expect("parses");
            match g.decide(&req, src(), t0) {
                Decision::Pass => codes.push(0),
                Decision::Reply(r) => {
                    let wire = String::from_utf8(r.to_bytes()).expect("utf-8");
                    assert!(wire.contains("\r\nRetry-After: 1\r\n"), "{wire}");
                    let to = r.to_header().expect("To");
                    assert!(to.tag().expect("tag").is_some(), "{wire}");
                    codes.push(u16::from(r.status_code.clone()));
                }
                Decision::Drop => codes.push(1),
            }
        }
        assert_eq!(codes, vec![0, 0, 503, 503]);
    }

    #[test]
    fn a_stream_we_dialled_is_not_rate_limited_but_still_checked() {
        // The VCC platform sends an agent leg per call-out down the voice
        // WebSocket we opened: as many as the agent makes, never a 503.
        let g = gate();
        let t0 = Instant::now();
        for i in 0..8 {
            let text = INVITE.replace("c1@", &format!("c{i}@"));
            let req = Request::try_from(text.as_bytes()).expect("parses");
            assert!(matches!(
                g.decide_on(&req, src(), t0, false),
                Decision::Pass
            ));
        }
        let bad = without("Contact");
        assert!(matches!(
            g.decide_on(&bad, src(), t0, false),
            Decision::Reply(_)
        ));
    }

    #[test]
    fn in_dialog_requests_and_non_invites_are_not_rate_limited() {
        let g = gate();
        let t0 = Instant::now();
        let reinvite = INVITE.replace(
            "To: <sip:alice@127.0.0.1>",
            "To: <sip:alice@127.0.0.1>;tag=t9",
        );
        let reinvite = Request::try_from(reinvite.as_bytes()).expect("parses");
        let options = INVITE
            .replace("INVITE sip", "OPTIONS sip")
            .replace("1 INVITE", "1 OPTIONS");
        let options = Request::try_from(options.as_bytes()).expect("parses");
        for _ in 0..100 {
            assert!(matches!(g.decide(&reinvite, src(), t0), Decision::Pass));
            assert!(matches!(g.decide(&options, src(), t0), Decision::Pass));
        }
    }

    #[test]
    fn the_stateless_to_tag_is_the_same_for_a_retransmission() {
        let req = without("Contact");
        let a = reply(gate().decide(&req, src(), Instant::now()));
        let b = reply(gate().decide(&req, src(), Instant::now()));
        assert_eq!(
            a.to_header().expect("To").value(),
            b.to_header().expect("To").value()
        );
    }
}
