//! The `status` snapshot: what the server has learnt from the events it saw.
//!
//! Pure: [`StatusTracker::apply`] takes `now` as an argument, so the call
//! timer is tested without a clock.

// A sans-IO core: no clock reads, no tasks (clippy.toml).
#![deny(clippy::disallowed_methods)]

use std::time::Instant;

use serde_json::{Value, json};

use super::protocol::{availability_str, device_json, direction_str, end_reason_json, round3};
use crate::call::book::{Call, CallBook, Phase};
use crate::engine::{Availability, CallEvent, CallId, Device, Event, Notice, Quality, RegState};

/// The phase as `status` names it (v1: `dialing`, `ringing`, `connected`).
fn phase_str(p: Phase) -> &'static str {
    match p {
        Phase::Dialing | Phase::AgentLeg => "dialing",
        Phase::Ringing | Phase::CustomerRinging => "ringing",
        Phase::Talking => "connected",
    }
}

fn call_json(c: &Call<Instant>, now: Instant) -> Value {
    json!({
        "call": c.id,
        "direction": direction_str(c.direction),
        "number": c.number,
        "display_name": c.name,
        "line": c.line,
        "queue": c.queue,
        "phase": phase_str(c.phase),
        "held": c.held,
        "muted": c.muted,
        "consult_for": c.consult_for,
        "call_id": c.platform_id,
        "seconds_since_start": now.saturating_duration_since(c.started).as_secs(),
        "seconds": c.answered.map(|a| now.saturating_duration_since(a).as_secs()),
    })
}

/// Everything `status` reports. The calls are the call book's
/// (`call::book`); the rest is the connection, device and last quality.
#[derive(Debug, Clone)]
pub struct StatusTracker {
    connection: &'static str,
    connection_detail: Option<Value>,
    registration: Option<RegState>,
    /// The reason of the last failed registration, until one succeeds.
    registration_failure: Option<String>,
    availability: Option<Availability>,
    voice: Option<bool>,
    device: Option<Device>,
    book: CallBook<Instant>,
    quality: Option<(Quality, Instant)>,
    transfer_offer: Option<Value>,
    /// The last call-history notice: a client that connects after the
    /// start still learns that the database was repaired or is locked.
    history: Option<Value>,
}

impl Default for StatusTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl StatusTracker {
    pub fn new() -> Self {
        Self {
            connection: "connecting",
            connection_detail: None,
            registration: None,
            registration_failure: None,
            availability: None,
            voice: None,
            device: None,
            book: CallBook::new(),
            quality: None,
            transfer_offer: None,
            history: None,
        }
    }

    fn call(&self, call: Option<CallId>) -> Option<&Call<Instant>> {
        match call {
            Some(id) => self.book.get(id),
            None => self.book.selected(),
        }
    }

    /// Is `call` (`None`: the selected call) held? `None`: no such call.
    pub fn held(&self, call: Option<CallId>) -> Option<bool> {
        self.call(call).map(|c| c.held)
    }

    pub fn muted(&self, call: Option<CallId>) -> Option<bool> {
        self.call(call).map(|c| c.muted)
    }

    /// Does the console have this call now?
    pub fn has_call(&self, id: CallId) -> bool {
        self.book.contains(id)
    }

    /// On (`true`), Off or NO ANSWER (`false`), unknown (`None`).
    pub fn available(&self) -> Option<bool> {
        self.availability.map(|a| a == Availability::On)
    }

    pub fn in_call(&self) -> bool {
        !self.book.is_empty()
    }

    pub fn apply(&mut self, event: &Event, now: Instant) {
        self.book.apply(now, event);
        match event {
            Event::Ready => {
                self.connection = "ready";
                self.connection_detail = None;
            }
            Event::InitFailed(reason) => {
                self.connection = "init_failed";
                self.connection_detail = Some(json!({"reason": reason}));
            }
            Event::Reconnecting { attempt, max } => {
                self.connection = "reconnecting";
                self.connection_detail = Some(json!({"attempt": attempt, "max": max}));
            }
            Event::Reconnected => {
                self.connection = "ready";
                self.connection_detail = None;
            }
            Event::Disconnected => {
                self.connection = "disconnected";
                self.connection_detail = None;
            }
            Event::ShutdownComplete => {
                self.connection = "stopped";
                self.connection_detail = None;
            }
            Event::Registration(r) => {
                match r {
                    RegState::Failed { reason, .. } => {
                        self.registration_failure = Some(reason.clone())
                    }
                    RegState::Registered { .. } | RegState::None => {
                        self.registration_failure = None
                    }
                    RegState::Registering | RegState::Retrying { .. } => {}
                }
                self.registration = Some(r.clone())
            }
            Event::Availability(a) => self.availability = Some(*a),
            Event::VoiceChannel(b) => self.voice = Some(*b),
            Event::DeviceType(d) => self.device = Some(d.clone()),
            Event::Call { event, .. } => match event {
                CallEvent::Quality(q) => self.quality = Some((*q, now)),
                CallEvent::TransferResult { .. } => self.transfer_offer = None,
                _ => {}
            },
            Event::TransferOffered {
                call_id,
                from_agent,
            } => self.transfer_offer = Some(json!({"call_id": call_id, "from_agent": from_agent})),
            Event::TransferResult { .. } => self.transfer_offer = None,
            Event::AudioLevel { .. } | Event::TransferAgents(_) | Event::Notice(_) => {}
        }
        if let Event::Notice(n @ Notice::History(h)) = event {
            let mut v = serde_json::to_value(h).unwrap_or_default();
            v["text"] = json!({
                "en": crate::app::i18n::notice(crate::call::errors::Lang::En, n),
                "vi": crate::app::i18n::notice(crate::call::errors::Lang::Vi, n),
            });
            self.history = Some(v);
        }
    }

    pub fn snapshot(&self, now: Instant) -> Value {
        let last_call = self.book.last_ended().map(|e| {
            let mut v = json!({
                "call": e.call.id,
                "direction": direction_str(e.call.direction),
                "number": e.call.number,
                "seconds": e.call.answered.map(|a| e.at.saturating_duration_since(a).as_secs()),
            });
            for (k, val) in end_reason_json(&e.reason) {
                v[k] = val;
            }
            v
        });
        json!({
            "connection": self.connection,
            "connection_detail": self.connection_detail,
            "registration": self.registration.as_ref().and_then(|r| serde_json::to_value(r).ok()),
            // Why the last registration attempt failed, kept while retrying.
            "registration_failure": self.registration_failure,
            "availability": self.availability.map(availability_str),
            "voice": self.voice,
            "device": self.device.as_ref().map(device_json),
            "call": self.book.selected().map(|c| call_json(c, now)),
            "calls": self.book.calls().iter().map(|c| call_json(c, now)).collect::<Vec<_>>(),
            "selected": self.book.selected_id(),
            "last_call": last_call,
            "quality": self.quality.map(|(q, at)| json!({
                "jitter_ms": round3(q.jitter_ms),
                "loss_pct": round3(q.loss_pct),
                "rtt_ms": round3(q.rtt_ms),
                "mos": round3(q.mos),
                "seconds_ago": now.saturating_duration_since(at).as_secs(),
            })),
            "transfer_offer": self.transfer_offer,
            "history": self.history,
        })
    }
}

#[cfg(test)]
// Tests take a base instant from the clock; the code under test still gets it as an argument.
#[allow(clippy::disallowed_methods)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::engine::{Direction, EndReason, RingInfo};

    #[test]
    fn a_call_out_with_its_timer_then_history() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut st = StatusTracker::new();
        assert_eq!(st.snapshot(t0)["connection"], "connecting");
        st.apply(&Event::Ready, t0);
        st.apply(&Event::Availability(Availability::On), t0);
        st.apply(&Event::DeviceType(Device::AlwaysOnIpPhone), t0);
        st.apply(
            &Event::Call {
                call: CallId(1),
                event: CallEvent::Dialing("0912345678".into()),
            },
            t0,
        );
        st.apply(
            &Event::Call {
                call: CallId(1),
                event: CallEvent::PlatformId("c-1".into()),
            },
            t0,
        );
        st.apply(
            &Event::Call {
                call: CallId(1),
                event: CallEvent::CalloutStarted("0912345678".into()),
            },
            t0 + s(1),
        );
        let agent_leg = RingInfo {
            phone: "0912345678".into(),
            display_name: None,
            line: None,
            queue: None,
            direction: Direction::Outbound,
            agent_leg: true,
        };
        st.apply(
            &Event::Call {
                call: CallId(1),
                event: CallEvent::Ringing(agent_leg),
            },
            t0 + s(1),
        );
        st.apply(
            &Event::Call {
                call: CallId(1),
                event: CallEvent::CustomerAnswered,
            },
            t0 + s(3),
        );
        st.apply(
            &Event::Call {
                call: CallId(1),
                event: CallEvent::Held(true),
            },
            t0 + s(4),
        );
        let v = st.snapshot(t0 + s(10));
        assert_eq!(v["connection"], "ready");
        assert_eq!(v["availability"], "on");
        assert_eq!(v["device"]["type"], 4);
        assert_eq!(v["call"]["direction"], "outbound");
        assert_eq!(v["call"]["phase"], "connected");
        assert_eq!(v["call"]["seconds"], 7);
        assert_eq!(v["call"]["held"], true);
        assert_eq!(v["call"]["call_id"], "c-1");
        st.apply(
            &Event::Call {
                call: CallId(1),
                event: CallEvent::Ended(EndReason::LocalHangup),
            },
            t0 + s(12),
        );
        let v = st.snapshot(t0 + s(13));
        assert_eq!(v["call"], Value::Null);
        assert_eq!(v["last_call"]["reason"], "local_hangup");
        assert_eq!(v["last_call"]["seconds"], 9);
    }

    #[test]
    fn two_calls_are_listed_by_name_and_the_selected_one_is_the_call() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut st = StatusTracker::new();
        let ring = |id: u64, phone: &str| Event::Call {
            call: CallId(id),
            event: CallEvent::Ringing(RingInfo {
                phone: phone.into(),
                display_name: None,
                line: None,
                queue: None,
                direction: Direction::Inbound,
                agent_leg: false,
            }),
        };
        let on = |id: u64, event: CallEvent| Event::Call {
            call: CallId(id),
            event,
        };
        st.apply(&ring(1, "0911111111"), t0);
        st.apply(&on(1, CallEvent::Accepted), t0 + s(1));
        st.apply(&ring(2, "0922222222"), t0 + s(5));
        let v = st.snapshot(t0 + s(6));
        assert_eq!(v["calls"][0]["call"], "c1");
        assert_eq!(v["calls"][0]["phase"], "connected");
        assert_eq!(v["calls"][1]["call"], "c2");
        assert_eq!(v["calls"][1]["phase"], "ringing");
        // The ring is selected: `call` (v1) is the one `answer` acts on.
        assert_eq!(v["selected"], "c2");
        assert_eq!(v["call"]["number"], "0922222222");
        assert_eq!(st.held(Some(CallId(1))), Some(false));
        assert!(st.has_call(CallId(2)) && !st.has_call(CallId(3)));
        st.apply(&on(2, CallEvent::Ended(EndReason::Cancelled)), t0 + s(8));
        let v = st.snapshot(t0 + s(9));
        assert_eq!(v["selected"], "c1");
        assert_eq!(v["calls"].as_array().map(Vec::len), Some(1));
        assert_eq!(v["last_call"]["call"], "c2");
        assert_eq!(v["last_call"]["reason"], "cancelled");
    }
}
