//! Keepalive and reconnect.

use super::*;

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
