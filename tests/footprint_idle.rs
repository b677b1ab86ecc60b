//! Issue 14: an idle console keeps no thread and no SQLite connection
//! of its own beyond what it uses. The real binary, headless, no sound
//! card (`[audio] device = "null"`, a current-thread runtime): once idle
//! it runs on one thread (the call history's writes borrow tokio's
//! blocking pool and give its thread back), and the history file is
//! open once (the contacts lookup for rings opens its connection at the
//! first ring, not at start). And once logged in it gives back the pages
//! of the code start-up ran (`tongdai::resident`): the binary's code is no
//! longer mostly resident, and the console still answers a ring.

mod common;

use std::time::{Duration, Instant};

use common::bin::BinConsole;

/// A headless plain-SIP console with no sound card and nothing to
/// register with, once it is ready; and its SIP port.
fn idle_console(name: &str) -> (BinConsole, u16) {
    let sip_port = common::free_port();
    let c = BinConsole::start(
        name,
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
    (c, sip_port)
}

/// A raw-UDP INVITE from 0912345678 to the console; its status once ringing.
fn ring(c: &BinConsole, sip_port: u16, call_id: &str) -> serde_json::Value {
    let caller = common::raw_sip::RawUdp::new();
    let to: std::net::SocketAddr = format!("127.0.0.1:{sip_port}").parse().unwrap();
    caller.send(
        to,
        &common::raw_sip::invite(to, caller.port(), call_id, "0912345678", "UDP"),
    );
    c.wait_status("ringing", Duration::from_secs(10), |v| {
        v["call"]["phase"] == "ringing"
    })
}

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

/// (RSS, size) in kB of the binary's code mapping (`r-xp`).
fn code_rss_and_size(pid: u32) -> (u64, u64) {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let (mut rss, mut size, mut inside) = (0, 0, false);
    for line in smaps.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if !f[0].ends_with(':') {
            inside = f.len() > 5 && f[1] == "r-xp" && std::path::Path::new(f[5]) == exe;
        } else if inside && f[0] == "Rss:" {
            rss += f[1].parse::<u64>().unwrap();
        } else if inside && f[0] == "Size:" {
            size += f[1].parse::<u64>().unwrap();
        }
    }
    (rss, size)
}

#[test]
fn a_ready_console_gives_back_its_start_up_code_and_still_rings() {
    let (c, sip_port) = idle_console("idle-code");
    let pid = c.pid();
    // Without the release, start-up leaves about three quarters of the
    // code mapped (fault-around); an idle console after it, a few per cent.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut code = code_rss_and_size(pid);
    while code.0 * 4 > code.1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        code = code_rss_and_size(pid);
    }
    assert!(
        code.1 > 0 && code.0 * 4 <= code.1,
        "code resident: {} of {} kB",
        code.0,
        code.1
    );
    // The code a ring needs maps back in: the console rings.
    let s = ring(&c, sip_port, "idle-code-1");
    assert_eq!(s["call"]["number"], "0912345678", "{s}");
}

#[test]
fn an_idle_headless_console_keeps_one_thread_and_one_history_connection() {
    let (c, sip_port) = idle_console("idle-threads");
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
    let s = ring(&c, sip_port, "idle-ring-1");
    assert_eq!(s["call"]["display_name"], "Nguyễn Văn An · ACME", "{s}");
    assert_eq!(history_files_open(pid), 2, "the lookup's connection, now");
}
