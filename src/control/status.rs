//! The `status` snapshot: what the server has learnt from the events it saw.
//!
//! Pure: [`StatusTracker::apply`] takes `now` as an argument, so the call
//! timer is tested without a clock.

use std::time::Instant;

use serde_json::{Value, json};

use super::protocol::{availability_str, device_json, direction_str, end_reason_json, round3};
use crate::engine::{Availability, Device, Direction, Event, Notice, RegState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Our call-out is on its way.
    Dialing,
    /// An inbound call rings here, or the customer's phone rings.
    Ringing,
    /// Answered.
    Connected,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Dialing => "dialing",
            Phase::Ringing => "ringing",
            Phase::Connected => "connected",
        }
    }
}

#[derive(Debug, Clone)]
struct CallState {
    direction: Direction,
    number: String,
    display_name: Option<String>,
    line: Option<String>,
    queue: Option<String>,
    phase: Phase,
    started: Instant,
    answered: Option<Instant>,
    held: bool,
    muted: bool,
    call_id: Option<String>,
}

impl CallState {
    fn new(direction: Direction, number: String, phase: Phase, now: Instant) -> Self {
        Self {
            direction,
            number,
            display_name: None,
            line: None,
            queue: None,
            phase,
            started: now,
            answered: None,
            held: false,
            muted: false,
            call_id: None,
        }
    }

    fn json(&self, now: Instant) -> Value {
        json!({
            "direction": direction_str(self.direction),
            "number": self.number,
            "display_name": self.display_name,
            "line": self.line,
            "queue": self.queue,
            "phase": self.phase.as_str(),
            "held": self.held,
            "muted": self.muted,
            "call_id": self.call_id,
            "seconds_since_start": now.saturating_duration_since(self.started).as_secs(),
            "seconds": self.answered.map(|a| now.saturating_duration_since(a).as_secs()),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Quality {
    jitter_ms: f32,
    loss_pct: f32,
    rtt_ms: f32,
    mos: f32,
    at: Instant,
}

/// Everything `status` reports.
#[derive(Debug, Clone)]
pub struct StatusTracker {
    connection: &'static str,
    connection_detail: Option<Value>,
    registration: Option<RegState>,
    availability: Option<Availability>,
    voice: Option<bool>,
    device: Option<Device>,
    call: Option<CallState>,
    pending_call_id: Option<String>,
    last_call: Option<Value>,
    /// `last_call` was written by a `CalloutFailed` not yet followed by its `Ended`.
    last_from_failure: bool,
    quality: Option<Quality>,
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
            availability: None,
            voice: None,
            device: None,
            call: None,
            pending_call_id: None,
            last_call: None,
            last_from_failure: false,
            quality: None,
            transfer_offer: None,
            history: None,
        }
    }

    pub fn held(&self) -> Option<bool> {
        self.call.as_ref().map(|c| c.held)
    }

    pub fn muted(&self) -> Option<bool> {
        self.call.as_ref().map(|c| c.muted)
    }

    /// On (`true`), Off or NO ANSWER (`false`), unknown (`None`).
    pub fn available(&self) -> Option<bool> {
        self.availability.map(|a| a == Availability::On)
    }

    pub fn in_call(&self) -> bool {
        self.call.is_some()
    }

    pub fn apply(&mut self, event: &Event, now: Instant) {
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
            Event::Registration(r) => self.registration = Some(r.clone()),
            Event::Availability(a) => self.availability = Some(*a),
            Event::VoiceChannel(b) => self.voice = Some(*b),
            Event::DeviceType(d) => self.device = Some(d.clone()),
            Event::Dialing(n) => {
                self.last_from_failure = false;
                let mut c = CallState::new(Direction::Outbound, n.clone(), Phase::Dialing, now);
                c.call_id = self.pending_call_id.take();
                self.call = Some(c);
            }
            Event::CalloutStarted(n) => match &mut self.call {
                Some(c) if c.direction != Direction::Inbound => {
                    if c.phase == Phase::Dialing {
                        c.phase = Phase::Ringing;
                    }
                    if c.number.is_empty() {
                        c.number = n.clone();
                    }
                }
                _ => {
                    let mut c = CallState::new(Direction::Outbound, n.clone(), Phase::Ringing, now);
                    c.call_id = self.pending_call_id.take();
                    self.call = Some(c);
                }
            },
            Event::Ringing(r) => {
                // The platform's agent leg of our own call-out is not a new call.
                if r.agent_leg && self.call.is_some() {
                    return;
                }
                let mut c = CallState::new(r.direction, r.phone.clone(), Phase::Ringing, now);
                c.display_name = r.display_name.clone();
                c.line = r.line.clone();
                c.queue = r.queue.clone();
                c.call_id = self.pending_call_id.take();
                self.call = Some(c);
            }
            Event::Accepted | Event::CustomerAnswered => {
                if let Some(c) = &mut self.call {
                    c.phase = Phase::Connected;
                    c.answered.get_or_insert(now);
                }
            }
            Event::Held(b) => {
                if let Some(c) = &mut self.call {
                    c.held = *b;
                }
            }
            Event::Muted(b) => {
                if let Some(c) = &mut self.call {
                    c.muted = *b;
                }
            }
            Event::CallId(id) => match &mut self.call {
                Some(c) => c.call_id = Some(id.clone()),
                None => self.pending_call_id = Some(id.clone()),
            },
            Event::Ended(reason) => {
                if let Some(c) = self.call.take() {
                    self.last_call = Some(json!({
                        "direction": direction_str(c.direction),
                        "number": c.number,
                        "seconds": c.answered.map(|a| now.saturating_duration_since(a).as_secs()),
                    }));
                } else if !self.last_from_failure {
                    self.pending_call_id = None;
                    return;
                }
                if let Some(v) = &mut self.last_call {
                    if let Some(m) = v.as_object_mut() {
                        m.retain(|k, _| matches!(k.as_str(), "direction" | "number" | "seconds"));
                    }
                    for (k, val) in end_reason_json(reason) {
                        v[k] = val;
                    }
                }
                self.last_from_failure = false;
                self.pending_call_id = None;
            }
            Event::CalloutFailed {
                error_code,
                sip_code,
            } => {
                // Some failures come without an Ended: the call is gone either way.
                // The Ended that usually follows refines the reason.
                if let Some(c) = self.call.take() {
                    self.last_call = Some(json!({
                        "direction": direction_str(c.direction),
                        "number": c.number,
                        "seconds": null,
                        "reason": "failed",
                        "error_code": error_code,
                        "sip_code": sip_code,
                    }));
                    self.last_from_failure = true;
                }
            }
            Event::CallQuality {
                jitter_ms,
                loss_pct,
                rtt_ms,
                mos,
            } => {
                self.quality = Some(Quality {
                    jitter_ms: *jitter_ms,
                    loss_pct: *loss_pct,
                    rtt_ms: *rtt_ms,
                    mos: *mos,
                    at: now,
                })
            }
            Event::TransferOffered {
                call_id,
                from_agent,
            } => self.transfer_offer = Some(json!({"call_id": call_id, "from_agent": from_agent})),
            Event::TransferResult { .. } => self.transfer_offer = None,
            Event::AudioLevel { .. }
            | Event::TransferAgents(_)
            | Event::DtmfReceived(_)
            | Event::Notice(_) => {}
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
        json!({
            "connection": self.connection,
            "connection_detail": self.connection_detail,
            "registration": self.registration.as_ref().and_then(|r| serde_json::to_value(r).ok()),
            "availability": self.availability.map(availability_str),
            "voice": self.voice,
            "device": self.device.as_ref().map(device_json),
            "call": self.call.as_ref().map(|c| c.json(now)),
            "last_call": self.last_call,
            "quality": self.quality.map(|q| json!({
                "jitter_ms": round3(q.jitter_ms),
                "loss_pct": round3(q.loss_pct),
                "rtt_ms": round3(q.rtt_ms),
                "mos": round3(q.mos),
                "seconds_ago": now.saturating_duration_since(q.at).as_secs(),
            })),
            "transfer_offer": self.transfer_offer,
            "history": self.history,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::engine::{EndReason, RingInfo};

    #[test]
    fn a_call_out_with_its_timer_then_history() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut st = StatusTracker::new();
        assert_eq!(st.snapshot(t0)["connection"], "connecting");
        st.apply(&Event::Ready, t0);
        st.apply(&Event::Availability(Availability::On), t0);
        st.apply(&Event::DeviceType(Device::AlwaysOnIpPhone), t0);
        st.apply(&Event::Dialing("0912345678".into()), t0);
        st.apply(&Event::CallId("c-1".into()), t0);
        st.apply(&Event::CalloutStarted("0912345678".into()), t0 + s(1));
        let agent_leg = RingInfo {
            phone: "0912345678".into(),
            display_name: None,
            line: None,
            queue: None,
            direction: Direction::Outbound,
            agent_leg: true,
        };
        st.apply(&Event::Ringing(agent_leg), t0 + s(1));
        st.apply(&Event::CustomerAnswered, t0 + s(3));
        st.apply(&Event::Held(true), t0 + s(4));
        let v = st.snapshot(t0 + s(10));
        assert_eq!(v["connection"], "ready");
        assert_eq!(v["availability"], "on");
        assert_eq!(v["device"]["type"], 4);
        assert_eq!(v["call"]["direction"], "outbound");
        assert_eq!(v["call"]["phase"], "connected");
        assert_eq!(v["call"]["seconds"], 7);
        assert_eq!(v["call"]["held"], true);
        assert_eq!(v["call"]["call_id"], "c-1");
        st.apply(&Event::Ended(EndReason::LocalHangup), t0 + s(12));
        let v = st.snapshot(t0 + s(13));
        assert_eq!(v["call"], Value::Null);
        assert_eq!(v["last_call"]["reason"], "local_hangup");
        assert_eq!(v["last_call"]["seconds"], 9);
    }
}
