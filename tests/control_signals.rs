//! `headless::run` in its own process, stopped by SIGTERM, SIGINT and SIGHUP:
//! each time the VCC exit path runs (the device is handed back on the
//! switchboard), subscribers see `shutdown_complete`, the process exits 0
//! and the socket file is gone.

mod control_common;

use std::process::{Child, Command as Proc, Stdio};
use std::time::{Duration, Instant};

use control_common::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use tongdai::backends::vcc::{Generation, UnavailableVoiceLeg, VccBackend, VccConfig};
use tongdai::control::client;
use tongdai::control::headless::{self, HeadlessOptions};
use tongdai::secret::Secret;
use tongdai::switchboard::{self, DEMO_ACCESS_KEY, SwitchboardOptions};

const ENV_SOCKET: &str = "TONGDAI_TEST_HEADLESS_SOCKET";
const ENV_BASE: &str = "TONGDAI_TEST_HEADLESS_BASE";

/// The child: a headless VCC console for agent 1001 on the parent's
/// switchboard, until a signal. Does nothing in a normal test run.
#[test]
fn headless_child() {
    let (Some(sock), Some(base)) = (std::env::var_os(ENV_SOCKET), std::env::var(ENV_BASE).ok())
    else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let ok = rt.block_on(async move {
        let mut cfg = VccConfig::new(switchboard::DEMO_DOMAIN.to_string(), "1001");
        cfg.generation = Generation::Older;
        cfg.web_base = base;
        cfg.push_scheme = "ws".into();
        let backend = VccBackend::with_parts(
            cfg,
            Some(Secret::new(DEMO_ACCESS_KEY)),
            Box::new(UnavailableVoiceLeg::default()),
        );
        headless::try_run(backend, HeadlessOptions::at(sock)).await
    });
    match ok {
        Ok(()) => println!("HEADLESS clean exit"),
        Err(e) => panic!("headless run failed: {e}"),
    }
}

fn spawn_child(sock: &std::path::Path, base: &str) -> Child {
    Proc::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "headless_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV_SOCKET, sock)
        .env(ENV_BASE, base)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the headless child")
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        if start.elapsed() > within {
            let _ = child.kill();
            panic!("the headless child did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn wait_ready(sock: &std::path::Path) {
    let deadline = Instant::now() + WAIT;
    loop {
        let p = sock.to_path_buf();
        let s = blocking(move || client::command(&p, json!({"cmd": "status"})).ok()).await;
        if s.as_ref()
            .is_some_and(|s| s["status"]["connection"] == "ready")
        {
            return;
        }
        assert!(Instant::now() < deadline, "child never ready: {s:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_sigint_and_sighup_exit_cleanly_with_the_vcc_exit_path() {
    init_logs();
    let sb = switchboard::start(SwitchboardOptions::for_tests())
        .await
        .expect("switchboard");
    for sig in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        let dir = sock_dir("sig");
        let sock = dir.join("h.sock");
        let mut child = spawn_child(&sock, &sb.api_base());
        wait_ready(&sock).await;
        let mut events = subscribe(&sock).await;
        // Move 1001 off its default device, so the exit has to hand it back.
        let p = sock.clone();
        blocking(move || client::command(&p, json!({"cmd": "device", "type": 2})))
            .await
            .expect("device 2");
        let mut seen: Vec<Value> = Vec::new();
        while !seen
            .iter()
            .any(|e| e["event"] == "cs_show_device_type" && e["type"] == 2)
        {
            let e = tokio::time::timeout(WAIT, events.recv())
                .await
                .expect("device event")
                .expect("stream open");
            seen.push(e);
        }
        let before = sb.log().entries().len();

        kill(Pid::from_raw(child.id() as i32), sig).expect("signal");
        let status = blocking(move || {
            let s = wait_exit(&mut child, Duration::from_secs(10));
            let mut out = String::new();
            if let Some(mut o) = child.stdout.take() {
                use std::io::Read;
                let _ = o.read_to_string(&mut out);
            }
            (s, out)
        })
        .await;
        assert!(status.0.success(), "{sig}: {:?}\n{}", status.0, status.1);
        assert!(
            status.1.contains("HEADLESS clean exit"),
            "{sig}: {}",
            status.1
        );
        // The stream ended with shutdown_complete.
        let mut rest = Vec::new();
        while let Ok(Some(e)) = tokio::time::timeout(WAIT, events.recv()).await {
            rest.push(e);
        }
        assert!(
            rest.iter().any(|e| e["event"] == "shutdown_complete"),
            "{sig}: {rest:#?}"
        );
        assert!(!sock.exists(), "{sig}: socket left behind");
        // The device went back to 4 on the platform.
        let handed_back = sb.log().entries().into_iter().skip(before).any(|e| {
            e.is_note("device_change")
                && e.agent.as_deref() == Some("1001")
                && e.detail.get("to") == Some(&json!(4))
        });
        assert!(handed_back, "{sig}: {}", sb.log().to_jsonl());
    }
}
