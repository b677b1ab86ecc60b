//! Claiming the voice channel, losing it, and taking it back after a
//! reconnect (issue 15).

use super::*;

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
