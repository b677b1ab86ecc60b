//! Every VCC flow through the policy, driven by scripted push messages and
//! voice-leg events with a fake clock.

use super::*;
use crate::backends::vcc::object_id::{CalloutStatusMsg, RingMsg};

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

// ---- init ----------------------------------------------------------------

#[test]
fn init_logs_in_and_reports_the_platform_state() {
    let mut f = F::new(PolicyConfig::default());
    f.cmd(Command::Connect);
    f.input(Input::Bootstrapped {
        extension: EXT.into(),
        role: 2,
    });
    let e = f.input(Input::PushOpened);
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Login {
            authen_token: None,
            user_token: None,
            init_call_channel: false
        }]
    );
    let e = f.push(ServerMsg::Refresh {
        agent_status: "AVAILABLE".into(),
        is_voice_channel: true,
        device_type: 2,
    });
    assert_eq!(
        events(&e),
        vec![
            Event::Ready,
            Event::Availability(Availability::On),
            Event::VoiceChannel(true),
            Event::DeviceType(Device::IpPhone),
        ]
    );
    assert!(voice_actions(&e).is_empty(), "device 2 runs no voice leg");
    // A second Connect while up does nothing.
    assert!(f.cmd(Command::Connect).is_empty());
}

#[test]
fn init_failures_are_reported() {
    let mut f = F::new(PolicyConfig::default());
    f.cmd(Command::Connect);
    let refused = InitFailure::new(InitStep::Refused, "bad token");
    let e = f.input(Input::BootstrapFailed(refused.clone()));
    assert_eq!(events(&e), vec![Event::InitFailed(refused)]);
    // Connect again retries from the start.
    assert_eq!(f.cmd(Command::Connect), vec![Effect::Bootstrap]);
    f.input(Input::Bootstrapped {
        extension: EXT.into(),
        role: 2,
    });
    let e = f.input(Input::PushClosed {
        reason: "connection refused".into(),
    });
    assert!(
        matches!(&events(&e)[..], [Event::InitFailed(r)] if r.step == InitStep::PushClosed && r.detail == "connection refused")
    );
}

#[test]
fn newer_generation_logs_in_with_init_call_channel_and_forces_device_1() {
    let mut f = F::new(newer());
    f.cmd(Command::Connect);
    f.input(Input::Bootstrapped {
        extension: EXT.into(),
        role: 6,
    });
    let e = f.input(Input::PushOpened);
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Login {
            authen_token: None,
            user_token: None,
            init_call_channel: true
        }]
    );
    let e = f.push(ServerMsg::Refresh {
        agent_status: "AVAILABLE".into(),
        is_voice_channel: true,
        device_type: 4,
    });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::ChangeDevice {
            device_type: 1,
            phone: String::new()
        }]
    );
    // A platform that keeps the agent on 4 refuses; the old device stays.
    let e = f.push(ServerMsg::ChangeDeviceResult {
        result: 0,
        old_device_type: 4,
        new_device_type: 1,
    });
    assert_eq!(
        events(&e),
        vec![
            Event::DeviceType(Device::AlwaysOnIpPhone),
            Event::Notice(Notice::DeviceChangeRefused)
        ]
    );
    assert!(voice_actions(&e).is_empty());
}

#[test]
fn older_generation_does_not_force_device_1() {
    let f = F::older(4);
    assert_eq!(f.p.device_code(), 4);
    let mut f = f;
    assert!(f.advance(Duration::from_secs(1)).is_empty());
}

// ---- voice channel ---------------------------------------------------------

#[test]
fn claim_voice_when_it_is_elsewhere() {
    let mut f = F::new(PolicyConfig::default());
    f.cmd(Command::Connect);
    f.input(Input::Bootstrapped {
        extension: EXT.into(),
        role: 2,
    });
    f.input(Input::PushOpened);
    let e = f.push(ServerMsg::Refresh {
        agent_status: "NOT AVAILABLE".into(),
        is_voice_channel: false,
        device_type: 2,
    });
    let ev = events(&e);
    assert!(ev.contains(&Event::VoiceChannel(false)));
    assert!(ev.contains(&Event::Notice(Notice::Info(Info::VoiceInUseElsewhere))));
    assert!(sent(&e).is_empty(), "never steals voice on its own");
    // Calls are refused while voice is elsewhere.
    assert!(has_not_now(&f.cmd(Command::CallOut("0912345678".into()))));
    // Inbound events for this extension are not ours while voice is elsewhere.
    assert!(f.push(ring("x")).is_empty());

    let e = f.cmd(Command::ClaimVoice);
    assert_eq!(sent(&e), vec![ClientMsg::EnableVoice]);
    assert!(f.push(ServerMsg::EnableVoiceAck).is_empty());
    let e = f.push(ServerMsg::VoiceEnabled {
        result: 1,
        device_type: 1,
    });
    assert_eq!(
        events(&e),
        vec![
            Event::VoiceChannel(true),
            Event::DeviceType(Device::Console)
        ]
    );
    assert_eq!(voice_actions(&e), vec![VoiceAction::Start]);
    assert!(has_not_now(&f.cmd(Command::ClaimVoice)));
}

#[test]
fn voice_moved_away_older_stops_the_voice_leg_and_keeps_the_session() {
    let mut f = F::older(1);
    let e = f.push(ServerMsg::VoiceDisabled);
    assert_eq!(voice_actions(&e), vec![VoiceAction::Stop]);
    assert!(events(&e).contains(&Event::VoiceChannel(false)));
    assert!(!e.contains(&Effect::ClosePush));
    // And it can be taken back.
    assert_eq!(
        sent(&f.cmd(Command::ClaimVoice)),
        vec![ClientMsg::EnableVoice]
    );
    let e = f.push(ServerMsg::VoiceEnabled {
        result: 1,
        device_type: 1,
    });
    assert_eq!(voice_actions(&e), vec![VoiceAction::Start]);
}

#[test]
fn voice_moved_away_newer_ends_the_session() {
    let mut f = F::up(newer(), 2, true, 1);
    let e = f.push(ServerMsg::VoiceDisabled);
    assert!(e.contains(&Effect::ClosePush));
    assert_eq!(voice_actions(&e), vec![VoiceAction::Stop]);
    assert!(events(&e).contains(&Event::Disconnected));
    // No reconnect afterwards.
    assert!(f.advance(Duration::from_secs(60)).is_empty());
}

#[test]
fn voice_moved_away_during_a_desk_phone_call_hands_the_call_over() {
    let mut f = inbound_active();
    let e = f.push(ServerMsg::VoiceDisabled);
    assert!(events(&e).contains(&Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::AnsweredElsewhere)
    }));
    assert!(!f.p.has_call());
}

// ---- On/Off ------------------------------------------------------------------

#[test]
fn availability_flips_only_on_ok_and_reverts_otherwise() {
    let mut f = F::older(4);
    let e = f.cmd(Command::ToggleAvailability);
    assert_eq!(
        sent(&e),
        vec![ClientMsg::ChangeCallStatus { available: true }]
    );
    assert!(events(&e).is_empty(), "nothing shown before the reply");
    assert!(has_not_now(&f.cmd(Command::ToggleAvailability)));
    let e = f.push(ServerMsg::CallStatusResult {
        status: "OK".into(),
    });
    assert_eq!(events(&e), vec![Event::Availability(Availability::On)]);

    let e = f.cmd(Command::ToggleAvailability);
    assert_eq!(
        sent(&e),
        vec![ClientMsg::ChangeCallStatus { available: false }]
    );
    let e = f.push(ServerMsg::CallStatusResult {
        status: "IPCCERR0001".into(),
    });
    assert_eq!(
        events(&e),
        vec![
            Event::Availability(Availability::On),
            Event::Notice(Notice::AvailabilityRefused)
        ]
    );
    // A stray 1027 with nothing pending changes nothing.
    assert!(
        f.push(ServerMsg::CallStatusResult {
            status: "OK".into()
        })
        .is_empty()
    );
}

#[test]
fn no_answer_from_the_platform_and_back_on() {
    let mut f = F::older(4);
    let e = f.push(ServerMsg::AgentStatusReload {
        agent_status: "NO ANSWER".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Availability(Availability::NoAnswer)]
    );
    let e = f.cmd(Command::ToggleAvailability);
    assert_eq!(
        sent(&e),
        vec![ClientMsg::ChangeCallStatus { available: true }]
    );
}

// ---- devices -------------------------------------------------------------------

#[test]
fn mobile_numbers_are_validated_and_normalised() {
    assert_eq!(
        normalise_mobile("0912 345 678").as_deref(),
        Some("0912345678")
    );
    assert_eq!(
        normalise_mobile("+84 912-345-678").as_deref(),
        Some("0912345678")
    );
    assert_eq!(
        normalise_mobile("84912345678").as_deref(),
        Some("0912345678")
    );
    assert_eq!(
        normalise_mobile("0312345678").as_deref(),
        Some("0312345678")
    );
    assert_eq!(normalise_mobile("0212345678"), None, "landline prefix");
    assert_eq!(normalise_mobile("091234567"), None, "too short");
    assert_eq!(normalise_mobile("09123456789"), None, "too long");
    assert_eq!(normalise_mobile("09x2345678"), None);
    assert_eq!(normalise_mobile(""), None);
}

#[test]
fn change_device_to_mobile_then_console_then_desk() {
    let mut f = F::older(2);
    let e = f.cmd(Command::ChangeDevice(Device::Mobile {
        number: "12345".into(),
    }));
    assert!(sent(&e).is_empty());
    assert_eq!(
        events(&e),
        vec![Event::Notice(Notice::BadNumber("12345".into()))]
    );

    let e = f.cmd(Command::ChangeDevice(Device::Mobile {
        number: "+84 912 345 678".into(),
    }));
    assert_eq!(
        sent(&e),
        vec![ClientMsg::ChangeDevice {
            device_type: 3,
            phone: "0912345678".into()
        }]
    );
    assert!(has_not_now(&f.cmd(Command::ChangeDevice(Device::IpPhone))));
    let e = f.push(ServerMsg::ChangeDeviceResult {
        result: 1,
        old_device_type: 2,
        new_device_type: 3,
    });
    assert_eq!(
        events(&e),
        vec![Event::DeviceType(Device::Mobile {
            number: "0912345678".into()
        })]
    );

    f.cmd(Command::ChangeDevice(Device::Console));
    let e = f.push(ServerMsg::ChangeDeviceResult {
        result: 1,
        old_device_type: 3,
        new_device_type: 1,
    });
    assert_eq!(voice_actions(&e), vec![VoiceAction::Start]);

    f.cmd(Command::ChangeDevice(Device::AlwaysOnIpPhone));
    let e = f.push(ServerMsg::ChangeDeviceResult {
        result: 1,
        old_device_type: 1,
        new_device_type: 4,
    });
    assert_eq!(voice_actions(&e), vec![VoiceAction::Stop]);
    assert_eq!(events(&e), vec![Event::DeviceType(Device::AlwaysOnIpPhone)]);
}

#[test]
fn change_device_rejected_keeps_the_old_device() {
    let mut f = F::older(4);
    f.cmd(Command::ChangeDevice(Device::Console));
    let e = f.push(ServerMsg::ChangeDeviceResult {
        result: 0,
        old_device_type: 4,
        new_device_type: 1,
    });
    assert_eq!(
        events(&e),
        vec![
            Event::DeviceType(Device::AlwaysOnIpPhone),
            Event::Notice(Notice::DeviceChangeRefused)
        ]
    );
    assert!(voice_actions(&e).is_empty());
    assert_eq!(f.p.device_code(), 4);
}

#[test]
fn no_device_change_during_a_call() {
    let mut f = inbound_active();
    let e = f.cmd(Command::ChangeDevice(Device::IpPhone));
    assert!(sent(&e).is_empty() && has_not_now(&e));
}

// ---- call-out ---------------------------------------------------------------------

#[test]
fn callout_lifecycle_hold_over_push_and_hang_up_with_the_ringing_extension() {
    let mut f = F::older(4);
    let e = f.cmd(Command::CallOut("0912 345 678".into()));
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Callout {
            number: "0912345678".into()
        }]
    );
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Dialing("0912345678".into())
        }]
    );
    assert!(has_not_now(&f.cmd(Command::CallOut("0912000000".into()))));

    let e = f.push(callout("STARTING", "out-1"));
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::PlatformId("out-1".into())
        }]
    );
    // Hold is refused while the customer rings (no frame sent).
    let e = f.cmd(Command::ToggleHold { call: None });
    assert!(sent(&e).is_empty() && has_not_now(&e));

    let mut r = callout("RINGING", "out-1");
    if let ServerMsg::CalloutStatus(s) = &mut r {
        s.extension = "1001-leg".into();
    }
    let e = f.push(r);
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::CalloutStarted("0912345678".into())
        }]
    );
    let e = f.push(callout("ANSWER", "out-1"));
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::CustomerAnswered
        }]
    );

    let e = f.cmd(Command::ToggleHold { call: None });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Hold {
            hold: true,
            outbound: true,
            call_id: "out-1".into(),
            call_type: 2
        }]
    );
    assert!(events(&e).is_empty(), "held only on the reply");
    let e = f.push(ServerMsg::HoldResult {
        hold: true,
        outbound: true,
        status: "OK".into(),
        call_id: "out-1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Held(true)
        }]
    );
    // End is refused while held (the SDK returns).
    assert!(has_not_now(&f.cmd(Command::End { call: None })));
    let e = f.cmd(Command::ToggleHold { call: None });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Hold {
            hold: false,
            outbound: true,
            call_id: "out-1".into(),
            call_type: 2
        }]
    );
    let e = f.push(ServerMsg::HoldResult {
        hold: false,
        outbound: true,
        status: "OK".into(),
        call_id: "out-1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Held(false)
        }]
    );
    // Mute is for inbound calls only.
    let e = f.cmd(Command::ToggleMute { call: None });
    assert!(sent(&e).is_empty() && has_not_now(&e));

    let e = f.cmd(Command::End { call: None });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Hangup {
            kind: HangupKind::Outbound,
            call_id: "out-1".into(),
            remove_agent_id: "1001-leg".into()
        }]
    );
    let e = f.push(callout("ENDCALL", "out-1"));
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::LocalHangup)
        }]
    );
    assert!(!f.p.has_call());
}

#[test]
fn callout_every_error_row() {
    let rows = [
        ("IPCC_NOT_CONNECT_CUSTOMER", "404"),
        ("IPCC_NOT_CONNECT_CUSTOMER", "486"),
        ("IPCC_NOT_CONNECT_CUSTOMER", "408"),
        ("IPCC_NOT_CONNECT_CUSTOMER", "403"),
        ("IPCC_NOT_CONNECT_CUSTOMER", "487"),
        ("IPCC_NOT_CONNECT_CUSTOMER", "480"),
        ("IPCC_NOT_CONNECT_CUSTOMER", "503"),
        ("IPCC_NOT_CONNECT_AGENT_ID", ""),
        ("CALLOUT_AGENT_BUSY", "786"),
        ("CALLOUT_PERMISSION_DENY", ""),
        ("ERROR_CALLOUT_CONNECT", ""),
    ];
    for (code, sip) in rows {
        let mut f = F::older(4);
        f.cmd(Command::CallOut("0912345678".into()));
        f.push(callout("STARTING", "c"));
        let mut m = callout("ERROR", "c");
        if let ServerMsg::CalloutStatus(s) = &mut m {
            s.error_code = code.into();
            s.sip_code = sip.into();
        }
        let e = f.push(m);
        let sip_code = sip.parse::<u16>().ok();
        assert_eq!(
            events(&e),
            vec![
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::CalloutFailed {
                        error_code: Some(code.into()),
                        sip_code
                    }
                },
                Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::Failed {
                        error_code: Some(code.into()),
                        sip_code
                    })
                },
            ],
            "{code} {sip}"
        );
        assert!(!f.p.has_call());
        // The next call-out works.
        assert_eq!(sent(&f.cmd(Command::CallOut("0912345678".into()))).len(), 1);
    }
}

#[test]
fn callout_not_answered_and_ended_before_starting() {
    let mut f = F::older(4);
    f.cmd(Command::CallOut("0912345678".into()));
    f.push(callout("STARTING", "c1"));
    f.push(callout("RINGING", "c1"));
    let e = f.push(callout("TERMINATE", "c1"));
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::NoAnswer)
        }]
    );

    // End before the platform names the call: sent on STARTING.
    f.cmd(Command::CallOut("0912345678".into()));
    let e = f.cmd(Command::End { call: None });
    assert!(sent(&e).is_empty());
    let e = f.push(callout("STARTING", "c2"));
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Hangup {
            kind: HangupKind::Outbound,
            call_id: "c2".into(),
            remove_agent_id: EXT.into()
        }]
    );
    let e = f.push(callout("TERMINATE", "c2"));
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(2),
            event: CallEvent::Ended(EndReason::Cancelled)
        }]
    );
}

#[test]
fn callout_status_for_another_call_is_ignored() {
    let mut f = outbound_active();
    assert!(f.push(callout("ENDCALL", "other")).is_empty());
    assert!(f.p.has_call());
    // And without a call-out of ours, 1055 means nothing.
    let mut f = F::older(4);
    assert!(f.push(callout("RINGING", "x")).is_empty());
}

#[test]
fn numbers_are_classified() {
    assert_eq!(
        classify_number("0912 345 678"),
        Some(DialTarget::Customer("0912345678".into()))
    );
    assert_eq!(
        classify_number("+84912345678"),
        Some(DialTarget::Customer("0912345678".into()))
    );
    assert_eq!(
        classify_number("1002"),
        Some(DialTarget::Internal("1002".into()))
    );
    assert_eq!(
        classify_number("tel:1002"),
        Some(DialTarget::Internal("1002".into()))
    );
    assert_eq!(
        classify_number("0123"),
        None,
        "short numbers cannot start with 0"
    );
    assert_eq!(classify_number("12345678901234"), None);
    assert_eq!(classify_number("abc"), None);
    let mut f = F::older(4);
    let e = f.cmd(Command::CallOut("hello".into()));
    assert_eq!(
        events(&e),
        vec![Event::Notice(Notice::BadNumber("hello".into()))]
    );
    // Internal numbers are dialled in SIP, so only on device 1.
    let e = f.cmd(Command::CallOut("1002".into()));
    assert!(sent(&e).is_empty() && has_not_now(&e));
}

// ---- inbound ---------------------------------------------------------------------------

#[test]
fn inbound_desk_phone_ring_answer_mute_hold_end() {
    let mut f = F::older(4);
    let e = f.push(ring("in-1"));
    assert_eq!(
        events(&e),
        vec![
            Event::Call {
                call: CallId(1),
                event: CallEvent::PlatformId("in-1".into())
            },
            Event::Call {
                call: CallId(1),
                event: CallEvent::Ringing(RingInfo {
                    phone: "0987654321".into(),
                    display_name: None,
                    line: Some("19001234".into()),
                    queue: Some("Sales".into()),
                    direction: Direction::Inbound,
                    agent_leg: false,
                })
            }
        ]
    );
    // Accept on a desk phone is the phone's job.
    assert!(has_not_now(&f.cmd(Command::Accept { call: None })));
    let e = f.cmd(Command::ToggleMute { call: None });
    assert!(
        sent(&e).is_empty() && has_not_now(&e),
        "cannot mute a ringing call"
    );
    let e = f.push(ServerMsg::AgentAnswer {
        extension: EXT.into(),
        call_id: "in-1".into(),
    });
    assert_eq!(
        events(&e),
        vec![
            Event::Call {
                call: CallId(1),
                event: CallEvent::Accepted
            },
            Event::Notice(Notice::Info(Info::AnsweredOnDeskPhone))
        ]
    );

    let e = f.cmd(Command::ToggleMute { call: None });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Mute {
            mute: true,
            call_id: "in-1".into(),
            call_type: 1
        }]
    );
    assert!(events(&e).is_empty());
    let e = f.push(ServerMsg::MuteResult {
        mute: true,
        call_id: "in-1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Muted(true)
        }]
    );
    let e = f.cmd(Command::ToggleMute { call: None });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Mute {
            mute: false,
            call_id: "in-1".into(),
            call_type: 1
        }]
    );
    // A refused unmute arrives as 1045: the call stays muted.
    let e = f.push(ServerMsg::CallError {
        status: "IPCCERR0004".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Notice(Notice::IpccError("IPCCERR0004".into()))]
    );
    let e = f.cmd(Command::ToggleMute { call: None });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Mute {
            mute: false,
            call_id: "in-1".into(),
            call_type: 1
        }],
        "still muted, so the key asks to unmute again"
    );
    f.push(ServerMsg::MuteResult {
        mute: false,
        call_id: "in-1".into(),
    });

    let e = f.cmd(Command::ToggleHold { call: None });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Hold {
            hold: true,
            outbound: false,
            call_id: "in-1".into(),
            call_type: 1
        }]
    );
    // Refused hold: state unchanged, notice shown.
    let e = f.push(ServerMsg::HoldResult {
        hold: true,
        outbound: false,
        status: "IPCCERR0003".into(),
        call_id: "in-1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Notice(Notice::IpccError("IPCCERR0003".into()))]
    );
    f.cmd(Command::ToggleHold { call: None });
    let e = f.push(ServerMsg::HoldResult {
        hold: true,
        outbound: false,
        status: "OK".into(),
        call_id: "in-1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Held(true)
        }]
    );
    f.cmd(Command::ToggleHold { call: None });
    let e = f.push(ServerMsg::HoldResult {
        hold: false,
        outbound: false,
        status: "OK".into(),
        call_id: "in-1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Held(false)
        }]
    );

    let e = f.cmd(Command::End { call: None });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Hangup {
            kind: HangupKind::Inbound,
            call_id: "in-1".into(),
            remove_agent_id: EXT.into()
        }]
    );
    // 1006 is a notice to supervisors; 1009 ends it.
    assert!(
        f.push(ServerMsg::HangupResult {
            call_id: "in-1".into(),
            status: "OK".into(),
            super_agent: String::new(),
            terminated_agent: EXT.into()
        })
        .is_empty()
    );
    let e = f.push(ServerMsg::AgentEnd {
        extension: EXT.into(),
        call_id: "in-1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::LocalHangup)
        }]
    );
}

#[test]
fn inbound_events_for_other_extensions_are_ignored() {
    let mut f = F::older(4);
    let mut r = ring("x");
    if let ServerMsg::Ring(m) = &mut r {
        m.extension = "1002".into();
    }
    assert!(f.push(r).is_empty());
    assert!(
        f.push(ServerMsg::AgentEnd {
            extension: "1002".into(),
            call_id: "x".into()
        })
        .is_empty()
    );
}

#[test]
fn missed_call_and_remote_hangup() {
    let mut f = F::older(4);
    f.push(ring("m"));
    let e = f.push(ServerMsg::AgentEnd {
        extension: EXT.into(),
        call_id: "m".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::Cancelled)
        }]
    );
    let mut f = inbound_active();
    let e = f.push(ServerMsg::AgentEnd {
        extension: EXT.into(),
        call_id: "in-1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::RemoteHangup)
        }]
    );
}

#[test]
fn reject_on_a_desk_phone_hangs_up_by_push() {
    let mut f = F::older(4);
    f.push(ring("r"));
    let e = f.cmd(Command::Reject {
        call: None,
        decline: false,
    });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Hangup {
            kind: HangupKind::Inbound,
            call_id: "r".into(),
            remove_agent_id: EXT.into()
        }]
    );
}

#[test]
fn supervisor_hangup_notice_and_refused_hangup() {
    let mut f = inbound_active();
    let e = f.push(ServerMsg::HangupResult {
        call_id: "in-1".into(),
        status: "OK".into(),
        super_agent: "9000".into(),
        terminated_agent: EXT.into(),
    });
    assert!(
        matches!(&events(&e)[..], [Event::Notice(Notice::Info(Info::SupervisorEnded { agent }))] if agent == "9000")
    );
    f.cmd(Command::End { call: None });
    let e = f.push(ServerMsg::HangupResult {
        call_id: "in-1".into(),
        status: "IPCCERR0000".into(),
        super_agent: String::new(),
        terminated_agent: EXT.into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Notice(Notice::IpccError("IPCCERR0000".into()))]
    );
}

#[test]
fn call_not_found_clears_the_call() {
    let mut f = inbound_active();
    let e = f.push(ServerMsg::CallError {
        status: "IPCCERR0000".into(),
    });
    assert!(events(&e).contains(&Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::Failed {
            error_code: Some("IPCCERR0000".into()),
            sip_code: None
        })
    }));
    assert!(!f.p.has_call());
}

#[test]
fn internal_call_ring_answer_hold_end() {
    let mut f = F::older(2);
    let e = f.push(ServerMsg::InternalRing {
        call_id: "i1".into(),
        called: "1002".into(),
    });
    let ev = events(&e);
    assert!(
        matches!(&ev[1], Event::Call { call: CallId(1), event: CallEvent::Ringing(r) } if r.direction == Direction::Internal && r.phone == "1002")
    );
    let e = f.push(ServerMsg::InternalAnswer {
        call_id: "i1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted
        }]
    );
    let e = f.cmd(Command::ToggleHold { call: None });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Hold {
            hold: true,
            outbound: false,
            call_id: "i1".into(),
            call_type: 3
        }]
    );
    f.push(ServerMsg::HoldResult {
        hold: true,
        outbound: false,
        status: "OK".into(),
        call_id: "i1".into(),
    });
    f.cmd(Command::ToggleHold { call: None });
    f.push(ServerMsg::HoldResult {
        hold: false,
        outbound: false,
        status: "OK".into(),
        call_id: "i1".into(),
    });
    let e = f.cmd(Command::End { call: None });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::Hangup {
            kind: HangupKind::Internal,
            call_id: "i1".into(),
            remove_agent_id: "1002".into()
        }]
    );
    let e = f.push(ServerMsg::InternalEnd {
        call_id: "i1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::LocalHangup)
        }]
    );
}

// ---- transfers ----------------------------------------------------------------------

#[test]
fn transfer_list_to_agent_and_to_queue() {
    let mut f = inbound_active();
    assert_eq!(
        sent(&f.cmd(Command::ListTransferAgents)),
        vec![ClientMsg::AgentSearch]
    );
    let e = f.push(ServerMsg::AgentSearchResult {
        agents: vec![AgentEntry {
            ipphone: "1002".into(),
            username: "binh".into(),
            full_name: "Binh Tran".into(),
            agent_status: "AVAILABLE".into(),
            call_status: "READY".into(),
        }],
    });
    assert_eq!(
        events(&e),
        vec![Event::TransferAgents(vec![AgentInfo {
            id: "1002".into(),
            name: "Binh Tran".into(),
            status: "AVAILABLE / READY".into()
        }])]
    );
    let e = f.cmd(Command::Transfer {
        call: None,
        target: TransferTarget::Agent("1002".into()),
    });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::TransferAgent {
            call_id: "in-1".into(),
            new_agent_id: "1002".into(),
            drop_agent_id: EXT.into()
        }]
    );
    let e = f.push(ServerMsg::TransferAgentResult {
        call_id: "in-1".into(),
        drop_agent: EXT.into(),
        new_agent: "1002".into(),
        super_agent: String::new(),
        status: "OK".into(),
    });
    assert!(matches!(
        &events(&e)[..],
        [Event::Call {
            call: CallId(1),
            event: CallEvent::TransferResult { ok: true, .. }
        }]
    ));
    let e = f.push(ServerMsg::TransferConfirm {
        call_id: "in-1".into(),
        status: "NOK".into(),
    });
    assert!(matches!(
        &events(&e)[..],
        [Event::Call {
            call: CallId(1),
            event: CallEvent::TransferResult { ok: false, .. }
        }]
    ));

    let e = f.cmd(Command::Transfer {
        call: None,
        target: TransferTarget::Queue("q-sales".into()),
    });
    assert_eq!(
        sent(&e),
        vec![ClientMsg::TransferAcd {
            call_id: "in-1".into(),
            acd_id: "q-sales".into()
        }]
    );
    let e = f.push(ServerMsg::TransferAcdResult {
        status: "OK".into(),
    });
    assert!(matches!(
        &events(&e)[..],
        [Event::Call {
            call: CallId(1),
            event: CallEvent::TransferResult { ok: true, .. }
        }]
    ));
    let e = f.cmd(Command::Transfer {
        call: None,
        target: TransferTarget::Number("0912".into()),
    });
    assert!(sent(&e).is_empty() && has_not_now(&e));
}

#[test]
fn transfer_needs_an_answered_call() {
    let mut f = F::older(4);
    f.push(ring("r"));
    let e = f.cmd(Command::Transfer {
        call: None,
        target: TransferTarget::Agent("1002".into()),
    });
    assert!(sent(&e).is_empty() && has_not_now(&e));
}

#[test]
fn transfer_offer_answered_in_time_or_refused_after_10_s() {
    let mut f = F::older(4);
    let offer = ServerMsg::TransferOffer {
        call_id: "t1".into(),
        drop_agent_id: "1002".into(),
        new_agent_id: EXT.into(),
    };
    let e = f.push(offer.clone());
    assert_eq!(
        events(&e),
        vec![Event::TransferOffered {
            call_id: "t1".into(),
            from_agent: "1002".into()
        }]
    );
    assert!(
        f.advance(Duration::from_secs(9))
            .iter()
            .all(|e| !matches!(e, Effect::Send(ClientMsg::TransferConfirm { .. })))
    );
    let e = f.cmd(Command::AnswerTransferOffer(true));
    assert_eq!(
        sent(&e),
        vec![ClientMsg::TransferConfirm {
            call_id: "t1".into(),
            drop_agent_id: "1002".into(),
            new_agent_id: EXT.into(),
            ok: true
        }]
    );

    f.push(offer);
    let e = f.advance(Duration::from_millis(10_001));
    assert!(sent(&e).contains(&ClientMsg::TransferConfirm {
        call_id: "t1".into(),
        drop_agent_id: "1002".into(),
        new_agent_id: EXT.into(),
        ok: false
    }));
    assert!(
        events(&e)
            .iter()
            .any(|e| matches!(e, Event::TransferResult { ok: false, .. }))
    );
    assert!(has_not_now(&f.cmd(Command::AnswerTransferOffer(true))));
}

// ---- keepalive and reconnect ------------------------------------------------------------

#[test]
fn older_keepalive_after_10_s_idle_and_answers_server_pings() {
    let mut f = F::older(4);
    let e = f.advance(Duration::from_millis(9_900));
    assert!(sent(&e).is_empty());
    let e = f.advance(Duration::from_millis(200));
    assert_eq!(sent(&e), vec![ClientMsg::Keepalive]);
    // Any frame resets the idle clock.
    f.advance(Duration::from_secs(5));
    f.cmd(Command::ListTransferAgents);
    let e = f.advance(Duration::from_secs(9));
    assert!(sent(&e).is_empty());
    let e = f.advance(Duration::from_secs(2));
    assert_eq!(sent(&e), vec![ClientMsg::Keepalive]);
    assert_eq!(
        sent(&f.push(ServerMsg::Keepalive)),
        vec![ClientMsg::Keepalive]
    );
}

#[test]
fn newer_never_pings_on_its_own_but_answers() {
    let mut f = F::up(newer(), 2, false, 2);
    assert!(sent(&f.advance(Duration::from_secs(120))).is_empty());
    assert_eq!(f.p.poll_timeout(), None);
    assert_eq!(
        sent(&f.push(ServerMsg::Keepalive)),
        vec![ClientMsg::Keepalive]
    );
}

#[test]
fn reconnect_every_10_s_up_to_20_tries_with_login_resent() {
    let mut f = F::older(4);
    let e = f.input(Input::PushClosed {
        reason: "reset".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Reconnecting {
            attempt: 1,
            max: 20
        }]
    );
    assert!(f.advance(Duration::from_millis(9_999)).is_empty());
    assert_eq!(f.advance(Duration::from_millis(1)), vec![Effect::OpenPush]);
    let e = f.input(Input::PushOpened);
    assert!(matches!(&sent(&e)[..], [ClientMsg::Login { .. }]));
    let e = f.push(ServerMsg::Refresh {
        agent_status: "AVAILABLE".into(),
        is_voice_channel: true,
        device_type: 4,
    });
    assert_eq!(events(&e)[0], Event::Reconnected);

    // Now a link that never comes back: 20 tries, then Disconnected.
    f.input(Input::PushClosed {
        reason: "reset".into(),
    });
    for n in 1..=20u32 {
        let e = f.advance(Duration::from_secs(10));
        assert_eq!(e, vec![Effect::OpenPush], "try {n}");
        let e = f.input(Input::PushClosed {
            reason: "refused".into(),
        });
        if n < 20 {
            assert_eq!(
                events(&e),
                vec![Event::Reconnecting {
                    attempt: n + 1,
                    max: 20
                }]
            );
        } else {
            assert_eq!(events(&e), vec![Event::Disconnected]);
        }
    }
    assert!(f.advance(Duration::from_secs(60)).is_empty());
    // A manual Connect starts over.
    assert_eq!(f.cmd(Command::Connect), vec![Effect::Bootstrap]);
}

#[test]
fn lost_link_during_a_desk_call_ends_it_as_transport_lost() {
    let cfg = PolicyConfig {
        reconnect_max: 0,
        ..PolicyConfig::default()
    };
    let mut f = F::up(cfg, 2, true, 4);
    f.push(ring("in-1"));
    let e = f.input(Input::PushClosed {
        reason: "eof".into(),
    });
    assert_eq!(
        events(&e),
        vec![
            Event::Call {
                call: CallId(1),
                event: CallEvent::Ended(EndReason::TransportLost)
            },
            Event::Disconnected
        ]
    );
}

#[test]
fn newer_does_not_reconnect() {
    let mut f = F::up(newer(), 2, false, 2);
    let e = f.input(Input::PushClosed {
        reason: "eof".into(),
    });
    assert_eq!(events(&e), vec![Event::Disconnected]);
    assert!(f.advance(Duration::from_secs(60)).is_empty());
}

// ---- exit path ---------------------------------------------------------------------------

#[test]
fn exit_hands_the_device_back_by_role() {
    for (role, device) in [(6u8, 4u8), (7, 3), (9, 6)] {
        let mut f = F::up(PolicyConfig::default(), role, true, 1);
        let e = f.cmd(Command::Shutdown);
        // csUnregister first, then reConfigDeviceType.
        assert_eq!(
            e,
            vec![
                Effect::Voice(VoiceAction::Stop),
                Effect::Send(ClientMsg::ChangeDevice {
                    device_type: device,
                    phone: String::new()
                })
            ],
            "role {role}"
        );
        assert!(!f.p.is_finished());
        let e = f.push(ServerMsg::ChangeDeviceResult {
            result: 1,
            old_device_type: 1,
            new_device_type: device,
        });
        assert_eq!(e, vec![Effect::ClosePush, Effect::Finished]);
        assert!(f.p.is_finished());
    }
}

#[test]
fn exit_without_voice_or_without_a_default_device_just_closes() {
    let mut f = F::up(PolicyConfig::default(), 6, false, 4);
    assert_eq!(
        f.cmd(Command::Shutdown),
        vec![Effect::ClosePush, Effect::Finished]
    );
    let mut f = F::up(PolicyConfig::default(), 2, true, 4);
    assert_eq!(
        f.cmd(Command::Shutdown),
        vec![Effect::ClosePush, Effect::Finished]
    );
    // Not connected at all.
    let mut f = F::new(PolicyConfig::default());
    assert_eq!(f.cmd(Command::Shutdown), vec![Effect::Finished]);
}

#[test]
fn exit_waits_for_the_reset_at_most_its_deadline() {
    let mut f = F::up(PolicyConfig::default(), 6, true, 2);
    f.cmd(Command::Shutdown);
    // Commands after the decision are ignored.
    assert!(f.cmd(Command::CallOut("0912345678".into())).is_empty());
    assert!(f.advance(Duration::from_millis(1_499)).is_empty());
    assert_eq!(
        f.advance(Duration::from_millis(1)),
        vec![Effect::ClosePush, Effect::Finished]
    );
}

#[test]
fn exit_hangs_up_the_console_call() {
    let mut f = F::up(PolicyConfig::default(), 6, true, 1);
    f.voice(VoiceEvent::Incoming {
        leg: LegId(7),
        number: "0987".into(),
        display_name: None,
    });
    let e = f.cmd(Command::Shutdown);
    assert_eq!(
        voice_actions(&e),
        vec![VoiceAction::Hangup { leg: LegId(7) }, VoiceAction::Stop]
    );
    assert!(events(&e).contains(&Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::LocalHangup)
    }));
}

// ---- device 1: the console's own voice leg ------------------------------------------------

#[test]
fn device_1_auto_answers_only_the_agent_leg_of_our_own_callout() {
    let mut f = F::older(1);
    // A stranger's INVITE while idle rings; it is not answered by itself.
    let e = f.voice(VoiceEvent::Incoming {
        leg: LegId(1),
        number: "0987654321".into(),
        display_name: Some("Khach".into()),
    });
    assert!(voice_actions(&e).is_empty());
    assert!(
        matches!(&events(&e)[..], [Event::Call { call: CallId(1), event: CallEvent::Ringing(r) }] if !r.agent_leg && r.display_name.as_deref() == Some("Khach"))
    );
    assert_eq!(
        voice_actions(&f.cmd(Command::Accept { call: None })),
        vec![VoiceAction::Answer { leg: LegId(1) }]
    );
    let e = f.voice(VoiceEvent::Answered { leg: LegId(1) });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted
        }]
    );
    // A second INVITE during the call is refused busy.
    let e = f.voice(VoiceEvent::Incoming {
        leg: LegId(2),
        number: "0911".into(),
        display_name: None,
    });
    assert_eq!(
        voice_actions(&e),
        vec![VoiceAction::Reject {
            leg: LegId(2),
            code: 486
        }]
    );
    // Hold still goes over push, never SIP.
    f.push(ServerMsg::Ring(RingMsg {
        extension: EXT.into(),
        call_id: "in-9".into(),
        caller: "0987654321".into(),
        line: "1900".into(),
        queue_description: "Q".into(),
        call_direction: 1,
    }));
    let e = f.cmd(Command::ToggleHold { call: None });
    assert!(
        matches!(&sent(&e)[..], [ClientMsg::Hold { hold: true, outbound: false, call_id, .. }] if call_id == "in-9")
    );
    let e = f.cmd(Command::End { call: None });
    assert_eq!(
        voice_actions(&e),
        vec![VoiceAction::Hangup { leg: LegId(1) }]
    );
    assert!(sent(&e).is_empty(), "device 1 hangs up in SIP");
    let e = f.voice(VoiceEvent::Ended {
        leg: LegId(1),
        reason: EndReason::RemoteHangup,
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::LocalHangup)
        }]
    );

    // Our call-out: the platform's agent leg is answered at once.
    f.cmd(Command::CallOut("0912345678".into()));
    f.push(callout("STARTING", "o1"));
    let e = f.voice(VoiceEvent::Incoming {
        leg: LegId(3),
        number: "0912345678".into(),
        display_name: None,
    });
    assert_eq!(
        voice_actions(&e),
        vec![VoiceAction::Answer { leg: LegId(3) }]
    );
    assert!(
        matches!(&events(&e)[..], [Event::Call { call: CallId(2), event: CallEvent::Ringing(r) }] if r.agent_leg)
    );
    assert!(events(&f.voice(VoiceEvent::Answered { leg: LegId(3) })).is_empty());
    f.push(callout("RINGING", "o1"));
    assert_eq!(
        events(&f.push(callout("ANSWER", "o1"))),
        vec![Event::Call {
            call: CallId(2),
            event: CallEvent::CustomerAnswered
        }]
    );
    // ENDCALL waits for the BYE on device 1.
    assert!(events(&f.push(callout("ENDCALL", "o1"))).is_empty());
    let e = f.voice(VoiceEvent::Ended {
        leg: LegId(3),
        reason: EndReason::RemoteHangup,
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(2),
            event: CallEvent::Ended(EndReason::RemoteHangup)
        }]
    );
}

#[test]
fn device_1_ring_from_1038_waits_for_the_invite_and_merges_the_popup() {
    let mut f = F::older(1);
    let e = f.push(ring("in-2"));
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::PlatformId("in-2".into())
        }]
    );
    let e = f.voice(VoiceEvent::Incoming {
        leg: LegId(5),
        number: "0987654321".into(),
        display_name: None,
    });
    assert!(
        matches!(&events(&e)[..], [Event::Call { call: CallId(1), event: CallEvent::Ringing(r) }]
        if r.line.as_deref() == Some("19001234") && r.queue.as_deref() == Some("Sales"))
    );
    // 1039 / 1009 do not drive device-1 calls.
    assert!(
        f.push(ServerMsg::AgentEnd {
            extension: EXT.into(),
            call_id: "in-2".into()
        })
        .is_empty()
    );
    let e = f.cmd(Command::Reject {
        call: None,
        decline: true,
    });
    assert_eq!(
        voice_actions(&e),
        vec![VoiceAction::Reject {
            leg: LegId(5),
            code: 603
        }]
    );
}

#[test]
fn device_1_internal_numbers_are_dialled_in_sip_and_dtmf_goes_there() {
    let mut f = F::older(1);
    let e = f.cmd(Command::CallOut("1002".into()));
    let leg = LegId(DIALED_LEG_BASE);
    assert_eq!(
        voice_actions(&e),
        vec![VoiceAction::Dial {
            leg,
            number: "1002".into()
        }]
    );
    assert!(sent(&e).is_empty());
    assert_eq!(
        events(&f.voice(VoiceEvent::Answered { leg })),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted
        }]
    );
    assert_eq!(
        voice_actions(&f.cmd(Command::SendDtmf {
            call: None,
            digit: '5'
        })),
        vec![VoiceAction::Dtmf { leg, digit: '5' }]
    );
    assert!(has_not_now(&f.cmd(Command::SendDtmf {
        call: None,
        digit: 'x'
    })));
}

#[test]
fn device_1_callout_error_agent_not_reachable_registers_again() {
    let mut f = F::older(1);
    f.cmd(Command::CallOut("0912345678".into()));
    let mut m = callout("ERROR", "");
    if let ServerMsg::CalloutStatus(s) = &mut m {
        s.error_code = "IPCC_NOT_CONNECT_AGENT_ID".into();
    }
    let e = f.push(m);
    assert_eq!(
        voice_actions(&e),
        vec![VoiceAction::Stop, VoiceAction::Start]
    );
}

#[test]
fn device_1_without_a_voice_leg_says_so_and_still_shows_the_ring() {
    let mut f = F::older(1);
    let e = f.voice(VoiceEvent::Unavailable(
        "console audio is not available yet".into(),
    ));
    assert!(
        matches!(&events(&e)[..], [Event::Notice(Notice::Info(Info::VoiceUnavailable { detail }))] if detail.contains("not available"))
    );
    let e = f.push(ring("in-3"));
    let ev = events(&e);
    assert!(
        ev.iter()
            .any(|e| matches!(e.call_event(), Some(CallEvent::Ringing(_))))
    );
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::Notice(Notice::Info(_))))
    );
    assert!(has_not_now(&f.cmd(Command::Accept { call: None })));
    let e = f.voice(VoiceEvent::Registration(RegState::None));
    assert_eq!(events(&e), vec![Event::Registration(RegState::None)]);
}

#[test]
fn dtmf_on_a_desk_phone_is_the_phones_job() {
    let mut f = inbound_active();
    assert!(has_not_now(&f.cmd(Command::SendDtmf {
        call: None,
        digit: '1'
    })));
}

#[test]
fn commands_need_a_connection() {
    let mut f = F::new(PolicyConfig::default());
    for c in [
        Command::ClaimVoice,
        Command::ToggleAvailability,
        Command::CallOut("0912345678".into()),
        Command::ChangeDevice(Device::IpPhone),
        Command::ListTransferAgents,
    ] {
        let e = f.cmd(c.clone());
        assert!(sent(&e).is_empty() && has_not_now(&e), "{c:?}");
    }
    for c in [
        Command::End { call: None },
        Command::ToggleHold { call: None },
        Command::ToggleMute { call: None },
        Command::Accept { call: None },
    ] {
        assert!(has_not_now(&f.cmd(c)));
    }
}

#[test]
fn role_override_from_config_wins() {
    let cfg = PolicyConfig {
        role: Some(7),
        ..PolicyConfig::default()
    };
    let mut f = F::up(cfg, 2, true, 2);
    let e = f.cmd(Command::Shutdown);
    assert_eq!(
        sent(&e),
        vec![ClientMsg::ChangeDevice {
            device_type: 3,
            phone: String::new()
        }]
    );
}

#[test]
fn a_desk_phone_answering_by_itself_is_said_on_screen() {
    let mut f = F::older(4);
    f.push(ring("in-9"));
    let e = f.push(ServerMsg::AgentAnswer {
        extension: EXT.into(),
        call_id: "in-9".into(),
    });
    assert_eq!(
        events(&e),
        vec![
            Event::Call {
                call: CallId(1),
                event: CallEvent::Accepted
            },
            Event::Notice(Notice::Info(Info::AnsweredOnDeskPhone))
        ]
    );
}

/// A device-1 call-out to `0912345486` whose agent leg (LegId 7) is up;
/// the customer's phone has not answered.
fn device_1_callout_with_agent_leg() -> F {
    let mut f = F::older(1);
    f.cmd(Command::CallOut("0912345486".into()));
    f.push(callout("STARTING", "o7"));
    let e = f.voice(VoiceEvent::Incoming {
        leg: LegId(7),
        number: "0912345486".into(),
        display_name: None,
    });
    assert_eq!(
        voice_actions(&e),
        vec![VoiceAction::Answer { leg: LegId(7) }]
    );
    f.voice(VoiceEvent::Answered { leg: LegId(7) });
    f
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Last {
    /// The platform's BYE on the agent leg (the voice leg's final word).
    Bye,
    /// The same leg cancelled before its 200 was confirmed.
    Cancel,
    /// 1055 `ERROR` with errorCode and sipCode.
    Error,
    /// 1055 `ENDCALL`.
    EndCall,
}

fn busy_error() -> ServerMsg {
    let mut m = callout("ERROR", "o7");
    if let ServerMsg::CalloutStatus(s) = &mut m {
        s.error_code = "IPCC_NOT_CONNECT_CUSTOMER".into();
        s.sip_code = "486".into();
    }
    m
}

fn deliver(f: &mut F, what: Last) -> Vec<Effect> {
    match what {
        Last::Bye => f.voice(VoiceEvent::Ended {
            leg: LegId(7),
            reason: EndReason::RemoteHangup,
        }),
        Last::Cancel => f.voice(VoiceEvent::Ended {
            leg: LegId(7),
            reason: EndReason::Cancelled,
        }),
        Last::Error => f.push(busy_error()),
        Last::EndCall => f.push(callout("ENDCALL", "o7")),
    }
}

fn permutations(items: &[Last]) -> Vec<Vec<Last>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, first);
            out.push(p);
        }
    }
    out
}

#[test]
fn device_1_failed_callout_keeps_its_error_whatever_arrives_first() {
    let failed = EndReason::Failed {
        error_code: Some("IPCC_NOT_CONNECT_CUSTOMER".into()),
        sip_code: Some(486),
    };
    let sets: [&[Last]; 4] = [
        &[Last::Bye, Last::Error],
        &[Last::Cancel, Last::Error],
        &[Last::Bye, Last::Error, Last::EndCall],
        &[Last::Cancel, Last::Error, Last::EndCall],
    ];
    for set in sets {
        for order in permutations(set) {
            // Each gap well inside the settle time, the whole run too.
            for gap in [
                Duration::ZERO,
                Duration::from_millis(40),
                CALLOUT_SETTLE / 4,
            ] {
                let mut f = device_1_callout_with_agent_leg();
                let mut seen = Vec::new();
                for what in &order {
                    seen.extend(f.advance(gap));
                    seen.extend(deliver(&mut f, *what));
                }
                seen.extend(f.advance(CALLOUT_SETTLE * 3));
                let ev = events(&seen);
                let ends: Vec<&Event> = ev
                    .iter()
                    .filter(|e| matches!(e.call_event(), Some(CallEvent::Ended(_))))
                    .collect();
                assert_eq!(
                    ends,
                    vec![&Event::Call {
                        call: CallId(1),
                        event: CallEvent::Ended(failed.clone())
                    }],
                    "{order:?} {gap:?}: {ev:?}"
                );
                assert!(
                    ev.contains(&Event::Call {
                        call: CallId(1),
                        event: CallEvent::CalloutFailed {
                            error_code: Some("IPCC_NOT_CONNECT_CUSTOMER".into()),
                            sip_code: Some(486),
                        }
                    }),
                    "{order:?} {gap:?}: {ev:?}"
                );
                assert!(!f.p.has_call(), "{order:?}");
                assert_eq!(
                    f.p.poll_timeout(),
                    Some(f.p.last_sent + f.p.cfg.keepalive_idle)
                );
            }
        }
    }
}

#[test]
fn device_1_callout_whose_error_never_comes_ends_after_the_settle_time() {
    // Only the BYE: the call stays up (no "the other side hung up") until
    // the settle time, then ends as not answered.
    let mut f = device_1_callout_with_agent_leg();
    assert!(events(&deliver(&mut f, Last::Bye)).is_empty());
    assert!(f.p.has_call());
    let e = f.advance(CALLOUT_SETTLE - Duration::from_millis(1));
    assert!(events(&e).is_empty(), "{e:?}");
    let e = f.advance(Duration::from_millis(1));
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::NoAnswer)
        }]
    );
    // ENDCALL after the BYE: the same end, at the same time.
    let mut f = device_1_callout_with_agent_leg();
    deliver(&mut f, Last::Bye);
    assert!(events(&deliver(&mut f, Last::EndCall)).is_empty());
    let e = f.advance(CALLOUT_SETTLE);
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::NoAnswer)
        }]
    );
    // A leg lost on our side keeps its own reason.
    let mut f = device_1_callout_with_agent_leg();
    f.voice(VoiceEvent::Ended {
        leg: LegId(7),
        reason: EndReason::TransportLost,
    });
    let e = f.advance(CALLOUT_SETTLE);
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::TransportLost)
        }]
    );
}

#[test]
fn device_1_callout_settling_hang_up_and_a_new_invite() {
    let mut f = device_1_callout_with_agent_leg();
    deliver(&mut f, Last::Bye);
    // Another INVITE meanwhile is not taken for our agent leg.
    let e = f.voice(VoiceEvent::Incoming {
        leg: LegId(8),
        number: "0987654321".into(),
        display_name: None,
    });
    assert_eq!(
        voice_actions(&e),
        vec![VoiceAction::Reject {
            leg: LegId(8),
            code: 486
        }]
    );
    // The agent's hang-up ends it at once; nothing is left to send.
    let e = f.cmd(Command::End { call: None });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::Cancelled)
        }]
    );
    assert!(sent(&e).is_empty() && voice_actions(&e).is_empty());
    // A late ERROR for it is dropped.
    assert!(events(&deliver(&mut f, Last::Error)).is_empty());
    // The agent's own hang-up before the BYE is a plain cancel, no wait.
    let mut f = device_1_callout_with_agent_leg();
    f.cmd(Command::End { call: None });
    let e = deliver(&mut f, Last::Bye);
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::Cancelled)
        }]
    );
    // Answered, then the customer hangs up: the BYE ends it at once.
    let mut f = device_1_callout_with_agent_leg();
    f.push(callout("ANSWER", "o7"));
    let e = deliver(&mut f, Last::Bye);
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::RemoteHangup)
        }]
    );
}

#[test]
fn a_named_call_must_be_the_call_we_have() {
    let mut f = inbound_active();
    // The platform's call in-1 is our c1, for every event about it.
    let e = f.cmd(Command::ToggleHold {
        call: Some(CallId(2)),
    });
    assert_eq!(
        events(&e),
        vec![Event::Notice(Notice::UnknownCall(CallId(2)))]
    );
    assert!(sent(&e).is_empty());
    let e = f.cmd(Command::ToggleHold {
        call: Some(CallId(1)),
    });
    assert_eq!(sent(&e).len(), 1);
    let e = f.push(ServerMsg::HoldResult {
        hold: true,
        outbound: false,
        status: "OK".into(),
        call_id: "in-1".into(),
    });
    assert_eq!(
        events(&e),
        vec![Event::Call {
            call: CallId(1),
            event: CallEvent::Held(true)
        }]
    );
    // The next call gets the next name.
    f.push(ServerMsg::AgentEnd {
        extension: EXT.into(),
        call_id: "in-1".into(),
    });
    let e = f.push(ring("in-2"));
    assert!(events(&e).iter().all(|e| e.call_id() == Some(CallId(2))));
    assert!(!events(&e).is_empty());
}

#[test]
fn a_sip_address_is_refused_with_the_reason() {
    let mut f = F::older(4);
    let e = f.cmd(Command::CallOut("sip:1002@pbx.example.com".into()));
    assert_eq!(
        events(&e),
        vec![Event::Notice(Notice::NotNow(NotNow::NumbersOnly))]
    );
    assert!(sent(&e).is_empty());
}

/// Our one call (the first) ended so.
fn ended(reason: EndReason) -> Event {
    Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(reason),
    }
}

fn transfer_result(status: &str, new_agent: &str) -> ServerMsg {
    ServerMsg::TransferAgentResult {
        call_id: "in-1".into(),
        drop_agent: EXT.into(),
        new_agent: new_agent.into(),
        super_agent: String::new(),
        status: status.into(),
    }
}

fn agent_end() -> ServerMsg {
    ServerMsg::AgentEnd {
        extension: EXT.into(),
        call_id: "in-1".into(),
    }
}

#[test]
fn a_transferred_call_ends_as_transferred_with_its_target() {
    // To an agent: the result, then the platform takes the call away.
    let mut f = inbound_active();
    f.cmd(Command::Transfer {
        call: None,
        target: TransferTarget::Agent("1002".into()),
    });
    f.push(transfer_result("OK", "1002"));
    assert_eq!(
        events(&f.push(agent_end())),
        vec![ended(EndReason::Transferred {
            target: "1002".into()
        })]
    );
    // To a queue.
    let mut f = inbound_active();
    f.cmd(Command::Transfer {
        call: None,
        target: TransferTarget::Queue("q-sales".into()),
    });
    f.push(ServerMsg::TransferAcdResult {
        status: "OK".into(),
    });
    assert_eq!(
        events(&f.push(agent_end())),
        vec![ended(EndReason::Transferred {
            target: "q-sales".into()
        })]
    );
    // Refused: the call stays ours, and its end is an ordinary one.
    let mut f = inbound_active();
    f.cmd(Command::Transfer {
        call: None,
        target: TransferTarget::Agent("1102".into()),
    });
    f.push(transfer_result("NOK", "1102"));
    assert_eq!(
        events(&f.push(agent_end())),
        vec![ended(EndReason::RemoteHangup)]
    );
}

#[test]
fn device_1_transfer_result_and_bye_in_either_order() {
    let start = || {
        let mut f = F::older(1);
        f.voice(VoiceEvent::Incoming {
            leg: LegId(3),
            number: "0987654321".into(),
            display_name: None,
        });
        f.push(ring("in-1"));
        f.cmd(Command::Accept { call: None });
        f.voice(VoiceEvent::Answered { leg: LegId(3) });
        f.cmd(Command::Transfer {
            call: None,
            target: TransferTarget::Agent("1002".into()),
        });
        f
    };
    let bye = VoiceEvent::Ended {
        leg: LegId(3),
        reason: EndReason::RemoteHangup,
    };
    let transferred = vec![ended(EndReason::Transferred {
        target: "1002".into(),
    })];
    // The result first, then the BYE.
    let mut f = start();
    f.push(transfer_result("OK", "1002"));
    assert_eq!(events(&f.voice(bye.clone())), transferred);
    // The BYE first: the call waits for the result.
    let mut f = start();
    assert!(events(&f.voice(bye.clone())).is_empty());
    let e = f.push(transfer_result("OK", "1002"));
    assert_eq!(
        events(&e)
            .into_iter()
            .filter(|e| matches!(e.call_event(), Some(CallEvent::Ended(_))))
            .collect::<Vec<_>>(),
        transferred
    );
    // The BYE, then a refusal: the other side hung up.
    let mut f = start();
    f.voice(bye.clone());
    let e = f.push(transfer_result("NOK", "1002"));
    assert!(events(&e).contains(&ended(EndReason::RemoteHangup)));
    // The BYE and no result at all: the settle time ends it as it was.
    let mut f = start();
    f.voice(bye);
    assert_eq!(
        events(&f.advance(CALLOUT_SETTLE)),
        vec![ended(EndReason::RemoteHangup)]
    );
}

// ---- take the voice channel back after a reconnect (issue 15) -------------

/// Drop the push socket and log in again; the refresh says voice is not here.
fn reconnect_without_voice(f: &mut F) -> Vec<Effect> {
    f.input(Input::PushClosed {
        reason: "dropped".into(),
    });
    f.advance(Duration::from_secs(60));
    f.input(Input::PushOpened);
    f.push(ServerMsg::Refresh {
        agent_status: "NOT AVAILABLE".into(),
        is_voice_channel: false,
        device_type: 1,
    })
}

#[test]
fn a_reconnect_told_no_voice_takes_it_back_and_keeps_the_device_1_leg() {
    let mut f = F::older(1);
    assert_eq!(voice_actions(&f.drain()), vec![]);
    let e = reconnect_without_voice(&mut f);
    assert_eq!(sent(&e), vec![ClientMsg::EnableVoice]);
    let ev = events(&e);
    assert!(ev.contains(&Event::Reconnected));
    assert!(ev.contains(&Event::VoiceChannel(true)));
    assert!(ev.contains(&Event::Notice(Notice::Info(Info::VoiceRetaken))));
    assert!(!ev.contains(&Event::Notice(Notice::Info(Info::VoiceInUseElsewhere))));
    // The console's own audio leg is not stopped meanwhile.
    assert_eq!(voice_actions(&e), vec![]);
    assert!(f.p.owns_voice());
}

#[test]
fn a_refused_take_back_says_voice_is_elsewhere_and_stops_the_leg() {
    let mut f = F::older(1);
    reconnect_without_voice(&mut f);
    let e = f.push(ServerMsg::VoiceEnabled {
        result: 0,
        device_type: 1,
    });
    let ev = events(&e);
    assert!(ev.contains(&Event::VoiceChannel(false)));
    assert!(ev.contains(&Event::Notice(Notice::Info(Info::VoiceInUseElsewhere))));
    assert_eq!(voice_actions(&e), vec![VoiceAction::Stop]);
    assert!(!f.p.owns_voice());
    // A call-out now says why it cannot go.
    let e = f.cmd(Command::CallOut("0912345678".into()));
    assert_eq!(
        events(&e),
        vec![Event::Notice(Notice::NotNow(NotNow::VoiceElsewhere))]
    );
}
