//! The control socket of a headless plain-SIP console against SIPp: calls
//! out (answered, and refused with 486) and a call in, all through the
//! client functions, all asserted on the JSON events.

mod common;
mod control_common;

use std::time::Duration;

use common::{Sipp, free_port, need, sip_account, sipp_scenario};
use control_common::*;
use serde_json::json;
use tongdai::backends::sip::SipBackend;
use tongdai::sip::Transport;

const T: Duration = Duration::from_secs(10);

fn backend(server_port: u16, bind: Option<u16>) -> Box<SipBackend> {
    let mut cfg = sip_account(
        "alice",
        format!("127.0.0.1:{server_port}"),
        Transport::Udp,
        "secret",
        false,
    );
    if let Some(p) = bind {
        cfg.bind = format!("127.0.0.1:{p}");
    }
    Box::new(SipBackend::new(cfg))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_out_to_sipp_answered_then_ended_from_ctl() {
    if !need("sipp") {
        return;
    }
    let mut sipp = Sipp::start(&["-sn", "uas"], &[]);
    let mut c = Ctl::ready("sip-out", backend(sipp.port, None)).await;
    c.ok(json!({"id": 1, "cmd": "call", "number": "tel:+84-912-345-678"}))
        .await;
    c.expect("dialing", |e| e["number"] == "+84912345678").await;
    c.expect_event("cs_customer_accept").await;
    let s = c
        .wait_status("connected", |s| s["call"]["phase"] == "connected")
        .await;
    assert_eq!(s["call"]["number"], "+84912345678", "{s:#}");
    c.ok(json!({"id": 2, "cmd": "end"})).await;
    c.expect("cs_end_call", |e| e["reason"] == "local_hangup")
        .await;
    assert!(sipp.wait(T), "SIPp's uas must see our BYE");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_out_refused_486_reports_the_row_in_both_languages() {
    if !need("sipp") {
        return;
    }
    let mut sipp = Sipp::start(&["-sf", &sipp_scenario("uas_reject_486.xml")], &[]);
    let mut c = Ctl::ready("sip-486", backend(sipp.port, None)).await;
    c.ok(json!({"cmd": "call", "number": "0912345678"})).await;
    let e = c.expect_event("show_callout_error").await;
    assert_eq!(e["sip_code"], 486, "{e}");
    assert_eq!(e["error_code"], serde_json::Value::Null, "{e}");
    assert_eq!(e["text"]["en"], "The customer is busy", "{e}");
    assert_eq!(e["text"]["vi"], "Khách hàng đang bận", "{e}");
    let end = c.expect_event("cs_end_call").await;
    assert_eq!(end["reason"], "busy", "{end}");
    let s = c.wait_status("idle", |s| s["call"].is_null()).await;
    assert_eq!(s["last_call"]["reason"], "busy", "{s:#}");
    assert!(sipp.wait(T));
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_calls_in_ctl_answers_and_sipp_hangs_up() {
    if !need("sipp") {
        return;
    }
    let local = free_port();
    let mut c = Ctl::ready("sip-in", backend(free_port(), Some(local))).await;
    let mut sipp = Sipp::start(
        &["-sn", "uac", &format!("127.0.0.1:{local}")],
        &["-s", "alice", "-d", "1000"],
    );
    let r = c.expect_event("cs_call_ringing").await;
    assert_eq!(r["phone"], "sipp", "{r}");
    assert_eq!(r["direction"], "inbound", "{r}");
    c.ok(json!({"cmd": "answer"})).await;
    c.expect_event("cs_accept_call").await;
    c.wait_status("connected", |s| s["call"]["phase"] == "connected")
        .await;
    c.expect("cs_end_call", |e| e["reason"] == "remote_hangup")
        .await;
    assert!(sipp.wait(T));
    c.shutdown().await;
}

/// Every call has a name: the ring, the answer, the end and `status` all
/// say `"call": "c1"`; a command may name the call, and a name the
/// console does not have is refused before anything reaches the engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_in_has_a_name_and_commands_take_it() {
    if !need("sipp") {
        return;
    }
    let local = free_port();
    let mut c = Ctl::ready("sip-named", backend(free_port(), Some(local))).await;
    let mut sipp = Sipp::start(
        &["-sn", "uac", &format!("127.0.0.1:{local}")],
        &["-s", "alice", "-d", "2000"],
    );
    let r = c.expect_event("cs_call_ringing").await;
    assert_eq!(r["call"], "c1", "{r}");
    let s = c.status().await;
    assert_eq!(s["calls"][0]["call"], "c1", "{s:#}");
    assert_eq!(s["calls"][0]["phase"], "ringing", "{s:#}");
    assert_eq!(s["selected"], "c1", "{s:#}");
    assert_eq!(s["call"]["call"], "c1", "{s:#}");
    let e = c
        .refused(
            json!({"id": 7, "cmd": "answer", "call": "c9"}),
            "unknown_call",
        )
        .await;
    assert_eq!(e["id"], 7, "{e}");
    c.refused(json!({"cmd": "answer", "call": "9"}), "bad_argument")
        .await;
    c.refused(json!({"cmd": "answer", "call": 1}), "bad_request")
        .await;
    c.ok(json!({"cmd": "answer", "call": "c1"})).await;
    let a = c.expect_event("cs_accept_call").await;
    assert_eq!(a["call"], "c1", "{a}");
    c.refused(
        json!({"cmd": "hold", "on": true, "call": "c2"}),
        "unknown_call",
    )
    .await;
    let end = c
        .expect("cs_end_call", |e| e["reason"] == "remote_hangup")
        .await;
    assert_eq!(end["call"], "c1", "{end}");
    let s = c.wait_status("idle", |s| s["calls"] == json!([])).await;
    assert_eq!(s["last_call"]["call"], "c1", "{s:#}");
    // The call is gone: its name is refused now.
    c.refused(json!({"cmd": "end", "call": "c1"}), "unknown_call")
        .await;
    assert!(sipp.wait(T));
    c.shutdown().await;
}
