//! Issue 14: an idle console keeps no thread and no SQLite connection
//! of its own beyond what it uses. The real binary, headless, no sound
//! card (`[audio] device = "null"`, a current-thread runtime): once idle
//! it runs on one thread (the call history's writes borrow tokio's
//! blocking pool and give its thread back), and the history file is
//! open once (the contacts lookup for rings opens its connection at the
//! first ring, not at start).

mod common;

use std::time::{Duration, Instant};

use common::bin::BinConsole;

fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn history_files_open(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter(|p| p.to_string_lossy().ends_with("history.sqlite3"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn an_idle_headless_console_keeps_one_thread_and_one_history_connection() {
    let sip_port = common::free_port();
    let c = BinConsole::start(
        "idle-threads",
        &format!(
            "backend = \"sip\"\n[audio]\ndevice = \"null\"\n\
             [sip]\nuser = \"agent\"\nserver = \"127.0.0.1:9\"\nregister = false\n\
             bind = \"127.0.0.1:{sip_port}\"\n"
        ),
        &[],
    );
    c.wait_status("ready", Duration::from_secs(20), |v| {
        v["connection"] == "ready"
    });
    let pid = c.pid();
    // The start-up events went through the history writer; its pool
    // thread lingers a second after the last one.
    let deadline = Instant::now() + Duration::from_secs(5);
    while threads(pid) > 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(threads(pid), 1, "threads of an idle console");
    assert_eq!(history_files_open(pid), 1, "history.sqlite3 connections");
    // The first ring opens the contacts lookup: a number in the contacts
    // (added by another program meanwhile) rings with its name.
    let db = c.dir.join("data/tongdai/history.sqlite3");
    tongdai::store::Store::open(&db)
        .unwrap()
        .import_csv(
            &common::repo().join("tests/contacts_import/good.csv"),
            std::time::SystemTime::now(),
        )
        .unwrap();
    let caller = common::raw_sip::RawUdp::new();
    let to: std::net::SocketAddr = format!("127.0.0.1:{sip_port}").parse().unwrap();
    caller.send(
        to,
        &common::raw_sip::invite(to, caller.port(), "idle-ring-1", "0912345678", "UDP"),
    );
    let s = c.wait_status("ringing", Duration::from_secs(10), |v| {
        v["call"]["phase"] == "ringing"
    });
    assert_eq!(s["call"]["display_name"], "Nguyễn Văn An · ACME", "{s}");
    assert_eq!(history_files_open(pid), 2, "the lookup's connection, now");
}
