//! Nothing secret reaches a log, an event or the switchboard's log: a whole
//! session (both SDK generations, a login retry, calls, exit) runs with
//! every log level on, and the captured text is searched for the access
//! key, any JWT and any `token3C`.

mod vcc_support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tongdai::backends::vcc::Generation;
use tongdai::engine::CallEvent;
use tongdai::engine::Command;
use tongdai::secret::Secret;
use tongdai::switchboard::{Control, KeySource};
use vcc_support::*;

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(b);
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Where a secret shows up in `text`, if anywhere.
fn leaks(text: &str, key: &str) -> Vec<String> {
    let mut found = Vec::new();
    if text.contains(key) {
        found.push("the access key".to_string());
    }
    // Every JWT starts with base64('{"') = "eyJ".
    if let Some(i) = text.find("eyJ") {
        found.push(format!(
            "a JWT: …{}…",
            &text[i.saturating_sub(40)..(i + 20).min(text.len())]
        ));
    }
    // token3C as the switchboard issues it: "3c-" + 32 hex digits.
    for (i, _) in text.match_indices("3c-") {
        let tail = &text[i + 3..];
        if tail.len() >= 32 && tail[..32].chars().all(|c| c.is_ascii_hexdigit()) {
            found.push("a token3C".to_string());
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_logs_events_or_the_switchboard_log() {
    let buf = Buf::default();
    let writer = buf.clone();
    // Everything at TRACE, with the directives the binary always adds.
    let filter = std::iter::once("trace")
        .chain(
            tongdai::backends::vcc::SECRET_SAFE_LOG_DIRECTIVES
                .iter()
                .copied(),
        )
        .collect::<Vec<_>>()
        .join(",");
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let key = format!("sk-{:032x}", rand::random::<u128>());
    let dir = std::env::temp_dir().join(format!("tongdai-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let jsonl = dir.join("switchboard.jsonl");
    let sb = switchboard_with(|o| {
        o.access_key = Secret::new(key.clone());
        o.key_source = KeySource::Given;
        o.log_file = Some(jsonl.clone());
    })
    .await;
    sb.refuse_next_logins(1);

    let mut events = Vec::new();
    // Older: JWT in the query string of discovery and in 1010003.
    let mut a = Console::ready(&sb, "1003", Generation::Older).await;
    a.send(Command::CallOut("0912345486".into()));
    a.expect("failed", |e| {
        matches!(e.call_event(), Some(CallEvent::CalloutFailed { .. }))
    })
    .await;
    a.send(Command::CallOut("0912345678".into()));
    a.expect("answered", |e| {
        e.call_event() == Some(&CallEvent::CustomerAnswered)
    })
    .await;
    a.send(Command::End { call: None });
    a.expect("ended", |e| {
        matches!(e.call_event(), Some(CallEvent::Ended(_)))
    })
    .await;
    // Newer: JWT in Authorization, token3C in 1010003, userToken.
    let mut b = Console::ready(&sb, "1005", Generation::Newer).await;
    sb.ring("1005", "0987654321", "19001234", "Q");
    b.expect("ringing", |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    sb.control(Control::CustomerHangup {
        agent: "1005".into(),
    });
    b.expect("ended", |e| {
        matches!(e.call_event(), Some(CallEvent::Ended(_)))
    })
    .await;
    assert!(a.shutdown().await);
    assert!(b.shutdown().await);
    tokio::time::sleep(Duration::from_millis(100)).await;
    for c in [&a, &b] {
        for e in &c.seen {
            events.push(format!("{e:?}"));
            events.push(serde_json::to_string(e).unwrap());
        }
    }

    let logs = String::from_utf8_lossy(&buf.0.lock().unwrap()).to_string();
    assert!(
        logs.contains("vcc"),
        "the capture works: {} bytes",
        logs.len()
    );
    let file = std::fs::read_to_string(&jsonl).unwrap();
    assert!(file.contains("1010003"), "the JSONL log was written");
    assert!(
        file.contains("<redacted>"),
        "tokens were there, and redacted"
    );
    let banner = sb.banner();
    assert!(banner.contains("not shown"));

    for (what, text) in [
        ("tracing logs", logs.as_str()),
        ("console events", &events.join("\n")),
        ("switchboard JSONL", file.as_str()),
        ("switchboard memory log", &sb.log().to_jsonl()),
        ("banner", banner.as_str()),
    ] {
        let found = leaks(text, &key);
        if !found.is_empty() {
            for l in text.lines().filter(|l| !leaks(l, &key).is_empty()).take(5) {
                eprintln!("LEAK in {what}: {}", &l[..l.len().min(300)]);
            }
        }
        assert!(found.is_empty(), "{what} leaks {found:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_leak_detector_finds_what_it_looks_for() {
    let jwt = tongdai::backends::vcc::jwt::mint(
        &Secret::new("k"),
        "1001",
        std::time::SystemTime::now(),
        None,
        420,
    )
    .unwrap();
    assert!(!leaks(&format!("x {} y", jwt.expose()), "zz").is_empty());
    assert!(!leaks("key=zz-top", "zz-top").is_empty());
    assert!(!leaks(&format!("3c-{:032x}", 7u128), "q").is_empty());
    assert!(leaks("1010003 <redacted>", "q").is_empty());
}
