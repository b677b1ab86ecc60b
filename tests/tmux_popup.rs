//! The real binary (`tongdai demo`) in tmux with a `[crm]` pointing at a
//! local HTTP server: the demo customer rings, the popup shows the contact's
//! company, tags and notes, "first call", then the CRM's tag and notes; the
//! agent answers, hangs up, writes the wrap-up note, finds it in the history
//! view and calls the customer back from there; the call-out's popup shows
//! the past call with its note. This is main's wiring end to end (tee → popup_feed → console →
//! effects → store).
//!
//! Skips (with a message) only when tmux is not installed.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use common::tmux::Tmux;

/// A CRM on a thread: every request gets the same JSON; returns the URL
/// template and the request lines seen.
fn crm_server() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(mut sock) = sock else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let text = String::from_utf8_lossy(&buf);
            log.lock()
                .unwrap()
                .push(text.lines().next().unwrap_or_default().to_string());
            let body = r#"{"name":"Mai N.","tags":["gold"],"notes":"Renewal due in May"}"#;
            let _ = write!(
                sock,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (format!("http://{addr}/customers?phone={{number}}"), seen)
}

#[test]
fn popup_crm_wrap_up_note_and_history_in_the_real_binary() {
    if !Tmux::available() {
        eprintln!("SKIPPED: tmux is not installed (apt-get install tmux)");
        return;
    }
    let dir = Tmux::fresh_dir("popup-flow");
    let (url, seen) = crm_server();
    std::fs::write(
        dir.join("config/tongdai/config.toml"),
        format!("[crm]\nurl = \"{url}\"\ntimeout_ms = 2000\n"),
    )
    .unwrap();
    // The demo's customer is a contact with tags and notes.
    let csv = dir.join("contacts.csv");
    std::fs::write(
        &csv,
        "Name,Company,Phone,Tags,Notes\nNguyễn Thị Mai,ACME,+84 903 123 456,VIP;bảo hành,Prefers afternoons\n",
    )
    .unwrap();
    let import = Command::new(env!("CARGO_BIN_EXE_tongdai"))
        .args(["contacts", "import"])
        .arg(&csv)
        .env("XDG_DATA_HOME", dir.join("data"))
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let t = Tmux::start_in("popup-flow", dir, "demo", (120, 40));
    t.wait_for("connected", Duration::from_secs(20));
    t.send("d");
    t.send("1");
    t.wait_for("Device 1", Duration::from_secs(10));
    t.send("o");
    t.wait_for("Incoming call", Duration::from_secs(40));
    // Local data, then the CRM's tag and notes merged in.
    let ring = t.wait_for("Renewal due in May", Duration::from_secs(10));
    for want in [
        "Nguyễn Thị Mai",
        "ACME",
        "[VIP] [bảo hành] [gold]",
        "Prefers afternoons",
        "first call from this number",
    ] {
        assert!(ring.contains(want), "{want:?} missing:\n{ring}");
    }
    assert!(!ring.contains("looking up in CRM"), "{ring}");
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|l| l.starts_with("GET /customers?phone=0903123456 ")),
        "{:?}",
        seen.lock().unwrap()
    );

    t.send("Enter");
    t.wait_for("In call", Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(1200));
    t.send("e");
    t.wait_for("Wrap-up note", Duration::from_secs(10));
    t.type_text("call back Monday");
    t.send("Enter");
    t.wait_for("Note saved", Duration::from_secs(10));

    // The history view reads it back from the store.
    t.send("h");
    let h = t.wait_for("call back Monday", Duration::from_secs(10));
    assert!(h.contains("Today's calls"), "{h}");
    assert!(h.contains("0903123456"), "{h}");
    assert!(h.contains("answered"), "{h}");
    // Call back from the history view: the dial path, and the popup of
    // the call-out shows the past call with its note.
    t.send("Enter");
    let out = t.wait_for("✎ call back Monday", Duration::from_secs(15));
    assert!(out.contains("outbound"), "{out}");
    assert!(!out.contains("first call from this number"), "{out}");
    t.send("e");
    t.wait_for("No call", Duration::from_secs(10));
    // Skip a wrap-up prompt if the customer had answered, then quit
    // (confirming if the demo's next customer is ringing by then).
    t.send("Escape");
    t.send("q");
    std::thread::sleep(Duration::from_millis(300));
    if t.screen().contains("Hang up and quit") {
        t.send("y");
    }
    let start = Instant::now();
    while !t.dir.join("exit").exists() && start.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let code = std::fs::read_to_string(t.dir.join("exit")).unwrap_or_default();
    assert_eq!(code.trim(), "0", "{}", t.screen());
}
