//! The control socket itself: permissions, another uid refused, stale and
//! live sockets, finding the console, malformed and oversized lines, the
//! wallboard TCP listener and its token. A scripted backend stands in for
//! the engine's network side; the socket, server and client are real.

mod control_common;

use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::pin::Pin;

use control_common::*;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tongdai::control::client::{self, ClientError, Connection};
use tongdai::control::headless::{self, HeadlessError, HeadlessOptions};
use tongdai::control::{ServerError, TcpOptions};
use tongdai::engine::{Backend, Command, EndReason, Event, EventSink};
use tongdai::secret::Secret;

/// Answers each command with the events a softphone would emit.
struct Scripted;

impl Backend for Scripted {
    fn run(
        self: Box<Self>,
        mut commands: mpsc::Receiver<Command>,
        events: EventSink,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            events.emit(Event::Ready);
            let mut held = false;
            while let Some(c) = commands.recv().await {
                match c {
                    Command::CallOut(n) => {
                        events.emit(Event::Dialing(n.clone()));
                        events.emit(Event::CalloutStarted(n));
                        events.emit(Event::CustomerAnswered);
                    }
                    Command::ToggleHold => {
                        held = !held;
                        events.emit(Event::Held(held));
                    }
                    Command::End => events.emit(Event::Ended(EndReason::LocalHangup)),
                    Command::Shutdown => break,
                    _ => {}
                }
            }
        })
    }
}

async fn scripted(name: &str) -> Ctl {
    Ctl::ready(name, Box::new(Scripted)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_is_private_and_removed_on_exit() {
    let mut c = scripted("perm").await;
    let dir = c.path.parent().expect("dir").to_path_buf();
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&c.path), 0o600);
    let hello = blocking({
        let p = c.path.clone();
        move || Connection::open(&p).expect("open").hello().clone()
    })
    .await;
    assert_eq!(hello, json!({"hello": {"version": 1}}));
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_lines_get_errors_and_the_session_stays() {
    let mut c = scripted("bad").await;
    c.ok(json!({"cmd": "call", "number": "0912345678"})).await;
    c.expect_event("cs_customer_accept").await;
    let path = c.path.clone();
    let answers = blocking(move || {
        let mut s = Connection::open(&path).expect("open");
        let mut out = Vec::new();
        for line in [
            "this is not json",
            "[1,2,3]",
            r#"{"id":"a"}"#,
            r#"{"id":"b","cmd":"fly"}"#,
            r#"{"id":"c","cmd":"call","number":912345678}"#,
            r#"{"id":"d","cmd":"dtmf","digit":"x"}"#,
        ] {
            s.send_line(line).expect("send");
            out.push(s.next_message().expect("read").expect("answer"));
        }
        s.send_line(&"x".repeat(20_000)).expect("send long");
        out.push(s.next_message().expect("read").expect("answer"));
        out.push(s.request(json!({"id": "e", "cmd": "ping"})).expect("ping"));
        out.push(
            s.request(json!({"id": "f", "cmd": "status"}))
                .expect("status"),
        );
        out
    })
    .await;
    let codes: Vec<&Value> = answers.iter().map(|a| &a["error"]["code"]).collect();
    assert_eq!(
        codes[..7],
        [
            "bad_json",
            "bad_request",
            "bad_request",
            "unknown_cmd",
            "bad_request",
            "bad_argument",
            "too_long"
        ],
        "{answers:#?}"
    );
    assert_eq!(answers[2]["id"], "a");
    assert_eq!(answers[3]["id"], "b");
    assert_eq!(answers[7], json!({"id": "e", "ok": true, "pong": true}));
    assert_eq!(answers[8]["status"]["call"]["phase"], "connected");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_socket_is_replaced_and_a_live_one_refused() {
    init_logs();
    let dir = sock_dir("stale");
    let path = dir.join("s.sock");
    // A crash leaves the file behind with nobody listening.
    drop(std::os::unix::net::UnixListener::bind(&path).expect("bind"));
    assert!(path.exists());
    let blocked = blocking({
        let p = path.clone();
        move || Connection::open(&p).err()
    })
    .await;
    assert!(
        matches!(blocked, Some(ClientError::Stale { .. })),
        "{blocked:?}"
    );
    let first = headless::start(Box::new(Scripted), HeadlessOptions::at(&path))
        .await
        .expect("replaces the stale socket");
    let second = headless::start(Box::new(Scripted), HeadlessOptions::at(&path)).await;
    match second {
        Err(HeadlessError::Server(ServerError::InUse { .. })) => {}
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a second console took a live socket"),
    }
    let r = blocking({
        let p = path.clone();
        move || client::command(&p, json!({"cmd": "ping"}))
    })
    .await
    .expect("the first console still answers");
    assert_eq!(r["pong"], true);
    first.shutdown().await.expect("clean");
    assert!(!path.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_socket_none_one_several() {
    init_logs();
    let dir = sock_dir("find");
    let e = client::find_socket_in(&dir).expect_err("none");
    assert!(
        e.to_string().contains("no tongdai console is running"),
        "{e}"
    );
    let a = headless::start(Box::new(Scripted), HeadlessOptions::at(dir.join("a.sock")))
        .await
        .expect("a");
    // A stale file does not count.
    drop(std::os::unix::net::UnixListener::bind(dir.join("old.sock")).expect("bind"));
    assert_eq!(
        client::find_socket_in(&dir).expect("one"),
        dir.join("a.sock")
    );
    let b = headless::start(Box::new(Scripted), HeadlessOptions::at(dir.join("b.sock")))
        .await
        .expect("b");
    let e = client::find_socket_in(&dir).expect_err("several");
    let msg = e.to_string();
    assert!(msg.contains("--socket"), "{msg}");
    assert!(
        msg.contains("a.sock") && msg.contains("b.sock") && !msg.contains("old.sock"),
        "{msg}"
    );
    let explicit = dir.join("b.sock");
    assert_eq!(
        client::find_socket(Some(&explicit)).expect("explicit"),
        explicit
    );
    assert!(matches!(
        client::find_socket(Some(&dir.join("nope.sock"))),
        Err(ClientError::NotFound { .. })
    ));
    a.shutdown().await.expect("a");
    b.shutdown().await.expect("b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_request_stops_the_headless_console() {
    let mut c = scripted("quit").await;
    c.ok(json!({"cmd": "shutdown"})).await;
    c.expect_event("shutdown_complete").await;
    let mut h = c.console.take().expect("running");
    tokio::time::timeout(WAIT, h.stopped())
        .await
        .expect("stopped");
    h.shutdown().await.expect("clean");
    assert!(!c.path.exists());
}

// ---- another user -------------------------------------------------------

const CHILD_ENV: &str = "TONGDAI_TEST_CTL_CHILD_SOCKET";

/// Run in a child process as `nobody` by the test below; does nothing
/// otherwise. Prints what the client got.
#[test]
fn child_probe_as_another_user() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let r = Connection::open(std::path::Path::new(&path));
    match r {
        Ok(c) => println!("PROBE ok {}", c.hello()),
        Err(ClientError::Refused { code, message }) => println!("PROBE refused {code} {message}"),
        Err(ClientError::Connect { source, .. }) => println!("PROBE connect {:?}", source.kind()),
        Err(e) => println!("PROBE other {e}"),
    }
}

fn probe_as_nobody(path: &std::path::Path) -> String {
    use std::os::unix::process::CommandExt;
    let nobody = nix::unistd::User::from_name("nobody")
        .expect("passwd")
        .expect("a nobody user");
    let (uid, gid) = (nobody.uid, nobody.gid);
    let exe = std::env::current_exe().expect("test binary");
    let mut cmd = std::process::Command::new(exe);
    cmd.args([
        "--exact",
        "child_probe_as_another_user",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, path);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setgroups(&[]).map_err(std::io::Error::from)?;
            nix::unistd::setgid(gid).map_err(std::io::Error::from)?;
            nix::unistd::setuid(uid).map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let out = cmd.output().expect("run the probe as nobody");
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.find("PROBE ").map(|i| l[i..].to_string()))
        .unwrap_or_else(|| {
            panic!(
                "no probe output: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_uid_cannot_connect() {
    if !nix::unistd::geteuid().is_root() {
        if std::env::var_os("CI").is_some() {
            panic!("this test needs root (to become nobody) under CI");
        }
        eprintln!("SKIP another_uid_cannot_connect: needs root to run a client as nobody");
        return;
    }
    let mut c = scripted("uid").await;
    let dir = c.path.parent().expect("dir").to_path_buf();
    // The tempdir chain must let nobody reach the socket directory.
    let p = c.path.clone();
    // 1. The 0700 directory stops another user before any byte is read.
    let got = blocking(move || probe_as_nobody(&p)).await;
    assert_eq!(got, "PROBE connect PermissionDenied");
    // 2. Even with the file modes opened up, the peer uid check refuses.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    std::fs::set_permissions(&c.path, std::fs::Permissions::from_mode(0o666)).expect("chmod sock");
    let p = c.path.clone();
    let got = blocking(move || probe_as_nobody(&p)).await;
    assert!(got.starts_with("PROBE refused forbidden"), "{got}");
    // The console is undisturbed.
    assert_eq!(c.status().await["connection"], "ready");
    c.shutdown().await;
}

// ---- the wallboard listener --------------------------------------------

const TOKEN: &str = "wallboard-token-0123456789";

fn tcp_lines(addr: std::net::SocketAddr) -> (std::net::TcpStream, BufReader<std::net::TcpStream>) {
    let s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    let r = BufReader::new(s.try_clone().expect("clone"));
    (s, r)
}

fn read(r: &mut BufReader<std::net::TcpStream>) -> Option<Value> {
    let mut l = String::new();
    match r.read_line(&mut l) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(serde_json::from_str(&l).expect("json line")),
    }
}

fn say(w: &mut std::net::TcpStream, v: Value) {
    writeln!(w, "{v}").expect("write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallboard_tcp_needs_the_token_and_is_read_only() {
    init_logs();
    // Refused configurations.
    let dir = sock_dir("tcp");
    let mut o = HeadlessOptions::at(dir.join("x.sock"));
    o.tcp = Some(TcpOptions::new(
        "0.0.0.0:0".parse().expect("addr"),
        Secret::new(TOKEN),
    ));
    assert!(matches!(
        headless::start(Box::new(Scripted), o.clone()).await.err(),
        Some(HeadlessError::Server(ServerError::NotLoopback { .. }))
    ));
    o.tcp = Some(TcpOptions::new(
        "127.0.0.1:0".parse().expect("addr"),
        Secret::new("short"),
    ));
    assert!(matches!(
        headless::start(Box::new(Scripted), o.clone()).await.err(),
        Some(HeadlessError::Server(ServerError::WeakToken))
    ));
    // Off unless configured.
    o.tcp = None;
    let h = headless::start(Box::new(Scripted), o.clone())
        .await
        .expect("unix only");
    assert_eq!(h.tcp_addr(), None);
    h.shutdown().await.expect("clean");

    o.tcp = Some(TcpOptions::new(
        "127.0.0.1:0".parse().expect("addr"),
        Secret::new(TOKEN),
    ));
    let h = headless::start(Box::new(Scripted), o)
        .await
        .expect("with tcp");
    let addr = h.tcp_addr().expect("bound");
    assert!(addr.ip().is_loopback());
    let unix = dir.join("x.sock");
    let checks = blocking(move || {
        // No auth: refused and closed.
        let (mut w, mut r) = tcp_lines(addr);
        let hello = read(&mut r).expect("hello");
        assert_eq!(hello["hello"]["auth"], "token", "{hello}");
        say(&mut w, json!({"id": 1, "cmd": "status"}));
        let a = read(&mut r).expect("answer");
        assert_eq!(a["error"]["code"], "unauthorized", "{a}");
        assert!(read(&mut r).is_none(), "closed after refusing");

        // Wrong token (same length): refused and closed.
        let (mut w, mut r) = tcp_lines(addr);
        read(&mut r);
        let wrong: String = TOKEN.chars().rev().collect();
        say(&mut w, json!({"id": 2, "cmd": "auth", "token": wrong}));
        let a = read(&mut r).expect("answer");
        assert_eq!(a["error"]["code"], "unauthorized", "{a}");
        assert!(read(&mut r).is_none(), "closed after a wrong token");

        // The token: status and events, but no commands.
        let (mut w, mut r) = tcp_lines(addr);
        read(&mut r);
        say(&mut w, json!({"id": 3, "cmd": "auth", "token": TOKEN}));
        assert_eq!(read(&mut r).expect("auth")["ok"], true);
        say(&mut w, json!({"id": 4, "cmd": "status"}));
        let s = read(&mut r).expect("status");
        assert_eq!(s["status"]["connection"], "ready", "{s}");
        say(
            &mut w,
            json!({"id": 5, "cmd": "call", "number": "0912345678"}),
        );
        let a = read(&mut r).expect("answer");
        assert_eq!(a["error"]["code"], "read_only", "{a}");
        say(&mut w, json!({"id": 6, "cmd": "subscribe"}));
        assert_eq!(read(&mut r).expect("subscribed")["ok"], true);
        // A call made on the Unix socket shows on the wallboard.
        client::command(&unix, json!({"cmd": "call", "number": "0912345678"}))
            .expect("call over unix");
        let mut names = Vec::new();
        while let Some(e) = read(&mut r) {
            let n = e["event"].as_str().unwrap_or("").to_string();
            names.push(n.clone());
            if n == "cs_customer_accept" {
                break;
            }
        }
        names
    })
    .await;
    assert_eq!(
        checks,
        ["dialing", "show_callout_info", "cs_customer_accept"]
    );
    h.shutdown().await.expect("clean");
}

/// Issue 15 item 9: `answer`, `end`, `reject` and `decline` with no call
/// are refused with `no_call`, not answered `ok`; with a call they pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_commands_without_a_call_are_refused() {
    let mut c = scripted("nocall").await;
    for (cmd, what) in [
        ("answer", "answer"),
        ("accept", "answer"),
        ("end", "end"),
        ("hangup", "end"),
        ("reject", "reject"),
        ("decline", "decline"),
    ] {
        let r = c.refused(json!({"id": 1, "cmd": cmd}), "no_call").await;
        assert_eq!(r["id"], 1, "{r}");
        assert_eq!(
            r["error"]["message"],
            format!("no call to {what}"),
            "{cmd}: {r}"
        );
    }
    c.ok(json!({"cmd": "call", "number": "0912345678"})).await;
    c.expect_event("cs_customer_accept").await;
    c.ok(json!({"cmd": "end"})).await;
    c.expect_event("cs_end_call").await;
    c.wait_status("idle", |s| s["call"].is_null()).await;
    c.refused(json!({"cmd": "end"}), "no_call").await;
    c.shutdown().await;
}
