//! The control socket of a headless VCC console, against the local
//! switchboard over real sockets: every request goes through the client
//! functions `tongdai ctl` uses, every assertion is on the JSON lines.

mod control_common;

use control_common::*;
use serde_json::json;
use tongdai::switchboard::{self, Control, Switchboard, SwitchboardOptions};

async fn switchboard() -> Switchboard {
    // Loopback, a free port, quick simulated people, nothing spontaneous.
    switchboard::start(SwitchboardOptions::for_tests())
        .await
        .expect("switchboard starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_out_by_tel_uri_answered_then_ended() {
    let sb = switchboard().await;
    let mut c = Ctl::ready("c1001", sb.backend_for("1001")).await;
    let s = c.status().await;
    assert_eq!(s["device"]["type"], 4, "{s:#}");
    c.ok(json!({"id": 1, "cmd": "call", "number": "tel:0912-345-678"}))
        .await;
    c.expect("dialing", |e| e["number"] == "0912345678").await;
    c.expect("show_callout_info", |e| e["number"] == "0912345678")
        .await;
    c.expect_event("cs_customer_accept").await;
    let s = c
        .wait_status("connected", |s| s["call"]["phase"] == "connected")
        .await;
    assert_eq!(s["call"]["direction"], "outbound");
    assert_eq!(s["call"]["number"], "0912345678");
    assert!(s["call"]["seconds"].is_u64(), "{s:#}");
    c.ok(json!({"id": "bye", "cmd": "end"})).await;
    c.expect("cs_end_call", |e| e["reason"] == "local_hangup")
        .await;
    let s = c.wait_status("idle", |s| s["call"].is_null()).await;
    assert_eq!(s["last_call"]["reason"], "local_hangup");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_out_busy_486_carries_the_code_and_both_texts() {
    let sb = switchboard().await;
    let mut c = Ctl::ready("c486", sb.backend_for("1001")).await;
    c.ok(json!({"cmd": "call", "number": "sip:0912345486@demo.invalid"}))
        .await;
    let e = c.expect_event("show_callout_error").await;
    assert_eq!(e["error_code"], "IPCC_NOT_CONNECT_CUSTOMER", "{e}");
    assert_eq!(e["sip_code"], 486, "{e}");
    assert_eq!(e["text"]["en"], "The customer is busy", "{e}");
    assert_eq!(e["text"]["vi"], "Khách hàng đang bận", "{e}");
    let end = c.expect_event("cs_end_call").await;
    assert_eq!(end["reason"], "failed", "{end}");
    assert_eq!(end["sip_code"], 486, "{end}");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_call_accepted_held_muted_and_ended_a_bad_line_changes_nothing() {
    let sb = switchboard().await;
    let mut c = Ctl::ready("in1001", sb.backend_for("1001")).await;
    sb.ring("1001", "0987654321", "19001234", "Phím 1: Bán hàng");
    let r = c.expect_event("cs_call_ringing").await;
    assert_eq!(r["phone"], "0987654321");
    assert_eq!(r["line"], "19001234");
    assert_eq!(r["queue"], "Phím 1: Bán hàng");
    assert_eq!(r["direction"], "inbound");
    let s = c.status().await;
    assert_eq!(s["call"]["phase"], "ringing", "{s:#}");
    // Device 4: the desk phone answers; the console says so.
    c.ok(json!({"cmd": "answer"})).await;
    c.expect("notice", |e| e["notice"] == "not_now").await;
    sb.control(Control::AnswerOnPhone {
        agent: "1001".into(),
    });
    c.expect_event("cs_accept_call").await;
    c.ok(json!({"id": 10, "cmd": "mute"})).await;
    c.expect("cs_mute_call", |e| e["muted"] == true).await;
    c.ok(json!({"id": 11, "cmd": "hold", "on": true})).await;
    c.expect("cs_hold_call", |e| e["held"] == true).await;
    let s = c
        .wait_status("held and muted", |s| {
            s["call"]["held"] == true && s["call"]["muted"] == true
        })
        .await;
    assert_eq!(s["call"]["phase"], "connected");
    // Asking again for what already is: nothing is sent.
    let r = c.ok(json!({"id": 12, "cmd": "hold", "on": true})).await;
    assert_eq!(r["unchanged"], true, "{r}");

    // A malformed line on a session mid-call: a JSON error, the session
    // stays open, the call is untouched.
    let path = c.path.clone();
    let (bad, after) = blocking(move || {
        let mut s = tongdai::control::client::Connection::open(&path).expect("connect");
        s.send_line("{\"id\": 13, \"cmd\": \"hold\"").expect("send");
        let bad = s.next_message().expect("read").expect("an answer");
        let after = s
            .request(json!({"id": 14, "cmd": "status"}))
            .expect("same session still answers");
        (bad, after)
    })
    .await;
    assert_eq!(bad["error"]["code"], "bad_json", "{bad}");
    assert_eq!(after["id"], 14);
    assert_eq!(after["status"]["call"]["held"], true, "{after}");
    assert_eq!(after["status"]["call"]["phase"], "connected", "{after}");

    c.ok(json!({"cmd": "hold", "on": false})).await;
    c.expect("cs_un_hold_call", |e| e["held"] == false).await;
    c.ok(json!({"cmd": "end"})).await;
    c.expect("cs_end_call", |e| e["reason"] == "local_hangup")
        .await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_change_refused_for_a_locked_agent_and_accepted_for_another() {
    let sb = switchboard().await;
    // 1005 is kept on its desk phone by the platform.
    let mut d = Ctl::ready("d1005", sb.backend_for("1005")).await;
    d.ok(json!({"cmd": "device", "type": 2})).await;
    d.expect("notice", |e| e["notice"] == "device_change_refused")
        .await;
    let s = d.status().await;
    assert_eq!(s["device"]["type"], 4, "{s:#}");
    d.refused(json!({"id": 3, "cmd": "device", "type": 7}), "bad_argument")
        .await;
    d.shutdown().await;

    let mut c = Ctl::ready("d1003", sb.backend_for("1003")).await;
    c.ok(json!({"cmd": "device", "type": 3, "phone": "tel:0912-000-111"}))
        .await;
    let e = c.expect("cs_show_device_type", |e| e["type"] == 3).await;
    assert_eq!(e["phone"], "0912000111", "{e}");
    assert_eq!(e["name"], "mobile");
    let s = c.status().await;
    assert_eq!(s["device"]["phone"], "0912000111", "{s:#}");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voice_moves_to_a_second_console() {
    let sb = switchboard().await;
    let mut a = Ctl::ready("va", sb.backend_for("1003")).await;
    a.wait_status("voice here", |s| s["voice"] == true).await;
    let b = Ctl::ready("vb", sb.backend_for("1003")).await;
    b.wait_status("voice elsewhere", |s| s["voice"] == false)
        .await;
    b.ok(json!({"cmd": "claim_voice"})).await;
    b.wait_status("voice here", |s| s["voice"] == true).await;
    a.expect("cs_show_enable_voice", |e| e["enabled"] == false)
        .await;
    let mut b = b;
    a.shutdown().await;
    b.shutdown().await;
}
