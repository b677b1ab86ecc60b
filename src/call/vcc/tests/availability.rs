//! On/Off (2013/1027).

use super::*;

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
