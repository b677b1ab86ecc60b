//! Every VCC flow through the policy, driven by scripted push messages and
//! voice-leg events with a fake clock.

use super::*;
use crate::engine::{AgentInfo, Command, InitFailure, InitStep, RegState, TransferTarget};
use crate::vcc_wire::{AgentEntry, CalloutStatusMsg, HangupKind, RingMsg, ServerMsg};

const EXT: &str = "1001";

struct F {
    p: VccPolicy,
    now: Instant,
}

impl F {
    fn new(cfg: PolicyConfig) -> F {
        let now = Instant::now();
        F {
            p: VccPolicy::new(cfg, now),
            now,
        }
    }

    fn drain(&mut self) -> Vec<Effect> {
        std::iter::from_fn(|| self.p.poll_effect()).collect()
    }

    fn input(&mut self, i: Input) -> Vec<Effect> {
        self.p.handle(self.now, i);
        self.drain()
    }

    fn cmd(&mut self, c: Command) -> Vec<Effect> {
        self.input(Input::Command(c))
    }

    fn push(&mut self, m: ServerMsg) -> Vec<Effect> {
        self.input(Input::Push(m))
    }

    fn voice(&mut self, v: VoiceEvent) -> Vec<Effect> {
        self.input(Input::Voice(v))
    }

    /// Move the fake clock, firing every timer on the way.
    fn advance(&mut self, d: Duration) -> Vec<Effect> {
        let end = self.now + d;
        let mut out = Vec::new();
        while let Some(t) = self.p.poll_timeout() {
            if t > end {
                break;
            }
            self.now = self.now.max(t);
            self.p.handle_timeout(self.now);
            out.extend(self.drain());
        }
        self.now = end;
        out
    }

    /// Connected and logged in with the given state.
    fn up(cfg: PolicyConfig, role: u8, voice: bool, device: u8) -> F {
        let mut f = F::new(cfg);
        assert_eq!(f.cmd(Command::Connect), vec![Effect::Bootstrap]);
        assert_eq!(
            f.input(Input::Bootstrapped {
                extension: EXT.into(),
                role
            }),
            vec![Effect::OpenPush]
        );
        f.input(Input::PushOpened);
        f.push(ServerMsg::Refresh {
            agent_status: "NOT AVAILABLE".into(),
            is_voice_channel: voice,
            device_type: device,
        });
        f
    }

    fn older(device: u8) -> F {
        F::up(PolicyConfig::default(), 2, true, device)
    }
}

fn newer() -> PolicyConfig {
    PolicyConfig {
        generation: Generation::Newer,
        reconnect_max: 0,
        ..PolicyConfig::default()
    }
}

fn sent(e: &[Effect]) -> Vec<ClientMsg> {
    e.iter()
        .filter_map(|e| match e {
            Effect::Send(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn events(e: &[Effect]) -> Vec<Event> {
    e.iter()
        .filter_map(|e| match e {
            Effect::Emit(ev) => Some(ev.clone()),
            _ => None,
        })
        .collect()
}

fn voice_actions(e: &[Effect]) -> Vec<VoiceAction> {
    e.iter()
        .filter_map(|e| match e {
            Effect::Voice(a) => Some(a.clone()),
            _ => None,
        })
        .collect()
}

fn has_not_now(e: &[Effect]) -> bool {
    events(e)
        .iter()
        .any(|e| matches!(e, Event::Notice(Notice::NotNow(_))))
}

fn callout(status: &str, call_id: &str) -> ServerMsg {
    ServerMsg::CalloutStatus(CalloutStatusMsg {
        status: status.into(),
        call_id: call_id.into(),
        telephone_number: "0912345678".into(),
        line: "02471001000".into(),
        extension: EXT.into(),
        error_code: String::new(),
        sip_code: String::new(),
    })
}

fn ring(call_id: &str) -> ServerMsg {
    ServerMsg::Ring(RingMsg {
        extension: EXT.into(),
        call_id: call_id.into(),
        caller: "0987654321".into(),
        line: "19001234".into(),
        queue_description: "Sales".into(),
        call_direction: 1,
    })
}

/// An answered inbound call on a desk phone (device 4).
fn inbound_active() -> F {
    let mut f = F::older(4);
    f.push(ring("in-1"));
    f.push(ServerMsg::AgentAnswer {
        extension: EXT.into(),
        call_id: "in-1".into(),
    });
    f
}

/// An answered call-out on a desk phone (device 4).
fn outbound_active() -> F {
    let mut f = F::older(4);
    f.cmd(Command::CallOut("0912345678".into()));
    f.push(callout("STARTING", "out-1"));
    f.push(callout("RINGING", "out-1"));
    f.push(callout("ANSWER", "out-1"));
    f
}

mod availability;
mod callout;
mod commands;
mod device_1;
mod devices;
mod exit;
mod inbound;
mod init;
mod link;
mod transfers;
mod voice_channel;
