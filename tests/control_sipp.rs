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
