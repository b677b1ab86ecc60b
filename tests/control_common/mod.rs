//! Helpers for the control-socket tests: a headless console started
//! in-process on a socket in a temporary directory, driven only through the
//! client functions `tongdai ctl` uses, with its JSON events collected by a
//! subscriber connection.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tongdai::control::client::{self, Connection};
use tongdai::control::headless::{self, Headless, HeadlessOptions};
use tongdai::engine::Backend;

pub const WAIT: Duration = Duration::from_secs(10);

/// A fresh short directory for sockets (`sun_path` is 108 bytes).
pub fn sock_dir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "td-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("sock dir");
    d
}

/// Run blocking client code off the runtime's worker threads.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("client thread")
}

pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A headless console and a subscriber on its socket.
pub struct Ctl {
    pub name: String,
    pub console: Option<Headless>,
    pub path: PathBuf,
    events: mpsc::UnboundedReceiver<Value>,
    pub seen: Vec<Value>,
}

impl Ctl {
    pub async fn start(name: &str, backend: Box<dyn Backend>) -> Ctl {
        init_logs();
        let dir = sock_dir(name);
        let path = dir.join(format!("{name}.sock"));
        let console = headless::start(backend, HeadlessOptions::at(&path))
            .await
            .expect("headless console starts");
        let events = subscribe(&path).await;
        Ctl {
            name: name.to_string(),
            console: Some(console),
            path,
            events,
            seen: Vec::new(),
        }
    }

    /// Started, and `status` says the control plane is ready.
    pub async fn ready(name: &str, backend: Box<dyn Backend>) -> Ctl {
        let c = Ctl::start(name, backend).await;
        c.wait_status("ready", |s| s["connection"] == "ready").await;
        c
    }

    /// One request through `client::send`; the raw answer.
    pub async fn send(&self, req: Value) -> Value {
        let (path, line) = (self.path.clone(), req.to_string());
        blocking(move || client::send(&path, &line))
            .await
            .unwrap_or_else(|e| panic!("[{}] {req}: {e}", self.name))
    }

    /// A request that must be answered `ok`.
    pub async fn ok(&self, req: Value) -> Value {
        let r = self.send(req.clone()).await;
        assert_eq!(r["ok"], true, "[{}] {req} → {r}", self.name);
        r
    }

    /// A request that must be refused with `code`.
    pub async fn refused(&self, req: Value, code: &str) -> Value {
        let r = self.send(req.clone()).await;
        assert_eq!(r["error"]["code"], code, "[{}] {req} → {r}", self.name);
        r
    }

    pub async fn status(&self) -> Value {
        let r = self.ok(json!({"cmd": "status"})).await;
        r["status"].clone()
    }

    /// Poll `status` until `pred` holds.
    pub async fn wait_status(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let s = self.status().await;
            if pred(&s) {
                return s;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("[{}] status never {what}: {s:#}", self.name);
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    /// Wait for the event named `name` for which `pred` holds.
    pub async fn expect(&mut self, name: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(e)) => {
                    self.seen.push(e.clone());
                    if e["event"] == name && pred(&e) {
                        return e;
                    }
                }
                Ok(None) => panic!(
                    "[{}] subscriber closed while waiting for {name}; saw {:#?}",
                    self.name, self.seen
                ),
                Err(_) => panic!(
                    "[{}] no {name} within {WAIT:?}; saw {:#?}",
                    self.name, self.seen
                ),
            }
        }
    }

    pub async fn expect_event(&mut self, name: &str) -> Value {
        self.expect(name, |_| true).await
    }

    /// The orderly exit; the socket file is gone afterwards.
    pub async fn shutdown(&mut self) {
        if let Some(c) = self.console.take() {
            c.shutdown().await.expect("clean exit within the deadline");
        }
        assert!(
            !self.path.exists(),
            "socket {} left behind",
            self.path.display()
        );
    }
}

/// A subscriber connection on its own thread; every line it reads (events,
/// then `None` at close) is forwarded.
pub async fn subscribe(path: &Path) -> mpsc::UnboundedReceiver<Value> {
    let (tx, rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let mut c = Connection::open(&path).expect("subscriber connects");
        let r = c.request(json!({"cmd": "subscribe"})).expect("subscribe");
        assert_eq!(r["ok"], true, "{r}");
        c.set_timeout(None).expect("no timeout");
        let _ = ready_tx.send(());
        while let Ok(Some(m)) = c.next_message() {
            if tx.send(m).is_err() {
                break;
            }
        }
    });
    ready_rx.await.expect("subscribed");
    rx
}
