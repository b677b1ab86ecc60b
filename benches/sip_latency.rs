//! SIP latency figures on loopback, each the median of repeated runs:
//!
//! - start → registered: engine start to the REGISTER 200 (with the 401
//!   digest round trip) against Kamailio; baresip registering to the same
//!   Kamailio in the same run, process start to its "200 OK" line;
//! - key → INVITE: `Command::CallOut` to the INVITE arriving at a UDP socket;
//! - INVITE → ringing: an INVITE sent to the console to its `Ringing` event.
//!
//! Run: `cargo bench --bench sip_latency` (needs kamailio and baresip:
//! `tests/peers/install.sh`).

#[path = "../tests/common/mod.rs"]
mod common;

use std::net::UdpSocket;
use std::process::{Command as Proc, Stdio};
use std::time::{Duration, Instant};

use common::*;
use tongdai::backends::sip::SipBackend;
use tongdai::engine::CallEvent;
use tongdai::engine::{Command, Event, RegState};
use tongdai::sip::{SipConfig, Transport};

const RUNS: usize = 20;

fn account(server: String, register: bool, bind: String) -> SipConfig {
    let dir = tempdir("bench");
    SipConfig {
        user: "alice".into(),
        server,
        transport: Transport::Udp,
        ws_url: None,
        domain: Some("127.0.0.1".into()),
        auth_user: None,
        password_file: Some(write_secret(&dir, "secret")),
        display_name: None,
        expires: 300,
        register,
        bind,
        insecure_tls: false,
        second_call: Default::default(),
        ring_timeout_s: 30,
        inbound_ring_timeout_s: 60,
        keepalive_s: 0,
        ca_file: None,
        tls_cert_file: None,
        tls_key_file: None,
        stun_servers: Vec::new(),
        turn_servers: Vec::new(),
        turn_user: None,
        turn_password_file: None,
        ice_policy: Default::default(),
        media: Default::default(),
        codecs: Default::default(),
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn tongdai_register(k: &Kamailio) -> Duration {
    let t0 = Instant::now();
    let cfg = account(format!("127.0.0.1:{}", k.udp), true, "127.0.0.1".into());
    let mut c = Headless::start(Box::new(SipBackend::new(cfg)));
    c.expect("registered", Duration::from_secs(10), |e| {
        matches!(e, Event::Registration(RegState::Registered { .. }))
    })
    .await;
    let d = t0.elapsed();
    c.shutdown().await;
    d
}

/// baresip from process start to its first successful REGISTER.
fn baresip_register(k: &Kamailio) -> Option<Duration> {
    let dir = tempdir("baresip");
    let port = free_port();
    std::fs::write(
        dir.join("config"),
        format!(
            "poll_method epoll\nsip_listen 127.0.0.1:{port}\nmodule_path /usr/lib/baresip/modules\nmodule g711.so\nmodule_app account.so\n"
        ),
    )
    .ok()?;
    std::fs::write(
        dir.join("accounts"),
        format!(
            "<sip:bob@127.0.0.1:{};transport=udp>;auth_pass=secret;regint=300\n",
            k.udp
        ),
    )
    .ok()?;
    let t0 = Instant::now();
    let mut child = Proc::new("baresip")
        .args(["-f", &dir.to_string_lossy()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let out = child.stdout.take()?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if line.contains("200 OK") {
                let _ = tx.send(Instant::now());
                return;
            }
        }
    });
    let got = rx.recv_timeout(Duration::from_secs(10)).ok();
    let _ = child.kill();
    let _ = child.wait();
    got.map(|t| t - t0)
}

async fn key_to_invite() -> Duration {
    let server = UdpSocket::bind("127.0.0.1:0").expect("bind");
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let addr = server.local_addr().expect("addr");
    let cfg = account(addr.to_string(), false, "127.0.0.1".into());
    let mut c = Headless::start(Box::new(SipBackend::new(cfg)));
    c.expect("ready", Duration::from_secs(5), |e| *e == Event::Ready)
        .await;
    let t0 = Instant::now();
    c.send(Command::CallOut("0912345678".into()));
    let d = tokio::task::spawn_blocking(move || {
        let mut buf = [0u8; 4096];
        loop {
            let (n, _) = server.recv_from(&mut buf).expect("INVITE arrives");
            if buf[..n].starts_with(b"INVITE ") {
                return t0.elapsed();
            }
        }
    })
    .await
    .expect("join");
    c.shutdown().await;
    d
}

async fn invite_to_ringing() -> Duration {
    let local = free_port();
    let cfg = account("127.0.0.1:9".into(), false, format!("127.0.0.1:{local}"));
    let mut c = Headless::start(Box::new(SipBackend::new(cfg)));
    c.expect("ready", Duration::from_secs(5), |e| *e == Event::Ready)
        .await;
    let peer = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let me = peer.local_addr().expect("addr");
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    let invite = format!(
        "INVITE sip:alice@127.0.0.1:{local} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK{n}\r\nFrom: <sip:0912345678@{me}>;tag={n}\r\nTo: <sip:alice@127.0.0.1:{local}>\r\nCall-ID: bench{n}@{me}\r\nCSeq: 1 INVITE\r\nContact: <sip:0912345678@{me}>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len(),
        n = local,
    );
    let t0 = Instant::now();
    peer.send_to(invite.as_bytes(), ("127.0.0.1", local))
        .expect("send");
    c.expect("ringing", Duration::from_secs(5), |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    let d = t0.elapsed();
    c.send(Command::Reject {
        call: None,
        decline: false,
    });
    c.shutdown().await;
    d
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut keys = Vec::new();
        let mut rings = Vec::new();
        for _ in 0..RUNS {
            keys.push(key_to_invite().await);
            rings.push(invite_to_ringing().await);
        }
        println!("key → INVITE on the wire      median {} (n={RUNS})", ms(median(keys)));
        println!("INVITE → Ringing event        median {} (n={RUNS})", ms(median(rings)));

        if !need("kamailio") {
            return;
        }
        let k = Kamailio::start();
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for _ in 0..RUNS {
            ours.push(tongdai_register(&k).await);
            if let Some(d) = baresip_register(&k) {
                theirs.push(d);
            }
        }
        let ours = median(ours);
        println!("start → registered (tongdai engine)  median {} (n={RUNS})", ms(ours));
        if !theirs.is_empty() {
            let n = theirs.len();
            let theirs = median(theirs);
            println!(
                "start → registered (baresip process) median {} (n={n}); ratio tongdai/baresip {:.2}",
                ms(theirs),
                ours.as_secs_f64() / theirs.as_secs_f64()
            );
        } else {
            println!("baresip did not register (is baresip-core installed?)");
        }
    });
}
