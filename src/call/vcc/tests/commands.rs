//! Commands that need a call, a connection, or a valid target.

use super::*;

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
