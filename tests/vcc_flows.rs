//! The real VCC engine, headless, against the local switchboard over real
//! sockets: every SDK function and callback, both generations, voice moving
//! between consoles, each call-out error row, transfers, reconnect, exit.

mod vcc_support;

use std::time::Duration;

use serde_json::Value;
use tongdai::backends::vcc::Generation;
use tongdai::engine::{
    Availability, Command, Device, Direction, EndReason, Event, Info, InitStep, NotNow, Notice,
    TransferTarget,
};
use tongdai::engine::{CallEvent, CallId};
use tongdai::switchboard::Control;
use vcc_support::*;

const OLDER: Generation = Generation::Older;
const NEWER: Generation = Generation::Newer;

fn detail<'a>(e: &'a tongdai::switchboard::LogEntry, k: &str) -> &'a Value {
    e.detail.get(k).unwrap_or(&Value::Null)
}

#[tokio::test]
async fn init_reports_state_and_on_off_round_trips() {
    let sb = switchboard().await;
    let mut c = Console::ready(&sb, "1003", OLDER).await;
    c.expect("Off", |e| *e == Event::Availability(Availability::Off))
        .await;
    c.expect("voice here", |e| *e == Event::VoiceChannel(true))
        .await;
    c.expect("device 2", |e| *e == Event::DeviceType(Device::IpPhone))
        .await;
    c.send(Command::ToggleAvailability);
    c.expect("On", |e| *e == Event::Availability(Availability::On))
        .await;
    c.send(Command::ToggleAvailability);
    c.expect("Off", |e| *e == Event::Availability(Availability::Off))
        .await;
    // The frames carried agentId and extension.
    let login = log_wait(&sb, "1010003 in", |e| sent_frame(e, 1010003)).await;
    assert_eq!(detail(&login, "agentId"), "chi.le");
    assert_eq!(detail(&login, "extension"), "1003");
    let on = log_wait(&sb, "2013 in", |e| sent_frame(e, 2013)).await;
    assert_eq!(detail(&on, "status"), "AVAILABLE");
    assert_eq!(detail(&on, "extension"), "1003");
    // Older discovery used the query-string endpoint.
    log_wait(&sb, "older discovery", |e| {
        e.kind == "rest"
            && detail(e, "path") == "/api/login/check-partner"
            && detail(e, "result") == "ok"
    })
    .await;
    assert!(c.shutdown().await);
}

#[tokio::test]
async fn availability_refused_during_a_call_is_reverted() {
    let sb = switchboard().await;
    let mut c = Console::ready(&sb, "1003", OLDER).await;
    sb.ring("1003", "0987654321", "19001234", "Sales");
    c.expect("ringing", |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    c.send(Command::ToggleAvailability);
    c.expect("refused", |e| {
        *e == Event::Notice(Notice::AvailabilityRefused)
    })
    .await;
    assert!(
        c.seen
            .iter()
            .rev()
            .take(3)
            .any(|e| *e == Event::Availability(Availability::Off)),
        "{:?}",
        c.seen
    );
}

#[tokio::test]
async fn newer_generation_discovery_token3c_and_forced_device() {
    let sb = switchboard().await;
    // 1003 may use device 1: the forced change is accepted, and the console
    // says plainly that it has no audio yet.
    let mut c = Console::ready(&sb, "1003", NEWER).await;
    c.expect("device 1", |e| *e == Event::DeviceType(Device::Console))
        .await;
    c.expect("no audio notice", |e| {
        matches!(
            e,
            Event::Notice(Notice::Info(Info::VoiceUnavailable { .. }))
        )
    })
    .await;
    log_wait(&sb, "newer discovery", |e| {
        e.kind == "rest"
            && detail(e, "path") == "/v1/api/calls/check-partner"
            && detail(e, "result") == "ok"
    })
    .await;
    let login = log_wait(&sb, "1010003", |e| sent_frame(e, 1010003)).await;
    assert_eq!(detail(&login, "initCallChannel"), 1);
    assert_eq!(detail(&login, "authenToken"), "<redacted>");
    log_wait(&sb, "login note", |e| {
        e.is_note("login") && detail(e, "newer") == true
    })
    .await;

    // 1005 is kept on its desk phone: the platform refuses device 1.
    let mut d = Console::ready(&sb, "1005", NEWER).await;
    d.expect("refused", |e| {
        *e == Event::Notice(Notice::DeviceChangeRefused)
    })
    .await;
    assert_eq!(
        d.seen
            .iter()
            .rev()
            .find(|e| matches!(e, Event::DeviceType(_))),
        Some(&Event::DeviceType(Device::AlwaysOnIpPhone))
    );
}

#[tokio::test]
async fn login_is_retried_once_with_a_fresh_token() {
    let sb = switchboard().await;
    sb.refuse_next_logins(1);
    let _c = Console::ready(&sb, "1003", OLDER).await;
    let logins = sb
        .log()
        .entries()
        .into_iter()
        .filter(|e| e.kind == "rest" && detail(e, "method") == "POST")
        .count();
    assert_eq!(logins, 2);

    sb.refuse_next_logins(2);
    let mut c = Console::start(&sb, "1001", OLDER).await;
    let e = c
        .expect("init failed", |e| matches!(e, Event::InitFailed(_)))
        .await;
    assert!(
        matches!(&e, Event::InitFailed(t) if t.step == InitStep::Refused && t.detail.contains("simulated")),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_wrong_access_key_fails_init_with_the_reason() {
    let sb = switchboard().await;
    let cfg = sb.client_config("1003", OLDER);
    let mut c = Console::start_with(cfg, tongdai::secret::Secret::new("wrong-key"), "1003");
    let e = c
        .expect("init failed", |e| matches!(e, Event::InitFailed(_)))
        .await;
    assert!(
        matches!(&e, Event::InitFailed(t) if t.step == InitStep::Refused),
        "{e:?}"
    );
}

#[tokio::test]
async fn callout_answered_held_and_hung_up() {
    let sb = switchboard().await;
    let mut c = Console::ready(&sb, "1003", OLDER).await;
    c.send(Command::CallOut("0912 345 678".into()));
    c.expect("dialing", |e| {
        e.call_event() == Some(&CallEvent::Dialing("0912345678".into()))
    })
    .await;
    c.expect("call id", |e| {
        matches!(e.call_event(), Some(CallEvent::PlatformId(_)))
    })
    .await;
    c.expect("customer ringing", |e| {
        e.call_event() == Some(&CallEvent::CalloutStarted("0912345678".into()))
    })
    .await;
    c.expect("answered", |e| {
        e.call_event() == Some(&CallEvent::CustomerAnswered)
    })
    .await;
    c.send(Command::ToggleHold { call: None });
    c.expect("held", |e| e.call_event() == Some(&CallEvent::Held(true)))
        .await;
    let hold = log_wait(&sb, "2055", |e| sent_frame(e, 2055)).await;
    assert_eq!(detail(&hold, "callType"), 2);
    c.send(Command::ToggleHold { call: None });
    c.expect("resumed", |e| {
        e.call_event() == Some(&CallEvent::Held(false))
    })
    .await;
    c.send(Command::ToggleMute { call: None });
    c.expect("mute refused", |e| {
        matches!(e, Event::Notice(Notice::NotNow(_)))
    })
    .await;
    c.send(Command::End { call: None });
    c.expect("ended", |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::LocalHangup))
    })
    .await;
    let hangup = log_wait(&sb, "2033", |e| sent_frame(e, 2033)).await;
    assert_eq!(detail(&hangup, "removeAgentId"), "1003");
    log_wait(&sb, "hangup accepted", |e| {
        e.is_note("hangup_request") && detail(e, "status") == "OK"
    })
    .await;
}

#[tokio::test]
async fn callout_every_error_row_and_a_customer_hangup() {
    let sb = switchboard().await;
    let mut c = Console::ready(&sb, "1003", OLDER).await;
    let rows: [(&str, &str, Option<u16>); 11] = [
        ("404", "IPCC_NOT_CONNECT_CUSTOMER", Some(404)),
        ("486", "IPCC_NOT_CONNECT_CUSTOMER", Some(486)),
        ("408", "IPCC_NOT_CONNECT_CUSTOMER", Some(408)),
        ("403", "IPCC_NOT_CONNECT_CUSTOMER", Some(403)),
        ("487", "IPCC_NOT_CONNECT_CUSTOMER", Some(487)),
        ("480", "IPCC_NOT_CONNECT_CUSTOMER", Some(480)),
        ("503", "IPCC_NOT_CONNECT_CUSTOMER", Some(503)),
        ("786", "CALLOUT_AGENT_BUSY", Some(786)),
        ("900", "IPCC_NOT_CONNECT_AGENT_ID", None),
        ("901", "CALLOUT_PERMISSION_DENY", None),
        ("902", "ERROR_CALLOUT_CONNECT", None),
    ];
    for (n, (tail, code, sip)) in (1..).zip(rows) {
        c.send(Command::CallOut(format!("0912345{tail}")));
        let e = c
            .expect("callout failed", |e| {
                matches!(e.call_event(), Some(CallEvent::CalloutFailed { .. }))
            })
            .await;
        assert_eq!(
            e,
            // Each call-out is a call of its own.
            Event::Call {
                call: CallId(n),
                event: CallEvent::CalloutFailed {
                    error_code: Some(code.into()),
                    sip_code: sip,
                    internal: None,
                }
            },
            "number ending {tail}"
        );
        c.expect("ended failed", |e| {
            e.call_event()
                == Some(&CallEvent::Ended(EndReason::Failed {
                    error_code: Some(code.into()),
                    sip_code: sip,
                }))
        })
        .await;
        // The row's sentence, as the console shows it.
        let text =
            tongdai::call::errors::callout_notice(Some(code), sip, tongdai::call::errors::Lang::Vi);
        assert!(!text.is_empty());
    }
    // sipCode travelled as a string.
    let err = log_wait(&sb, "1055 ERROR 486", |e| {
        e.kind == "out" && e.object_id == Some(1055) && detail(e, "sipCode") == "486"
    })
    .await;
    assert!(detail(&err, "sipCode").is_string());

    c.send(Command::CallOut("0912345999".into()));
    c.expect("answered", |e| {
        e.call_event() == Some(&CallEvent::CustomerAnswered)
    })
    .await;
    c.expect("customer hung up", |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::RemoteHangup))
    })
    .await;
}

#[tokio::test]
async fn inbound_ring_answer_on_the_phone_mute_hold_and_end() {
    let sb = switchboard().await;
    let mut c = Console::ready(&sb, "1003", OLDER).await;
    sb.ring("1003", "0987654321", "19001234", "Phím 1: Bán hàng");
    let ring = c
        .expect("ringing", |e| {
            matches!(e.call_event(), Some(CallEvent::Ringing(_)))
        })
        .await;
    let Some(CallEvent::Ringing(info)) = ring.call_event().cloned() else {
        unreachable!()
    };
    assert_eq!(info.phone, "0987654321");
    assert_eq!(info.line.as_deref(), Some("19001234"));
    assert_eq!(info.queue.as_deref(), Some("Phím 1: Bán hàng"));
    assert_eq!(info.direction, Direction::Inbound);
    assert!(!info.agent_leg);
    c.send(Command::Accept { call: None });
    c.expect("answer on the phone", |e| {
        *e == Event::Notice(Notice::NotNow(NotNow::AnswerOnPhone))
    })
    .await;
    sb.control(Control::AnswerOnPhone {
        agent: "1003".into(),
    });
    c.expect("accepted", |e| e.call_event() == Some(&CallEvent::Accepted))
        .await;
    // The phone answered, not the console: the agent is told where.
    c.expect("said where", |e| {
        *e == Event::Notice(Notice::Info(Info::AnsweredOnDeskPhone))
    })
    .await;
    c.send(Command::ToggleMute { call: None });
    c.expect("muted", |e| e.call_event() == Some(&CallEvent::Muted(true)))
        .await;
    c.send(Command::ToggleMute { call: None });
    c.expect("unmuted", |e| {
        e.call_event() == Some(&CallEvent::Muted(false))
    })
    .await;
    c.send(Command::ToggleHold { call: None });
    c.expect("held", |e| e.call_event() == Some(&CallEvent::Held(true)))
        .await;
    let hold = log_wait(&sb, "2015", |e| sent_frame(e, 2015)).await;
    assert_eq!(detail(&hold, "callType"), 1);
    c.send(Command::ToggleHold { call: None });
    c.expect("resumed", |e| {
        e.call_event() == Some(&CallEvent::Held(false))
    })
    .await;
    c.send(Command::End { call: None });
    c.expect("ended", |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::LocalHangup))
    })
    .await;
    let hangup = log_wait(&sb, "2019", |e| sent_frame(e, 2019)).await;
    assert_eq!(detail(&hangup, "removeAgentId"), "1003");
    log_wait(&sb, "1009 out", |e| {
        e.kind == "out" && e.object_id == Some(1009)
    })
    .await;
}

#[tokio::test]
async fn inbound_remote_hangup_supervisor_and_internal_calls() {
    let sb = switchboard().await;
    let mut c = Console::ready(&sb, "1003", OLDER).await;
    sb.ring("1003", "0903123456", "19001234", "Q");
    c.expect("ringing", |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    sb.control(Control::AnswerOnPhone {
        agent: "1003".into(),
    });
    c.expect("accepted", |e| e.call_event() == Some(&CallEvent::Accepted))
        .await;
    sb.control(Control::CustomerHangup {
        agent: "1003".into(),
    });
    c.expect("remote end", |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::RemoteHangup))
    })
    .await;

    sb.ring("1003", "0903123456", "19001234", "Q");
    c.expect("ringing", |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    sb.control(Control::AnswerOnPhone {
        agent: "1003".into(),
    });
    c.expect("accepted", |e| e.call_event() == Some(&CallEvent::Accepted))
        .await;
    sb.control(Control::SupervisorHangup {
        agent: "1003".into(),
        supervisor: "9000".into(),
    });
    c.expect(
        "supervisor notice",
        |e| matches!(e, Event::Notice(Notice::Info(Info::SupervisorEnded { agent })) if agent == "9000"),
    )
    .await;
    c.expect("ended", |e| {
        matches!(e.call_event(), Some(CallEvent::Ended(_)))
    })
    .await;

    sb.control(Control::InternalRing {
        agent: "1003".into(),
        from: "1001".into(),
    });
    c.expect("internal ring", |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(r)) if r.direction == Direction::Internal && r.phone == "1001")
    })
    .await;
    sb.control(Control::AnswerOnPhone {
        agent: "1003".into(),
    });
    c.expect("accepted", |e| e.call_event() == Some(&CallEvent::Accepted))
        .await;
    c.send(Command::ToggleHold { call: None });
    c.expect("held", |e| e.call_event() == Some(&CallEvent::Held(true)))
        .await;
    c.send(Command::ToggleHold { call: None });
    c.expect("resumed", |e| {
        e.call_event() == Some(&CallEvent::Held(false))
    })
    .await;
    c.send(Command::End { call: None });
    c.expect("ended", |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::LocalHangup))
    })
    .await;
    let h = log_wait(&sb, "2009", |e| sent_frame(e, 2009)).await;
    assert_eq!(detail(&h, "removeAgentId"), "1001");
}

#[tokio::test]
async fn a_missed_call_sets_no_answer() {
    let sb = switchboard_with(|o| o.timing.caller_patience = Duration::from_millis(300)).await;
    let mut c = Console::ready(&sb, "1003", OLDER).await;
    sb.ring("1003", "0987654321", "19001234", "Q");
    c.expect("ringing", |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    c.expect("missed", |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::Cancelled))
    })
    .await;
    c.expect("no answer", |e| {
        *e == Event::Availability(Availability::NoAnswer)
    })
    .await;
    c.send(Command::ToggleAvailability);
    c.expect("On again", |e| *e == Event::Availability(Availability::On))
        .await;
}

#[tokio::test]
async fn change_device_mobile_validated_console_and_refusal() {
    let sb = switchboard().await;
    let mut c = Console::ready(&sb, "1003", OLDER).await;
    c.send(Command::ChangeDevice(Device::Mobile {
        number: "12345".into(),
    }));
    c.expect("bad number", |e| {
        *e == Event::Notice(Notice::BadNumber("12345".into()))
    })
    .await;
    c.send(Command::ChangeDevice(Device::Mobile {
        number: "+84 912 000 111".into(),
    }));
    c.expect("mobile", |e| {
        *e == Event::DeviceType(Device::Mobile {
            number: "0912000111".into(),
        })
    })
    .await;
    let f = log_wait(&sb, "1511242004", |e| sent_frame(e, 1511242004)).await;
    assert_eq!(detail(&f, "phoneNum"), "0912000111");
    c.send(Command::ChangeDevice(Device::AlwaysOnIpPhone));
    c.expect("desk", |e| *e == Event::DeviceType(Device::AlwaysOnIpPhone))
        .await;
    c.send(Command::ChangeDevice(Device::Console));
    c.expect("console", |e| *e == Event::DeviceType(Device::Console))
        .await;
    c.expect("no audio", |e| {
        matches!(
            e,
            Event::Notice(Notice::Info(Info::VoiceUnavailable { .. }))
        )
    })
    .await;
    // On device 1 with no voice leg, a call-out fails as the platform says.
    c.send(Command::CallOut("0912345678".into()));
    c.expect("agent unreachable", |e| {
        e.call_event()
            == Some(&CallEvent::CalloutFailed {
                error_code: Some("IPCC_NOT_CONNECT_AGENT_ID".into()),
                sip_code: None,
                internal: None,
            })
    })
    .await;

    let mut d = Console::ready(&sb, "1005", OLDER).await;
    d.send(Command::ChangeDevice(Device::IpPhone));
    d.expect("refused", |e| {
        *e == Event::Notice(Notice::DeviceChangeRefused)
    })
    .await;
    assert_eq!(
        d.seen
            .iter()
            .rev()
            .find(|e| matches!(e, Event::DeviceType(_))),
        Some(&Event::DeviceType(Device::AlwaysOnIpPhone))
    );
}

#[tokio::test]
async fn voice_moves_between_two_consoles() {
    let sb = switchboard().await;
    let mut a = Console::ready(&sb, "1003", OLDER).await;
    a.expect("voice here", |e| *e == Event::VoiceChannel(true))
        .await;
    let mut b = Console::ready(&sb, "1003", OLDER).await;
    b.expect("voice elsewhere", |e| *e == Event::VoiceChannel(false))
        .await;
    b.expect("told", |e| {
        *e == Event::Notice(Notice::Info(Info::VoiceInUseElsewhere))
    })
    .await;
    // Calls ring where voice is.
    sb.ring("1003", "0987654321", "19001234", "Q");
    a.expect("A rings", |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    b.expect_none(Duration::from_millis(200), "ring on B", |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    sb.control(Control::CustomerHangup {
        agent: "1003".into(),
    });
    a.expect("A ended", |e| {
        matches!(e.call_event(), Some(CallEvent::Ended(_)))
    })
    .await;

    b.send(Command::ClaimVoice);
    b.expect("B has voice", |e| *e == Event::VoiceChannel(true))
        .await;
    a.expect("A lost voice", |e| *e == Event::VoiceChannel(false))
        .await;
    log_wait(&sb, "voice moved", |e| e.is_note("voice_moved")).await;
    // 1511231003 (ack) and 1511231001 went to B.
    log_wait(&sb, "ack", |e| {
        e.kind == "out" && e.object_id == Some(1511231003)
    })
    .await;
    log_wait(&sb, "1511231002", |e| {
        e.kind == "out" && e.object_id == Some(1511231002)
    })
    .await;
    sb.ring("1003", "0987654321", "19001234", "Q");
    b.expect("B rings", |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    a.expect_none(Duration::from_millis(200), "ring on A", |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    // A call-out from A is refused: voice is on B.
    a.send(Command::CallOut("0912345678".into()));
    a.expect("refused", |e| matches!(e, Event::Notice(Notice::NotNow(_))))
        .await;
}

#[tokio::test]
async fn newer_generation_session_ends_when_voice_moves() {
    let sb = switchboard().await;
    let mut a = Console::ready(&sb, "1005", NEWER).await;
    a.expect("voice", |e| *e == Event::VoiceChannel(true)).await;
    let b = Console::ready(&sb, "1005", NEWER).await;
    b.send(Command::ClaimVoice);
    a.expect("A disconnected", |e| *e == Event::Disconnected)
        .await;
}

#[tokio::test]
async fn transfers_to_agents_and_queues() {
    let sb = switchboard().await;
    let mut a = Console::ready(&sb, "1001", OLDER).await;
    let mut b = Console::ready(&sb, "1003", OLDER).await;
    for c in [&mut a, &mut b] {
        c.send(Command::ToggleAvailability);
        c.expect("On", |e| *e == Event::Availability(Availability::On))
            .await;
    }
    sb.ring("1001", "0987654321", "19001234", "Sales");
    a.expect("ringing", |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    sb.control(Control::AnswerOnPhone {
        agent: "1001".into(),
    });
    a.expect("accepted", |e| e.call_event() == Some(&CallEvent::Accepted))
        .await;
    a.send(Command::ListTransferAgents);
    let list = a
        .expect("agents", |e| matches!(e, Event::TransferAgents(_)))
        .await;
    let Event::TransferAgents(list) = list else {
        unreachable!()
    };
    let ids: Vec<&str> = list.iter().map(|a| a.id.as_str()).collect();
    assert!(
        ids.contains(&"1003") && ids.contains(&"1101") && ids.contains(&"1102"),
        "{ids:?}"
    );
    assert!(!ids.contains(&"1001"));

    // To a console: offered, accepted, the call moves.
    a.send(Command::Transfer {
        call: None,
        target: TransferTarget::Agent("1003".into()),
    });
    b.expect(
        "offered",
        |e| matches!(e, Event::TransferOffered { from_agent, .. } if from_agent == "1001"),
    )
    .await;
    b.send(Command::AnswerTransferOffer(true));
    a.expect("transferred", |e| {
        matches!(
            e.call_event(),
            Some(CallEvent::TransferResult { ok: true, .. })
        )
    })
    .await;
    // Recorded as transferred, with the target (not "the other side hung up").
    a.expect("A's call ended", |e| {
        matches!(e.call_event(), Some(CallEvent::Ended(_)))
    })
    .await;
    assert_eq!(
        a.seen.last().and_then(|e| e.call_event()),
        Some(&CallEvent::Ended(EndReason::Transferred {
            target: "1003".into()
        }))
    );
    b.expect("B rings", |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    b.expect("B talks", |e| e.call_event() == Some(&CallEvent::Accepted))
        .await;
    let confirm = log_wait(&sb, "1410121123", |e| sent_frame(e, 1410121123)).await;
    assert_eq!(detail(&confirm, "status"), "OK");

    // To a colleague who refuses, then to one who accepts.
    b.send(Command::Transfer {
        call: None,
        target: TransferTarget::Agent("1102".into()),
    });
    b.expect("refused", |e| {
        matches!(
            e.call_event(),
            Some(CallEvent::TransferResult { ok: false, .. })
        )
    })
    .await;
    b.send(Command::Transfer {
        call: None,
        target: TransferTarget::Agent("1101".into()),
    });
    b.expect("accepted", |e| {
        matches!(
            e.call_event(),
            Some(CallEvent::TransferResult { ok: true, .. })
        )
    })
    .await;
    b.expect("B's call ended", |e| {
        matches!(e.call_event(), Some(CallEvent::Ended(_)))
    })
    .await;
    assert_eq!(
        b.seen.last().and_then(|e| e.call_event()),
        Some(&CallEvent::Ended(EndReason::Transferred {
            target: "1101".into()
        }))
    );

    // To a queue, and to a queue that does not exist.
    sb.ring("1003", "0987654321", "19001234", "Sales");
    b.expect("ringing", |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    sb.control(Control::AnswerOnPhone {
        agent: "1003".into(),
    });
    b.expect("accepted", |e| e.call_event() == Some(&CallEvent::Accepted))
        .await;
    b.send(Command::Transfer {
        call: None,
        target: TransferTarget::Queue("q-nowhere".into()),
    });
    b.expect("queue refused", |e| {
        matches!(
            e.call_event(),
            Some(CallEvent::TransferResult { ok: false, .. })
        )
    })
    .await;
    b.send(Command::Transfer {
        call: None,
        target: TransferTarget::Queue("q-sales".into()),
    });
    b.expect("queued", |e| {
        matches!(
            e.call_event(),
            Some(CallEvent::TransferResult { ok: true, .. })
        )
    })
    .await;
    b.expect("ended", |e| {
        matches!(e.call_event(), Some(CallEvent::Ended(_)))
    })
    .await;
    assert_eq!(
        b.seen.last().and_then(|e| e.call_event()),
        Some(&CallEvent::Ended(EndReason::Transferred {
            target: "q-sales".into()
        }))
    );
    let acd = log_wait(&sb, "2052", |e| {
        sent_frame(e, 2052) && detail(e, "acdId") == "q-sales"
    })
    .await;
    assert!(detail(&acd, "callId").is_string());
}

#[tokio::test]
async fn a_transfer_offer_not_answered_is_refused_in_time() {
    let sb = switchboard().await;
    let mut c = Console::start_cfg(&sb, "1003", OLDER, |c| c.transfer_offer_timeout_s = 1).await;
    c.expect("ready", |e| *e == Event::Ready).await;
    sb.control(Control::TransferFromColleague {
        from: "1101".into(),
        to: "1003".into(),
    });
    c.expect("offered", |e| matches!(e, Event::TransferOffered { .. }))
        .await;
    // An offer is not one of our calls: its result names none.
    c.expect("expired", |e| {
        matches!(e, Event::TransferResult { ok: false, .. })
    })
    .await;
    let f = log_wait(&sb, "NOK", |e| sent_frame(e, 1410121123)).await;
    assert_eq!(detail(&f, "status"), "NOK");
    log_wait(&sb, "transfer NOK", |e| {
        e.is_note("transfer") && detail(e, "status") == "NOK"
    })
    .await;
}

#[tokio::test]
async fn reconnect_after_a_drop_logs_in_again() {
    let sb = switchboard().await;
    let mut c = Console::start_cfg(&sb, "1003", OLDER, |c| c.reconnect_interval_s = 1).await;
    c.expect("ready", |e| *e == Event::Ready).await;
    sb.control(Control::DropConnections {
        agent: "1003".into(),
    });
    c.expect("reconnecting", |e| {
        *e == Event::Reconnecting {
            attempt: 1,
            max: 20,
        }
    })
    .await;
    c.expect("reconnected", |e| *e == Event::Reconnected).await;
    let logins = sb
        .log()
        .entries()
        .iter()
        .filter(|e| sent_frame(e, 1010003))
        .count();
    assert_eq!(logins, 2);
}

#[tokio::test]
async fn newer_generation_reconnects_as_the_older() {
    // The newer web SDK's page reloads on a drop; a terminal console has no
    // page to reload, so it reconnects with the same visible backoff.
    let sb = switchboard().await;
    let mut c = Console::start_cfg(&sb, "1005", NEWER, |c| c.reconnect_interval_s = 1).await;
    c.expect("ready", |e| *e == Event::Ready).await;
    sb.control(Control::DropConnections {
        agent: "1005".into(),
    });
    c.expect("reconnecting", |e| {
        *e == Event::Reconnecting {
            attempt: 1,
            max: 20,
        }
    })
    .await;
    c.expect("reconnected", |e| *e == Event::Reconnected).await;
    c.expect("voice kept", |e| *e == Event::VoiceChannel(true))
        .await;
    let logins: Vec<_> = sb
        .log()
        .entries()
        .into_iter()
        .filter(|e| e.is_note("login") && e.agent.as_deref() == Some("1005"))
        .collect();
    assert_eq!(logins.len(), 2, "{logins:?}");
    assert!(logins.iter().all(|e| detail(e, "newer") == true));
}

/// Drop the push socket of 1003 so that the platform has not noticed yet
/// (the dead socket still holds voice); wait until the console is back.
async fn unnoticed_drop(sb: &tongdai::switchboard::Switchboard, c: &mut Console) {
    sb.control(Control::DropConnectionsUnnoticed {
        agent: "1003".into(),
    });
    c.expect("reconnecting", |e| {
        *e == Event::Reconnecting {
            attempt: 1,
            max: 20,
        }
    })
    .await;
    c.expect("reconnected", |e| *e == Event::Reconnected).await;
}

#[tokio::test]
async fn a_reconnect_takes_back_the_voice_channel_it_held() {
    let sb = switchboard().await;
    let mut c = Console::start_cfg(&sb, "1003", OLDER, |c| c.reconnect_interval_s = 1).await;
    c.expect("ready", |e| *e == Event::Ready).await;
    c.expect("voice here", |e| *e == Event::VoiceChannel(true))
        .await;
    // A call up on the desk phone while the socket drops.
    sb.ring("1003", "0903123456", "19001234", "Q");
    c.expect("ringing", |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    sb.control(Control::AnswerOnPhone {
        agent: "1003".into(),
    });
    c.expect("accepted", |e| e.call_event() == Some(&CallEvent::Accepted))
        .await;
    let seen_before = c.seen.len();
    unnoticed_drop(&sb, &mut c).await;
    // The login said voice is elsewhere (the dead socket); the console
    // takes it back by itself and says so.
    log_wait(&sb, "re-login told no voice", |e| {
        e.is_note("login") && detail(e, "voice") == false
    })
    .await;
    c.expect("said", |e| {
        *e == Event::Notice(Notice::Info(Info::VoiceRetaken))
    })
    .await;
    log_wait(&sb, "1511232003 in", |e| sent_frame(e, 1511232003)).await;
    c.expect("voice confirmed", |e| *e == Event::VoiceChannel(true))
        .await;
    let after = &c.seen[seen_before..];
    assert!(
        !after.iter().any(|e| *e == Event::VoiceChannel(false)
            || matches!(e.call_event(), Some(CallEvent::Ended(_)))
            || *e == Event::Notice(Notice::Info(Info::VoiceInUseElsewhere))),
        "the call and the voice channel are kept: {after:#?}"
    );
    // The call goes on: the customer's hang-up reaches this console.
    sb.control(Control::CustomerHangup {
        agent: "1003".into(),
    });
    c.expect("remote end", |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::RemoteHangup))
    })
    .await;
    // And a call-out is not refused with "voice elsewhere".
    c.send(Command::CallOut("0912345678".into()));
    c.expect("dialing", |e| {
        e.call_event() == Some(&CallEvent::Dialing("0912345678".into()))
    })
    .await;
    c.expect("customer ringing", |e| {
        matches!(e.call_event(), Some(CallEvent::CalloutStarted(_)))
    })
    .await;
}

#[tokio::test]
async fn a_voice_channel_that_moved_is_not_taken_back_by_a_reconnect() {
    let sb = switchboard().await;
    let mut a = Console::start_cfg(&sb, "1003", OLDER, |c| c.reconnect_interval_s = 1).await;
    a.expect("ready", |e| *e == Event::Ready).await;
    a.expect("voice here", |e| *e == Event::VoiceChannel(true))
        .await;
    let mut b = Console::start_cfg(&sb, "1003", OLDER, |c| c.reconnect_interval_s = 1).await;
    b.expect("ready", |e| *e == Event::Ready).await;
    b.send(Command::ClaimVoice);
    b.expect("B has voice", |e| *e == Event::VoiceChannel(true))
        .await;
    a.expect("A told it moved", |e| {
        *e == Event::Notice(Notice::Info(Info::VoiceMovedAway))
    })
    .await;
    // Unnoticed: B's dead socket still holds voice, so neither login is
    // granted it.
    sb.control(Control::DropConnectionsUnnoticed {
        agent: "1003".into(),
    });
    a.expect("A back", |e| *e == Event::Reconnected).await;
    b.expect("B back", |e| *e == Event::Reconnected).await;
    // B held voice at the drop and takes it back; A, told it moved, does not.
    b.expect("B voice", |e| *e == Event::VoiceChannel(true))
        .await;
    a.expect_none(Duration::from_millis(500), "A taking voice", |e| {
        *e == Event::VoiceChannel(true)
    })
    .await;
    let claims = sb
        .log()
        .entries()
        .iter()
        .filter(|e| sent_frame(e, 1511232003))
        .count();
    assert_eq!(claims, 2, "B's claim and B's take-back, none from A");
}

#[tokio::test]
async fn twenty_push_drops_keep_the_call_and_the_voice_channel() {
    // Issue 15's fault: the push socket dropped 20 times with a call up,
    // half of them unnoticed by the platform. Each time the reconnect is
    // visible, state is refreshed, the call and the voice channel kept.
    let sb = switchboard().await;
    let mut c = Console::start_cfg(&sb, "1003", OLDER, |c| c.reconnect_interval_s = 1).await;
    c.expect("ready", |e| *e == Event::Ready).await;
    sb.ring("1003", "0903123456", "19001234", "Q");
    c.expect("ringing", |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    sb.control(Control::AnswerOnPhone {
        agent: "1003".into(),
    });
    c.expect("accepted", |e| e.call_event() == Some(&CallEvent::Accepted))
        .await;
    let start = c.seen.len();
    for i in 0..20 {
        if i % 2 == 0 {
            unnoticed_drop(&sb, &mut c).await;
        } else {
            sb.control(Control::DropConnections {
                agent: "1003".into(),
            });
            c.expect("reconnected", |e| *e == Event::Reconnected).await;
        }
        c.expect("voice", |e| *e == Event::VoiceChannel(true)).await;
        c.expect("device", |e| matches!(e, Event::DeviceType(_)))
            .await;
    }
    c.send(Command::ToggleHold { call: None });
    c.expect("held", |e| e.call_event() == Some(&CallEvent::Held(true)))
        .await;
    sb.control(Control::CustomerHangup {
        agent: "1003".into(),
    });
    c.expect("remote end", |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::RemoteHangup))
    })
    .await;
    let during = &c.seen[start..];
    let reconnects = during.iter().filter(|e| **e == Event::Reconnected).count();
    assert_eq!(reconnects, 20);
    let ended = during
        .iter()
        .filter(|e| matches!(e.call_event(), Some(CallEvent::Ended(_))))
        .count();
    assert_eq!(
        ended, 1,
        "only the customer's hang-up ended it: {during:#?}"
    );
    assert!(!during.contains(&Event::VoiceChannel(false)));
    assert!(!during.contains(&Event::Disconnected));
}

#[tokio::test]
async fn keepalive_older_pings_when_idle_newer_only_answers() {
    let sb = switchboard().await;
    let mut c = Console::start_cfg(&sb, "1003", OLDER, |c| c.keepalive_idle_s = 1).await;
    c.expect("ready", |e| *e == Event::Ready).await;
    log_wait(&sb, "client ping", |e| {
        sent_frame(e, 11111111) && e.agent.as_deref() == Some("1003")
    })
    .await;

    let mut n = Console::start_cfg(&sb, "1005", NEWER, |c| c.keepalive_idle_s = 1).await;
    n.expect("ready", |e| *e == Event::Ready).await;
    n.expect_none(Duration::from_millis(2_200), "nothing", |_| false)
        .await;
    assert!(
        !sb.log()
            .entries()
            .iter()
            .any(|e| sent_frame(e, 11111111) && e.agent.as_deref() == Some("1005")),
        "the newer SDK never pings on its own"
    );
    sb.control(Control::Ping);
    log_wait(&sb, "newer answers a ping", |e| {
        sent_frame(e, 11111111) && e.agent.as_deref() == Some("1005")
    })
    .await;
}

#[tokio::test]
async fn exit_hands_the_device_back_by_role() {
    let sb = switchboard().await;
    // 1001 is role 6 (extension): its default device is 4.
    let mut c = Console::ready(&sb, "1001", OLDER).await;
    c.send(Command::ChangeDevice(Device::IpPhone));
    c.expect("device 2", |e| *e == Event::DeviceType(Device::IpPhone))
        .await;
    assert!(c.shutdown().await);
    log_wait(&sb, "reset to 4", |e| {
        e.is_note("device_change") && detail(e, "to") == 4 && detail(e, "result") == 1
    })
    .await;
    // 1002 is role 7 (mobile): back to 3.
    let mut m = Console::ready(&sb, "1002", OLDER).await;
    m.send(Command::ChangeDevice(Device::IpPhone));
    m.expect("device 2", |e| *e == Event::DeviceType(Device::IpPhone))
        .await;
    assert!(m.shutdown().await);
    log_wait(&sb, "reset to 3", |e| {
        e.is_note("device_change") && e.agent.as_deref() == Some("1002") && detail(e, "to") == 3
    })
    .await;
    // A console without voice leaves the device alone.
    let _holder = Console::ready(&sb, "1004", OLDER).await;
    let mut other = Console::ready(&sb, "1004", OLDER).await;
    other
        .expect("no voice", |e| *e == Event::VoiceChannel(false))
        .await;
    assert!(other.shutdown().await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !sb.log()
            .entries()
            .iter()
            .any(|e| e.is_note("device_change") && e.agent.as_deref() == Some("1004")),
        "{}",
        sb.log().to_jsonl()
    );
}

#[tokio::test]
async fn cors_preflight_and_raw_authorization_header() {
    let sb = switchboard().await;
    tongdai::backends::vcc::install_crypto_provider();
    let client = reqwest::Client::new();
    let url = format!("{}/v1/api/calls/check-partner", sb.api_base());
    let r = client
        .request(reqwest::Method::OPTIONS, &url)
        .header("Origin", "http://crm.example")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let allow = r
        .headers()
        .get("access-control-allow-headers")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(allow.contains("Authorization"), "{allow}");
    assert_eq!(r.headers().get("access-control-allow-origin").unwrap(), "*");
    // No token: refused with a message.
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // A raw JWT in Authorization: the account, with token3C.
    let jwt = tongdai::backends::vcc::jwt::mint(
        &sb.access_key(),
        "1001",
        std::time::SystemTime::now(),
        Some(Duration::from_secs(60)),
        420,
    )
    .unwrap();
    let v: Value = client
        .get(&url)
        .header("Authorization", jwt.expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["code"], 200);
    assert_eq!(v["user"]["agent_id"], "1001");
    assert_eq!(v["user"]["role"], 6);
    assert!(v["token3C"].is_string());
    assert_eq!(v["account"]["agent_server_url"], sb.addr().to_string());
    // The form-field login of the PHP demo works too.
    let v: Value = client
        .post(format!("{}/demo/thirdParty/login", sb.api_base()))
        .form(&[("token", jwt.expose())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["code"], "ok");
}
