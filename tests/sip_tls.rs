//! SIP over TLS against Kamailio's TLS module: the server's certificate is
//! verified. A test CA signs Kamailio's certificate (for 127.0.0.1); with
//! that CA configured the console registers and calls, without it (the
//! system's CAs) registration fails with a certificate error.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use tongdai::backends::sip::SipBackend;
use tongdai::engine::CallEvent;
use tongdai::engine::{Command, EndReason, Event, RegState};
use tongdai::sip::{SipConfig, Transport};

const T: Duration = Duration::from_secs(10);

fn account(tls_port: u16, user: &str, ca: Option<std::path::PathBuf>) -> SipConfig {
    SipConfig {
        domain: Some("127.0.0.1".into()),
        ca_file: ca,
        tls_cert_file: None,
        tls_key_file: None,
        ..sip_account(
            user,
            format!("127.0.0.1:{tls_port}"),
            Transport::Tls,
            "secret",
            true,
        )
    }
}

fn start_kamailio_tls() -> Option<(Kamailio, u16, std::path::PathBuf)> {
    if !need("kamailio") || !need("openssl") {
        return None;
    }
    if !Path::new("/usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so").exists()
        && !Path::new("/usr/lib/kamailio/modules/tls.so").exists()
    {
        if std::env::var("CI").is_ok() {
            panic!("kamailio-tls-modules is not installed (tests/peers/install.sh)");
        }
        eprintln!("SKIP: kamailio-tls-modules is not installed");
        return None;
    }
    let pki = common::pki::make(&tempdir("pki"), "127.0.0.1");
    let tls_port = free_port();
    let k = Kamailio::start_with_env(&[
        ("TLS_PORT", tls_port.to_string()),
        ("TLS_CFG", pki.signed_cfg.display().to_string()),
    ]);
    Some((k, tls_port, pki.ca))
}

#[tokio::test]
async fn tls_with_the_right_ca_registers_and_calls() {
    let Some((k, tls_port, ca)) = start_kamailio_tls() else {
        return;
    };
    let mut alice = Headless::start(Box::new(SipBackend::new(account(
        tls_port,
        "alice",
        Some(ca.clone()),
    ))));
    alice
        .expect("registered over TLS", T, |e| {
            matches!(e, Event::Registration(RegState::Registered { .. }))
        })
        .await;
    // bob over UDP on the same Kamailio, called from TLS.
    let mut bob_cfg = account(k.udp, "bob", None);
    bob_cfg.transport = Transport::Udp;
    let mut bob = Headless::start(Box::new(SipBackend::new(bob_cfg)));
    bob.expect("bob registered", T, |e| {
        matches!(e, Event::Registration(RegState::Registered { .. }))
    })
    .await;
    alice.send(Command::CallOut("sip:bob@127.0.0.1".into()));
    bob.expect("bob rings", T, |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    bob.send(Command::Accept { call: None });
    alice
        .expect("answered", T, |e| {
            e.call_event() == Some(&CallEvent::CustomerAnswered)
        })
        .await;
    alice.send(Command::End { call: None });
    bob.expect("bob sees the BYE", T, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::RemoteHangup))
    })
    .await;
    assert!(alice.shutdown().await);
    assert!(bob.shutdown().await);
}

#[tokio::test]
async fn tls_with_an_unknown_ca_is_refused() {
    let Some((_k, tls_port, _ca)) = start_kamailio_tls() else {
        return;
    };
    // The system CAs do not know our test CA: verification must fail.
    let mut c = Headless::start(Box::new(SipBackend::new(account(tls_port, "alice", None))));
    let e = c
        .expect("registration refused", T, |e| {
            matches!(e, Event::Registration(RegState::Failed { .. }))
        })
        .await;
    let text = format!("{e:?}").to_lowercase();
    assert!(
        text.contains("certificate") || text.contains("unknownissuer") || text.contains("tls"),
        "the failure should name the certificate: {text}"
    );
    assert!(c.shutdown().await);
}

/// Issue 15: a trunk that calls us over TLS, `register = false`. With a
/// server certificate and key (`tls_cert_file`, `tls_key_file`, the key
/// 0600) the console listens for TLS on its bound port: a caller's INVITE
/// reaches Kamailio over UDP and Kamailio relays it to the console over
/// TLS (`;transport=tls`). The console rings; its 486 goes back the same
/// way. Without the listener Kamailio cannot connect and answers 477/408.
#[test]
fn a_trunk_calls_us_over_tls_without_registration() {
    use std::os::unix::fs::PermissionsExt;
    let Some((k, tls_port, ca)) = start_kamailio_tls() else {
        return;
    };
    let pki_dir = ca.parent().unwrap().to_path_buf();
    let key = pki_dir.join("server.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let port = free_port();
    let c = common::bin::BinConsole::start(
        "tls-trunk",
        &format!(
            "backend = \"sip\"\n[audio]\ndevice = \"null\"\n\
             [sip]\nuser = \"alice\"\nserver = \"127.0.0.1:{tls_port}\"\ntransport = \"tls\"\n\
             register = false\nbind = \"127.0.0.1:{port}\"\nca_file = \"{}\"\n\
             tls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n",
            ca.display(),
            pki_dir.join("server.pem").display(),
            key.display()
        ),
        &[],
    );
    c.wait_status("ready", Duration::from_secs(20), |v| {
        v["connection"] == "ready"
    });
    let caller = common::raw_sip::RawUdp::new();
    let kam: std::net::SocketAddr = format!("127.0.0.1:{}", k.udp).parse().unwrap();
    let inv = common::raw_sip::invite(kam, caller.port(), "tls-trunk-1", "0912000222", "UDP")
        .replacen(
            &format!("INVITE sip:alice@{kam} "),
            &format!("INVITE sip:alice@127.0.0.1:{port};transport=tls "),
            1,
        );
    caller.send(kam, &inv);
    let first = caller.expect("180 or a final answer", Duration::from_secs(10), |m| {
        m.code().is_some_and(|c| c >= 180)
    });
    assert_eq!(
        first.code(),
        Some(180),
        "{}\nkamailio:\n{}",
        first.raw,
        k.log()
    );
    let s = c.wait_status("ringing", T, |v| v["call"]["phase"] == "ringing");
    assert_eq!(s["call"]["number"], "0912000222", "{s}");
    let r = c.request(serde_json::json!({"cmd": "reject"}));
    assert_eq!(r["ok"], true, "{r}");
    let busy = caller.expect("the 486", T, |m| m.code() == Some(486));
    caller.send(kam, &common::raw_sip::ack_for(&inv, &busy));
    c.wait_status("idle", T, |v| v["call"].is_null());
}
