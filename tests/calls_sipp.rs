//! Issue 16 against SIPp, through the control socket of a headless
//! plain-SIP console with `second_call = "offer"`: call waiting (a second
//! call shows beside the first), a third call turned away with 486 and a
//! notice, swap (hold first, then resume), a far-end BYE on the held call,
//! and consult transfer completed with REFER + Replaces (RFC 5589 §7.1),
//! or refused and cancelled back to the customer.

mod common;
mod control_common;

use std::time::Duration;

use common::{Sipp, free_port, need, sip_account, sipp_scenario};
use control_common::*;
use serde_json::{Value, json};
use tongdai::backends::sip::SipBackend;
use tongdai::sip::{SecondCall, Transport};

const T: Duration = Duration::from_secs(15);

/// An account whose calls out go to `server_port` and which takes calls
/// on `local`, offering a second call.
fn backend(server_port: u16, local: u16) -> Box<SipBackend> {
    let mut cfg = sip_account(
        "alice",
        format!("127.0.0.1:{server_port}"),
        Transport::Udp,
        "secret",
        false,
    );
    cfg.bind = format!("127.0.0.1:{local}");
    cfg.second_call = SecondCall::Offer;
    Box::new(SipBackend::new(cfg))
}

fn caller(scenario: &str, local: u16) -> Sipp {
    Sipp::start(
        &[
            "-sf",
            &sipp_scenario(scenario),
            &format!("127.0.0.1:{local}"),
        ],
        &["-s", "alice"],
    )
}

fn call<'a>(s: &'a Value, id: &str) -> &'a Value {
    s["calls"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["call"] == id))
        .unwrap_or(&Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_waiting_third_call_486_swap_and_bye_on_the_held_call() {
    if !need("sipp") {
        return;
    }
    let local = free_port();
    let mut c = Ctl::ready("waiting", backend(free_port(), local)).await;

    // Customer 1 calls and is answered.
    let mut one = caller("uac_call_swapped.xml", local);
    c.expect("cs_call_ringing", |e| e["call"] == "c1").await;
    c.ok(json!({"cmd": "answer", "call": "c1"})).await;
    c.expect("cs_accept_call", |e| e["call"] == "c1").await;

    // Customer 2 calls: it waits beside the first, which stays live.
    let mut two = caller("uac_call_held_then_bye.xml", local);
    let r = c.expect("cs_call_ringing", |e| e["call"] == "c2").await;
    assert_eq!(r["phone"], "0922222222", "{r}");
    let s = c.status().await;
    assert_eq!(s["calls"].as_array().map(Vec::len), Some(2), "{s:#}");
    assert_eq!(call(&s, "c1")["phase"], "connected", "{s:#}");
    assert_eq!(call(&s, "c1")["held"], false, "{s:#}");
    assert_eq!(call(&s, "c2")["phase"], "ringing", "{s:#}");
    assert_eq!(s["selected"], "c2", "{s:#}");

    // Answering it holds the first (customer 1 checks the sendonly offer).
    c.ok(json!({"cmd": "answer"})).await;
    let s = c
        .wait_status("c1 held, c2 answered", |s| {
            call(s, "c1")["held"] == true && call(s, "c2")["phase"] == "connected"
        })
        .await;
    assert_eq!(s["selected"], "c2", "{s:#}");

    // A third call while two are up: 486, and the agent is told who.
    let mut three = Sipp::start(
        &[
            "-sf",
            &sipp_scenario("uac_call_rejected.xml"),
            &format!("127.0.0.1:{local}"),
        ],
        &["-s", "alice"],
    );
    let n = c.expect("notice", |e| e["info"] == "busy_third_call").await;
    assert_eq!(n["number"], "0912345678", "{n}");
    assert!(three.wait(T), "the third caller must get 486");
    assert_eq!(c.status().await["calls"].as_array().map(Vec::len), Some(2));

    // Swap to call 1: call 2 is held first, then call 1 resumed.
    c.refused(json!({"cmd": "swap", "call": "c7"}), "unknown_call")
        .await;
    c.ok(json!({"cmd": "swap", "call": "c1"})).await;
    c.expect("cs_hold_call", |e| e["call"] == "c2").await;
    c.expect("cs_un_hold_call", |e| e["call"] == "c1").await;
    let s = c.status().await;
    assert_eq!(s["selected"], "c1", "{s:#}");
    assert_eq!(call(&s, "c2")["held"], true, "{s:#}");

    // Customer 2 hangs up while held: call 1 goes on.
    let e = c.expect("cs_end_call", |e| e["call"] == "c2").await;
    assert_eq!(e["reason"], "remote_hangup", "{e}");
    assert!(two.wait(T), "customer 2's scenario");
    let s = c.status().await;
    assert_eq!(call(&s, "c1")["held"], false, "{s:#}");

    c.ok(json!({"cmd": "end", "call": "c1"})).await;
    c.expect("cs_end_call", |e| e["call"] == "c1").await;
    assert!(one.wait(T), "customer 1's scenario (hold, resume, BYE)");
    c.shutdown().await;
}

/// `Call-ID`, From tag and To tag of the first INVITE dialog in a SIPp
/// message log (the colleague's side of the consult call).
fn dialog_of(log: &str) -> (String, String, String) {
    let header = |msg: &str, name: &str| -> String {
        msg.lines()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    let tag = |v: &str| {
        v.split(";tag=")
            .nth(1)
            .map(|t| t.split([';', '>']).next().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    let ok = log
        .split("-----")
        .find(|m| m.contains("SIP/2.0 200 OK") && m.contains("INVITE"))
        .unwrap_or_else(|| panic!("no 200 to the INVITE in:\n{log}"));
    (
        header(ok, "Call-ID:"),
        tag(&header(ok, "From:")),
        tag(&header(ok, "To:")),
    )
}

fn unescape(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len() + 1
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consult_then_complete_refers_the_customer_with_replaces_of_the_consult_dialog() {
    if !need("sipp") {
        return;
    }
    let local = free_port();
    // The colleague: SIPp's built-in answering phone, which then waits for BYE.
    let mut colleague = Sipp::start(&["-sn", "uas"], &[]);
    let mut c = Ctl::ready("consult", backend(colleague.port, local)).await;
    let mut customer = caller("uac_customer_refer_replaces.xml", local);
    c.expect("cs_call_ringing", |e| e["call"] == "c1").await;
    c.ok(json!({"cmd": "answer"})).await;
    c.expect("cs_accept_call", |e| e["call"] == "c1").await;

    // Nothing to complete yet.
    c.ok(json!({"cmd": "complete_transfer"})).await;
    c.expect("notice", |e| e["why"] == "no_consult").await;

    c.ok(json!({"cmd": "consult", "number": "1003"})).await;
    let l = c.expect("consult", |e| e["call"] == "c2").await;
    assert_eq!(l["for_call"], "c1", "{l}");
    c.wait_status("customer held, colleague answered", |s| {
        call(s, "c1")["held"] == true && call(s, "c2")["phase"] == "connected"
    })
    .await;
    let s = c.status().await;
    assert_eq!(call(&s, "c2")["consult_for"], "c1", "{s:#}");

    c.ok(json!({"cmd": "complete_transfer"})).await;
    let r = c.expect("transfer_result", |e| e["call"] == "c1").await;
    assert_eq!(r["ok"], true, "{r}");
    // The console leaves both calls (RFC 5589 §7.1).
    let e = c.expect("cs_end_call", |e| e["call"] == "c1").await;
    assert_eq!(
        (&e["reason"], &e["target"]),
        (&json!("transferred"), &json!("1003")),
        "{e}"
    );
    c.expect("cs_end_call", |e| e["call"] == "c2").await;
    c.wait_status("idle", |s| s["calls"] == json!([])).await;
    assert!(
        customer.wait(T),
        "the customer's scenario (hold, REFER with Replaces, NOTIFY, BYE)"
    );
    assert!(colleague.wait(T), "the colleague gets our BYE");

    // The Replaces names the consult dialog as the colleague sees it:
    // to-tag is the colleague's tag, from-tag ours (RFC 3891 §3).
    let (call_id, from_tag, to_tag) = dialog_of(&colleague.messages());
    let msgs = customer.messages();
    let refer_to = msgs
        .lines()
        .find_map(|l| l.trim().strip_prefix("Refer-To:"))
        .unwrap_or_else(|| panic!("no Refer-To in:\n{msgs}"));
    let replaces = refer_to
        .split("?Replaces=")
        .nth(1)
        .and_then(|r| r.split('>').next())
        .map(unescape)
        .unwrap_or_else(|| panic!("no Replaces in {refer_to}"));
    assert_eq!(
        replaces,
        format!("{call_id};to-tag={to_tag};from-tag={from_tag}"),
        "Refer-To: {refer_to}"
    );
    assert!(refer_to.contains("sip:1003@"), "{refer_to}");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_refer_leaves_both_calls_and_cancel_returns_to_the_customer() {
    if !need("sipp") {
        return;
    }
    let local = free_port();
    let mut colleague = Sipp::start(&["-sn", "uas"], &[]);
    let mut c = Ctl::ready("refused", backend(colleague.port, local)).await;
    let mut customer = caller("uac_customer_refuses_refer.xml", local);
    c.expect("cs_call_ringing", |e| e["call"] == "c1").await;
    c.ok(json!({"cmd": "answer"})).await;
    c.expect("cs_accept_call", |e| e["call"] == "c1").await;
    c.ok(json!({"cmd": "consult", "number": "1003"})).await;
    c.expect("cs_customer_accept", |e| e["call"] == "c2").await;
    c.ok(json!({"cmd": "complete_transfer"})).await;
    let n = c
        .expect("notice", |e| e["info"] == "transfer_refused")
        .await;
    assert_eq!(n["code"], 403, "{n}");
    let s = c.status().await;
    assert_eq!(s["calls"].as_array().map(Vec::len), Some(2), "{s:#}");
    assert_eq!(call(&s, "c1")["held"], true, "{s:#}");
    assert_eq!(call(&s, "c2")["phase"], "connected", "{s:#}");
    // Cancel the consult: end it, and the customer is resumed.
    c.ok(json!({"cmd": "end", "call": "c2"})).await;
    c.expect("cs_end_call", |e| e["call"] == "c2").await;
    c.expect("cs_un_hold_call", |e| e["call"] == "c1").await;
    c.ok(json!({"cmd": "end"})).await;
    c.expect("cs_end_call", |e| e["call"] == "c1").await;
    assert!(
        customer.wait(T),
        "the customer's scenario (hold, REFER 403, resume, BYE)"
    );
    assert!(colleague.wait(T), "the colleague gets our BYE");
    c.shutdown().await;
}
