//! Issue 15 items 2, 3, 4 and 9 against the real binary: `tongdai
//! --headless` with a plain-SIP config, driven through its control socket,
//! facing a "PBX" and "callers" made of raw sockets that do exactly what a
//! hostile or broken peer does (inject headers, ignore CANCEL, vanish).

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::bin::BinConsole;
use common::free_port;
use common::raw_sip::{RawTcp, RawUdp, ack_for, invite};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(5);

/// A plain-SIP console: no registration, UDP (or `transport`), bound to a
/// known loopback port, its "PBX" at `pbx_port`.
fn console(tag: &str, pbx_port: u16, sip_port: u16, extra: &str) -> BinConsole {
    let config = format!(
        "backend = \"sip\"\n\
         [audio]\ndevice = \"null\"\n\
         [sip]\nuser = \"alice\"\nserver = \"127.0.0.1:{pbx_port}\"\n\
         register = false\nbind = \"127.0.0.1:{sip_port}\"\n{extra}\n"
    );
    let c = BinConsole::start(tag, &config, &[("TONGDAI_SIP_PASSWORD", "secret")]);
    c.wait_status("ready", Duration::from_secs(20), |s| {
        s["connection"] == "ready"
    });
    c
}

fn idle(s: &Value) -> bool {
    s["call"].is_null()
}

/// Item 2: every hostile `call` is refused with a reason, and nothing of it
/// reaches the wire; a good one right after does reach it, clean.
#[test]
fn header_injection_through_the_control_socket_never_reaches_the_wire() {
    let pbx = RawUdp::new();
    let c = console("inject", pbx.port(), free_port(), "");
    for target in [
        "sip:evil@host\r\nX-Injected: yes",
        "sip:evil@127.0.0.1>;tag=1\r\nVia: SIP/2.0/UDP 6.6.6.6;branch=z9hG4bKforged",
        "sip:evil@127.0.0.1\r\n\r\nX-Injected: body",
        "sip:a@b c",
        "sip:evil@127.0.0.1?X-Injected=yes",
        "sip:evil%0D%0AX-Injected:yes@127.0.0.1",
        "tel:0912%0D%0AX-Injected:yes",
        "09123\u{1b}[31m45678",
    ] {
        let r = c.request(json!({"id": 7, "cmd": "call", "number": target}));
        assert_eq!(r["error"]["code"], "bad_number", "{target:?} → {r}");
        assert_eq!(r["id"], 7, "{r}");
        let why = r["error"]["message"].as_str().unwrap_or("");
        assert!(why.contains("cannot be dialled: "), "no reason given: {r}");
        // Same for a blind transfer's target.
        let r = c.request(json!({"cmd": "transfer", "number": target}));
        assert_eq!(r["error"]["code"], "bad_number", "{target:?} → {r}");
    }
    let leaked = pbx.drain(Duration::from_millis(500));
    assert!(
        leaked.is_empty(),
        "refused targets reached the wire: {leaked:#?}"
    );
    assert!(idle(&c.status()), "{:#}", c.status());

    // The same socket still dials a good address, and that INVITE is clean.
    let r = c.request(json!({"cmd": "call", "number": "sip:bob@127.0.0.1"}));
    assert_eq!(r["ok"], true, "{r}");
    let inv = pbx.expect("the INVITE", T, |m| m.method() == Some("INVITE"));
    assert!(
        inv.first_line()
            .starts_with("INVITE sip:bob@127.0.0.1 SIP/2.0"),
        "{}",
        inv.raw
    );
    assert!(!inv.raw.contains("X-Injected"), "{}", inv.raw);
    assert_eq!(inv.headers("Via").len(), 1, "{}", inv.raw);
    pbx.send(inv.from, &inv.response(486, "Busy Here", "pbx1", &[]));
    c.wait_status("idle after 486", T, idle);
}

/// Item 3: a PBX that sends 180 and then ignores CANCEL. `end` frees the
/// agent at once, a new call works at once, the ring timeout frees it too,
/// a 200 that crosses the CANCEL is ACKed and BYEd without the agent, and a
/// call to us is then rung (not 486).
#[test]
fn a_pbx_that_ignores_cancel_never_holds_the_agent() {
    let pbx = RawUdp::new();
    let sip_port = free_port();
    let c = console("nocancel", pbx.port(), sip_port, "ring_timeout_s = 5");
    let console_addr: SocketAddr = format!("127.0.0.1:{sip_port}").parse().expect("addr");

    // A call the agent hangs up while it rings.
    assert_eq!(
        c.request(json!({"cmd": "call", "number": "0912345678"}))["ok"],
        true
    );
    let inv1 = pbx.expect("INVITE 1", T, |m| m.method() == Some("INVITE"));
    pbx.send(inv1.from, &inv1.response(100, "Trying", "", &[]));
    pbx.send(inv1.from, &inv1.response(180, "Ringing", "pbx1", &[]));
    c.wait_status("ringing", T, |s| s["call"]["phase"] == "ringing");
    assert_eq!(c.request(json!({"cmd": "end"}))["ok"], true);
    let t_end = Instant::now();
    c.wait_status("idle within 1 s of end", Duration::from_secs(1), idle);
    assert!(t_end.elapsed() <= Duration::from_secs(1));
    let cancel = pbx.expect("the CANCEL", T, |m| m.method() == Some("CANCEL"));
    assert_eq!(cancel.header("Call-ID"), inv1.header("Call-ID"));
    // Ignored: no 200 for the CANCEL, no 487. The agent is free anyway.
    assert_eq!(
        c.status()["last_call"]["reason"],
        "cancelled",
        "{:#}",
        c.status()
    );
    // Nothing left to end.
    assert_eq!(c.request(json!({"cmd": "end"}))["error"]["code"], "no_call");

    // The 200 crosses the CANCEL (RFC 3261 §9.1): ACKed and BYEd, the
    // agent sees nothing.
    let contact = format!("Contact: <sip:pbx@127.0.0.1:{}>", pbx.port());
    pbx.send(
        inv1.from,
        &inv1.response(200, "OK", "pbx1", std::slice::from_ref(&contact)),
    );
    let ack = pbx.expect("the ACK of the late 200", T, |m| m.method() == Some("ACK"));
    assert_eq!(ack.header("Call-ID"), inv1.header("Call-ID"));
    let bye = pbx.expect("the BYE of the late 200", T, |m| m.method() == Some("BYE"));
    assert_eq!(bye.header("Call-ID"), inv1.header("Call-ID"));
    pbx.send(bye.from, &bye.response(200, "OK", "", &[]));
    assert!(idle(&c.status()), "{:#}", c.status());

    // A new call works at once; nobody acts: the ring timeout (5 s) frees
    // the agent within a second of it, though the PBX ignores that CANCEL too.
    let t_call = Instant::now();
    let r = c.request(json!({"cmd": "call", "number": "1002"}));
    assert_eq!(r["ok"], true, "{r}");
    let inv2 = pbx.expect("INVITE 2", T, |m| {
        m.method() == Some("INVITE") && m.header("Call-ID") != inv1.header("Call-ID")
    });
    pbx.send(inv2.from, &inv2.response(180, "Ringing", "pbx2", &[]));
    c.wait_status("ringing again", T, |s| {
        s["call"]["number"] == "1002" && s["call"]["phase"] == "ringing"
    });
    let s = c.wait_status("idle after the ring timeout", Duration::from_secs(7), idle);
    let took = t_call.elapsed();
    assert!(
        took >= Duration::from_secs(5) && took <= Duration::from_secs(6),
        "ended after {took:?}"
    );
    assert_eq!(s["last_call"]["reason"], "no_answer", "{s:#}");
    pbx.expect("the CANCEL of call 2", T, |m| {
        m.method() == Some("CANCEL") && m.header("Call-ID") == inv2.header("Call-ID")
    });

    // A call to us is rung, not turned away with 486.
    let caller = RawUdp::new();
    let text = invite(
        console_addr,
        caller.port(),
        "in-after-cancel",
        "0987654321",
        "UDP",
    );
    caller.send(console_addr, &text);
    let ringing = caller.expect("180 Ringing", T, |m| m.code().is_some_and(|c| c != 100));
    assert_eq!(ringing.code(), Some(180), "{}", ringing.raw);
    c.wait_status("the inbound call rings", T, |s| {
        s["call"]["direction"] == "inbound" && s["call"]["phase"] == "ringing"
    });
    assert_eq!(c.request(json!({"cmd": "reject"}))["ok"], true);
    let busy = caller.expect("486", T, |m| m.code() == Some(486));
    caller.send(console_addr, &ack_for(&text, &busy));
}

/// Item 4: INVITE, then silence (no CANCEL). After the inbound ring timeout
/// the caller gets 480 and the history has a missed call.
#[test]
fn a_caller_that_vanishes_gets_480_and_a_missed_call() {
    let pbx = RawUdp::new();
    let sip_port = free_port();
    let c = console("vanish", pbx.port(), sip_port, "inbound_ring_timeout_s = 2");
    let console_addr: SocketAddr = format!("127.0.0.1:{sip_port}").parse().expect("addr");
    let caller = RawUdp::new();
    let text = invite(
        console_addr,
        caller.port(),
        "vanishing-caller",
        "0977000111",
        "UDP",
    );
    let t0 = Instant::now();
    caller.send(console_addr, &text);
    caller.expect("180 Ringing", T, |m| m.code() == Some(180));
    c.wait_status("ringing", T, |s| s["call"]["phase"] == "ringing");
    let final_ = caller.expect("a final response", Duration::from_secs(6), |m| {
        m.code().is_some_and(|c| c >= 200)
    });
    let took = t0.elapsed();
    assert_eq!(final_.code(), Some(480), "{}", final_.raw);
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(4),
        "480 after {took:?}"
    );
    caller.send(console_addr, &ack_for(&text, &final_));
    let s = c.wait_status("idle", T, idle);
    assert_eq!(s["last_call"]["reason"], "no_answer", "{s:#}");
    // Answering or ending now: there is nothing to act on.
    assert_eq!(
        c.request(json!({"cmd": "answer"}))["error"]["code"],
        "no_call"
    );

    let rows = c.history();
    let row = rows
        .iter()
        .find(|r| r.to_string().contains("0977000111"))
        .unwrap_or_else(|| panic!("the call is not in the history: {rows:#?}"));
    assert_eq!(row["direction"], "inbound", "{row}");
    assert!(row["answered_at"].is_null(), "{row}");
    assert!(!row["ended_at"].is_null(), "{row}");
    let missed = common::bin::tongdai(&c.dir)
        .args(["history", "--json", "--missed"])
        .output()
        .expect("history --missed");
    assert!(
        String::from_utf8_lossy(&missed.stdout).contains("0977000111"),
        "not listed as missed: {}",
        String::from_utf8_lossy(&missed.stdout)
    );
}

/// Item 9: transport = "tcp" with register = false listens on TCP, so a
/// trunk can call in over TCP.
#[test]
fn a_tcp_account_without_registration_takes_calls_over_tcp() {
    let pbx = RawUdp::new();
    let sip_port = free_port();
    let c = console("tcpin", pbx.port(), sip_port, "transport = \"tcp\"");
    let console_addr: SocketAddr = format!("127.0.0.1:{sip_port}").parse().expect("addr");
    let mut conn = RawTcp::connect(console_addr)
        .unwrap_or_else(|e| panic!("nothing listens on TCP {console_addr}: {e}"));
    let local = conn.stream.local_addr().expect("local").port();
    conn.send(&invite(
        console_addr,
        local,
        "tcp-call-in",
        "0966000222",
        "TCP",
    ));
    let deadline = Instant::now() + T;
    let mut codes = Vec::new();
    while Instant::now() < deadline && !codes.contains(&180) {
        if let Some(m) = conn.recv(Duration::from_millis(500)) {
            codes.extend(m.code());
        }
    }
    assert!(codes.contains(&180), "no 180 over TCP; got {codes:?}");
    c.wait_status("ringing", T, |s| {
        s["call"]["number"] == "0966000222" && s["call"]["phase"] == "ringing"
    });
}

/// RFC 3891 §3: an INVITE with Replaces naming no dialog of ours gets 481
/// and never rings; one whose value is malformed gets 400. (The one that
/// matches is proven with real peers in tests/sip_conference.rs.)
#[test]
fn an_invite_replacing_no_dialog_of_ours_gets_481_and_never_rings() {
    let pbx = RawUdp::new();
    let sip_port = free_port();
    let c = console("replaces-481", pbx.port(), sip_port, "");
    let console_addr: SocketAddr = format!("127.0.0.1:{sip_port}").parse().expect("addr");
    let caller = RawUdp::new();
    for (call_id, replaces, code) in [
        ("replaces-none", "no-such-call@pbx;to-tag=a;from-tag=b", 481),
        ("replaces-bad", "no-such-call@pbx;to-tag=a", 400),
    ] {
        let text = invite(console_addr, caller.port(), call_id, "0977000222", "UDP").replacen(
            "Content-Type:",
            &format!("Replaces: {replaces}\r\nContent-Type:"),
            1,
        );
        caller.send(console_addr, &text);
        let final_ = caller.expect("a final response", T, |m| {
            m.code().is_some_and(|c| c >= 200)
        });
        assert_eq!(final_.code(), Some(code), "{}", final_.raw);
        caller.send(console_addr, &ack_for(&text, &final_));
    }
    let s = c.status();
    assert!(idle(&s), "nothing rang: {s:#}");
}
