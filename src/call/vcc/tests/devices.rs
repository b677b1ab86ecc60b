//! Devices: mobile numbers, device changes and their refusals.

use super::*;

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
