//! The exit path: handing the device back by role.

use super::*;

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
