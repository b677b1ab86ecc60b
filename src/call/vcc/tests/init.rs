//! Bootstrapping and login, both SDK generations.

use super::*;

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
