//! When each step of a WebRTC session's setup happened, to find where first
//! audio waits: each step is stamped once (its first occurrence), logged at
//! debug level with the milliseconds since the session was created, and
//! readable as a whole ([`Timeline::steps`]) for the tests' figures.
//!
//! Order of a call we place: built → local description → gathered → SDP
//! ready (INVITE goes out) → remote description (the 2xx) → ICE checking →
//! ICE connected → DTLS connected → first RTP in → first audio decoded. We
//! answer: built → remote description (the INVITE's offer) → local
//! description → gathered → SDP ready (200 goes out) → ICE … as above.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A setup step of the media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The peer connection exists, its sockets bound.
    Built,
    LocalDescription,
    RemoteDescription,
    /// ICE gathering complete (or its bound passed: [`Step::GatherTimeout`]).
    Gathered,
    GatherTimeout,
    /// The complete SDP is handed to SIP.
    SdpReady,
    /// Connectivity checks began (RFC 8445 §6.1.4).
    IceChecking,
    /// A pair was selected.
    IceConnected,
    /// DTLS handshake done, SRTP keys in place (the peer connection is
    /// `connected`).
    DtlsConnected,
    /// The first RTP packet from the peer, decrypted.
    FirstRtpIn,
    /// The first frame from the peer decoded to PCM.
    FirstAudio,
    /// The first RTP packet we sent that the stack took.
    FirstRtpOut,
    /// The first decoded frame handed to the audio device.
    FirstPlayed,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Built => "built",
            Step::LocalDescription => "local description",
            Step::RemoteDescription => "remote description",
            Step::Gathered => "gathered",
            Step::GatherTimeout => "gathering bound passed",
            Step::SdpReady => "SDP ready",
            Step::IceChecking => "ICE checking",
            Step::IceConnected => "ICE connected",
            Step::DtlsConnected => "DTLS connected",
            Step::FirstRtpIn => "first RTP in",
            Step::FirstAudio => "first audio decoded",
            Step::FirstRtpOut => "first RTP out",
            Step::FirstPlayed => "first frame played",
        }
    }
}

/// The steps of one session, first occurrence of each.
#[derive(Debug)]
pub struct Timeline {
    start: Instant,
    steps: Mutex<Vec<(Step, Instant)>>,
}

impl Timeline {
    pub fn new(start: Instant) -> Self {
        Self {
            start,
            steps: Mutex::new(Vec::with_capacity(12)),
        }
    }

    /// Stamp `step` at `at` unless it was stamped already.
    pub fn mark(&self, step: Step, at: Instant) {
        let Ok(mut steps) = self.steps.lock() else {
            return;
        };
        if steps.iter().any(|(s, _)| *s == step) {
            return;
        }
        steps.push((step, at));
        tracing::debug!(
            step = step.name(),
            ms = at.saturating_duration_since(self.start).as_secs_f64() * 1e3,
            "WebRTC setup"
        );
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    /// When `step` happened, if it did.
    pub fn at(&self, step: Step) -> Option<Instant> {
        self.steps
            .lock()
            .ok()?
            .iter()
            .find(|(s, _)| *s == step)
            .map(|(_, at)| *at)
    }

    /// Every step so far, in the order they happened, with the time since
    /// the session was created.
    pub fn steps(&self) -> Vec<(Step, Duration)> {
        let Ok(steps) = self.steps.lock() else {
            return Vec::new();
        };
        let mut v: Vec<(Step, Duration)> = steps
            .iter()
            .map(|(s, at)| (*s, at.saturating_duration_since(self.start)))
            .collect();
        v.sort_by_key(|(_, d)| *d);
        v
    }

    /// The SIP moment first audio waits from: the peer's answer when we
    /// offered (our INVITE's 2xx), our SDP ready when we answered (our 200
    /// goes out), with its name.
    pub fn sip_origin(&self) -> Option<(&'static str, Instant)> {
        let local = self.at(Step::LocalDescription)?;
        let remote = self.at(Step::RemoteDescription)?;
        if local <= remote {
            Some(("the answer", remote))
        } else {
            Some(("our answer", self.at(Step::SdpReady)?))
        }
    }

    /// One line for the log once audio arrives: `first audio 95.3 ms after
    /// the answer: ICE checking +0.4 ms, …`.
    pub fn summary(&self) -> Option<String> {
        let (what, origin) = self.sip_origin()?;
        let first = self.at(Step::FirstAudio)?;
        let ms = first.saturating_duration_since(origin).as_secs_f64() * 1e3;
        Some(format!(
            "first audio {ms:.1} ms after {what}: {}",
            self.describe_from(origin)
        ))
    }

    /// `step +12.3 ms, step +40.1 ms, …` relative to `origin` (e.g. the
    /// SIP message that started the wait), for logs and figures.
    pub fn describe_from(&self, origin: Instant) -> String {
        let Ok(steps) = self.steps.lock() else {
            return String::new();
        };
        let mut v: Vec<(Step, Instant)> = steps.clone();
        v.sort_by_key(|(_, at)| *at);
        v.iter()
            .map(|(s, at)| {
                let ms = if *at >= origin {
                    at.duration_since(origin).as_secs_f64() * 1e3
                } else {
                    -(origin.duration_since(*at).as_secs_f64() * 1e3)
                };
                format!("{} {ms:+.1} ms", s.name())
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_stamp_and_orders_by_time() {
        let t0 = Instant::now();
        let t = Timeline::new(t0);
        t.mark(Step::IceConnected, t0 + Duration::from_millis(30));
        t.mark(Step::Built, t0 + Duration::from_millis(1));
        t.mark(Step::IceConnected, t0 + Duration::from_millis(90));
        assert_eq!(
            t.steps(),
            vec![
                (Step::Built, Duration::from_millis(1)),
                (Step::IceConnected, Duration::from_millis(30)),
            ]
        );
        assert_eq!(
            t.describe_from(t0 + Duration::from_millis(10)),
            "built -9.0 ms, ICE connected +20.0 ms"
        );
    }

    #[test]
    fn summary_counts_from_the_sip_moment_of_each_side() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        // We offered: from the answer.
        let t = Timeline::new(t0);
        t.mark(Step::LocalDescription, ms(1));
        t.mark(Step::SdpReady, ms(2));
        t.mark(Step::RemoteDescription, ms(500));
        assert_eq!(t.summary(), None);
        t.mark(Step::FirstAudio, ms(560));
        let s = t.summary().unwrap();
        assert!(
            s.starts_with("first audio 60.0 ms after the answer: "),
            "{s}"
        );
        // We answered: from our SDP.
        let t = Timeline::new(t0);
        t.mark(Step::RemoteDescription, ms(1));
        t.mark(Step::LocalDescription, ms(2));
        t.mark(Step::SdpReady, ms(4));
        t.mark(Step::FirstAudio, ms(84));
        let s = t.summary().unwrap();
        assert!(
            s.starts_with("first audio 80.0 ms after our answer: "),
            "{s}"
        );
    }
}
