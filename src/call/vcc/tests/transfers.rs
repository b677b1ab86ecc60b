//! Transfers to an agent or a queue, and the transfer offer.

use super::*;

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
