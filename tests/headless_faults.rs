//! Hostile input and faults through the real binary (`tongdai --headless`
//! with a config file, driven by `tongdai ctl`): terminal escapes in a SIP
//! `From`, a damaged or locked history database, file modes, `record_dir`.

mod common;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::bin::{BinConsole, tongdai};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

/// The demo backend (the built-in switchboard), started with `run`.
const DEMO: &str = "backend = \"demo\"\n";

fn history_path(dir: &Path) -> PathBuf {
    dir.join("data/tongdai/history.sqlite3")
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// A control request that must be answered `ok`.
fn ok(c: &BinConsole, req: Value) {
    let r = c.request(req.clone());
    assert_eq!(r["ok"], true, "{req} → {r}");
}

/// Call out through the demo switchboard, talk, hang up.
fn demo_call(c: &BinConsole, number: &str) {
    ok(c, json!({"cmd": "call", "number": number}));
    c.wait_status("talking", WAIT, |v| v["call"]["phase"] == "connected");
    ok(c, json!({"cmd": "end"}));
    c.wait_status("ended", WAIT, |v| v["call"].is_null());
}

/// SIP responses the hostile peer receives, until one starts with `status`.
fn expect_response(sock: &UdpSocket, status: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = vec![0u8; 8192];
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            if msg.starts_with(status) {
                return msg;
            }
            seen.push(msg.lines().next().unwrap_or("").to_string());
        }
    }
    panic!("no {status} within 5 s; saw {seen:?}");
}

/// A plain-SIP console with `register = false` and no password anywhere
/// (the SIP side used to stay down), rung by a raw UDP INVITE whose `From`
/// carries ESC and BEL. Neither the status, nor `tongdai history`, nor
/// `history --json` gives the terminal a raw control.
#[test]
fn an_escape_in_from_never_reaches_the_terminal() {
    let pbx = UdpSocket::bind("127.0.0.1:0").unwrap();
    pbx.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let pbx_addr = pbx.local_addr().unwrap();
    let sip_port = common::free_port();
    let c = BinConsole::start(
        "faults-escape",
        &format!(
            "backend = \"sip\"\n[sip]\nuser = \"agent\"\nserver = \"{pbx_addr}\"\n\
             register = false\nbind = \"127.0.0.1:{sip_port}\"\n"
        ),
        &[],
    );
    c.wait_status("ready", WAIT, |v| v["connection"] == "ready");

    let sdp = "v=0\r\no=evil 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
               m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    let invite = format!(
        "INVITE sip:agent@127.0.0.1:{sip_port} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {pbx_addr};branch=z9hG4bK-esc-1;rport\r\n\
         Max-Forwards: 70\r\n\
         From: \"Evil\x1b]0;owned\x07 Caller\" <sip:0912555002\x1b[31m@{pbx_addr}>;tag=esc1\r\n\
         To: <sip:agent@127.0.0.1:{sip_port}>\r\n\
         Call-ID: esc-1@127.0.0.1\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:0912555002@{pbx_addr}>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    pbx.send_to(invite.as_bytes(), ("127.0.0.1", sip_port))
        .unwrap();
    expect_response(&pbx, "SIP/2.0 180");
    let v = c.wait_status("ringing", WAIT, |v| v["call"]["phase"] == "ringing");
    let call = &v["call"];
    assert_eq!(call["number"], "0912555002\u{fffd}[31m", "{call}");
    assert_eq!(
        call["display_name"], "Evil\u{fffd}]0;owned\u{fffd} Caller",
        "{call}"
    );
    ok(&c, json!({"cmd": "reject"}));
    expect_response(&pbx, "SIP/2.0 486");
    c.wait_status("the call is over", WAIT, |v| v["call"].is_null());

    let out = tongdai(&c.dir).arg("history").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0912555002"), "{text}");
    assert!(
        !out.stdout.iter().any(|b| *b == 0x1b || *b == 0x07),
        "raw control in `tongdai history`: {text:?}"
    );
    let rows = c.history();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["number"], "0912555002\u{fffd}[31m");
    assert_eq!(
        rows[0]["display_name"],
        "Evil\u{fffd}]0;owned\u{fffd} Caller"
    );
}

/// A real history file cut short (a crash on a full disk, a bad copy):
/// the console starts, says where the old file went (status `history`,
/// in English and Vietnamese), and records the next call in a fresh file.
#[test]
fn a_truncated_history_is_moved_aside_and_calls_are_still_recorded() {
    let dir = common::tempdir("faults-corrupt");
    let db = history_path(&dir);
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    {
        let store = tongdai::store::Store::open(&db).unwrap();
        for i in 0..400 {
            store
                .connection()
                .execute(
                    "INSERT INTO calls (direction, number, number_norm, started_at, note)
                     VALUES ('inbound', ?1, ?1, ?2, ?3)",
                    rusqlite::params![format!("09{i:08}"), i, "x".repeat(200)],
                )
                .unwrap();
        }
    }
    let full = std::fs::read(&db).unwrap();
    assert!(full.len() > 40_000, "{}", full.len());
    let cut = &full[..full.len() / 2];
    std::fs::write(&db, cut).unwrap();

    let c = BinConsole::start_in(dir, DEMO, &[]);
    let v = c.wait_status("the repair", WAIT, |v| {
        v["connection"] == "ready" && v["history"]["history"] == "recovered"
    });
    let h = &v["history"];
    let moved = h["moved_to"].as_str().unwrap().to_string();
    let name = Path::new(&moved).file_name().unwrap().to_string_lossy();
    assert!(
        name.starts_with("history.sqlite3.corrupt-") && name.ends_with('Z'),
        "{moved}"
    );
    assert_eq!(
        std::fs::read(&moved).unwrap(),
        cut,
        "the old file, untouched"
    );
    assert_eq!(
        h["text"]["en"].as_str().unwrap(),
        format!(
            "The call history file was damaged: moved to {moved}; a new one was started and calls are recorded"
        )
    );
    assert!(
        h["text"]["vi"]
            .as_str()
            .unwrap()
            .starts_with("Tệp lịch sử cuộc gọi bị hỏng: đã chuyển sang "),
        "{h}"
    );

    demo_call(&c, "0912345678");
    let rows = c.history();
    assert_eq!(
        rows.len(),
        1,
        "only the new call, in a fresh file: {rows:#?}"
    );
    assert_eq!(rows[0]["number"], "0912345678");
    assert!(!rows[0]["ended_at"].is_null(), "{}", rows[0]);
}

/// Another program holds the history's write lock for longer than the
/// busy timeout: the console says so, keeps the call's rows, and writes
/// them (start and end) once the lock is gone.
#[test]
fn a_locked_history_delays_the_rows_and_loses_none() {
    let c = BinConsole::start("faults-locked", DEMO, &[]);
    c.wait_status("ready", WAIT, |v| v["connection"] == "ready");

    let other = rusqlite::Connection::open(history_path(&c.dir)).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    ok(&c, json!({"cmd": "call", "number": "0912345678"}));
    let v = c.wait_status("the lock notice", WAIT, |v| {
        v["history"]["history"] == "locked"
    });
    assert_eq!(
        v["history"]["text"]["en"],
        "The call history is locked by another program; calls are kept and written when it is free"
    );
    c.wait_status("talking", WAIT, |v| v["call"]["phase"] == "connected");
    other.execute_batch("COMMIT").unwrap();
    drop(other);
    // The retry runs on the next events, at most once a second.
    std::thread::sleep(Duration::from_millis(1100));
    ok(&c, json!({"cmd": "end"}));
    c.wait_status("written", WAIT, |v| {
        v["call"].is_null() && v["history"]["history"] == "unlocked"
    });

    let rows = c.history();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let row = &rows[0];
    assert_eq!(row["number"], "0912345678");
    assert!(!row["answered_at"].is_null(), "{row}");
    assert!(!row["ended_at"].is_null(), "{row}");
}

/// Whether this machine lets us make a user and mount namespace (for a
/// file system of our own size without root).
fn unshare_works() -> bool {
    std::process::Command::new("unshare")
        .args(["-Urm", "true"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Write to `path` until the file system says it is full.
fn fill(path: &Path) -> u64 {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 16 * 1024];
    let mut n = 0;
    while let Ok(w) = f.write(&chunk) {
        if w == 0 {
            break;
        }
        n += w as u64;
    }
    let _ = f.sync_all();
    n
}

/// The disk under the history database fills up mid-shift (a 512 KiB
/// tmpfs in a private mount namespace, `unshare -Urm`, under the data
/// directory only): the console goes on taking calls, says so on screen,
/// keeps the rows in memory and writes them when there is room again.
#[test]
fn a_full_disk_delays_the_history_rows_and_loses_none() {
    if !unshare_works() {
        eprintln!("skipped: unshare -Urm (user and mount namespaces) is not available here");
        return;
    }
    let dir = common::tempdir("faults-full");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let script = "mount -t tmpfs -o size=512k,mode=0700 tmpfs \"$0\" && exec \"$@\"";
    let data_arg = data.to_str().unwrap().to_string();
    let c = BinConsole::start_wrapped(
        dir.clone(),
        DEMO,
        &["unshare", "-Urm", "sh", "-c", script, &data_arg],
    );
    c.wait_status("ready", WAIT, |v| v["connection"] == "ready");
    // The console's view of its data directory (its own mount namespace).
    let inside =
        PathBuf::from(format!("/proc/{}/root", c.pid())).join(data.strip_prefix("/").unwrap());
    // `tongdai history` run inside the console's namespaces.
    let pid = c.pid().to_string();
    let history = || -> Vec<Value> {
        let plain = tongdai(&dir);
        let mut cmd = std::process::Command::new("nsenter");
        cmd.args(["-t", &pid, "-U", "-m", "--preserve-credentials"])
            .arg(common::bin::BIN)
            .args(["history", "--json"]);
        for (k, v) in plain.get_envs() {
            if let Some(v) = v {
                cmd.env(k, v);
            }
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    demo_call(&c, "0912345670");
    assert_eq!(history().len(), 1);

    let filler = inside.join("filler");
    let filled = fill(&filler);
    eprintln!("filled the 512 KiB file system with {filled} bytes");
    ok(&c, json!({"cmd": "call", "number": "0912345678"}));
    let v = c.wait_status("the full-disk notice", WAIT, |v| {
        v["history"]["history"] == "full"
    });
    assert_eq!(
        v["history"]["text"]["en"],
        "The disk is full and the call history cannot grow; calls are kept and written when there is room"
    );
    c.wait_status("talking", WAIT, |v| v["call"]["phase"] == "connected");
    std::fs::remove_file(&filler).unwrap();
    // The retry runs on the next events, at most once a second.
    std::thread::sleep(Duration::from_millis(1100));
    ok(&c, json!({"cmd": "end"}));
    c.wait_status("written", WAIT, |v| {
        v["call"].is_null() && v["history"]["history"] == "unlocked"
    });
    let rows = history();
    assert_eq!(rows.len(), 2, "{rows:#?}");
    let row = &rows[0];
    assert_eq!(row["number"], "0912345678");
    assert!(!row["answered_at"].is_null(), "{row}");
    assert!(!row["ended_at"].is_null(), "{row}");
}

/// The log and the history hold customer numbers and notes: 0600 files in
/// 0700 folders, also when an older version left them 0644 / 0755.
#[test]
fn the_log_and_the_history_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = common::tempdir("faults-modes");
    let state = dir.join("state/tongdai");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(state.join("tongdai.log"), "old line\n").unwrap();
    std::fs::set_permissions(
        state.join("tongdai.log"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();

    let c = BinConsole::start_in(dir, DEMO, &[]);
    c.wait_status("ready", WAIT, |v| v["connection"] == "ready");
    ok(&c, json!({"cmd": "call", "number": "0912345678"}));
    c.wait_status("talking", WAIT, |v| v["call"]["phase"] == "connected");
    let db = history_path(&c.dir);
    let data = db.parent().unwrap().to_path_buf();
    let mut files = vec![
        (state.clone(), 0o700),
        (state.join("tongdai.log"), 0o600),
        (data.clone(), 0o700),
        (db.clone(), 0o600),
    ];
    for suffix in ["-wal", "-shm", ".lock"] {
        let p = data.join(format!("history.sqlite3{suffix}"));
        assert!(p.exists(), "{} while the console runs", p.display());
        files.push((p, 0o600));
    }
    for (p, want) in &files {
        assert_eq!(mode(p), *want, "{}: {:o}", p.display(), mode(p));
    }
    ok(&c, json!({"cmd": "end"}));
}

/// `[audio] record_dir` that does not exist is created (0700) at start;
/// one that cannot be created stops the start with a clear message.
#[test]
fn a_missing_record_dir_is_created_or_refused() {
    let dir = common::tempdir("faults-recdir");
    let rec = dir.join("recordings/today");
    let config = |rec: &Path| {
        format!(
            "{DEMO}[audio]\ndevice = \"file\"\nrecord_dir = \"{}\"\n",
            rec.display()
        )
    };
    let c = BinConsole::start_in(dir.clone(), &config(&rec), &[]);
    c.wait_status("ready", WAIT, |v| v["connection"] == "ready");
    assert_eq!(mode(&rec), 0o700);
    drop(c);

    let blocker = dir.join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let bad = blocker.join("rec");
    let cfg = dir.join("bad.toml");
    std::fs::write(&cfg, config(&bad)).unwrap();
    let out = tongdai(&dir)
        .arg("--config")
        .arg(&cfg)
        .args(["--headless", "--socket-name", "recdir", "run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "tongdai: {}: audio.record_dir = {:?}: cannot create the folder (",
            cfg.display(),
            bad.display().to_string()
        )) && err.contains("point record_dir at a folder you can write"),
        "{err}"
    );
}

/// Notices streamed by the console's control socket (`subscribe`), as
/// their English texts, read on a thread.
fn notices(c: &BinConsole) -> std::sync::mpsc::Receiver<Value> {
    use std::io::{BufRead, BufReader, Write};
    let mut s = std::os::unix::net::UnixStream::connect(&c.socket).unwrap();
    s.write_all(b"{\"id\":1,\"cmd\":\"subscribe\",\"events\":[\"notice\"]}\n")
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(s).lines() {
            let Ok(line) = line else { break };
            if let Ok(v) = serde_json::from_str::<Value>(&line)
                && v["event"] == "notice"
                && tx.send(v).is_err()
            {
                break;
            }
        }
    });
    rx
}

/// The disk under `record_dir` is full (a 64 KiB tmpfs in a private mount
/// namespace, filled before the call): the call connects and goes on, the
/// agent is told in both languages that the recording stopped and why, the
/// console does not fall over, and the call's history row is written.
#[test]
fn a_full_disk_for_recordings_stops_the_recording_not_the_call() {
    if !unshare_works() {
        eprintln!("skipped: unshare -Urm (user and mount namespaces) is not available here");
        return;
    }
    let dir = common::tempdir("faults-rec-full");
    let rec = dir.join("rec");
    std::fs::create_dir_all(&rec).unwrap();
    let script = "mount -t tmpfs -o size=64k,mode=0700 tmpfs \"$0\" && exec \"$@\"";
    let rec_arg = rec.to_str().unwrap().to_string();
    let c = BinConsole::start_wrapped(
        dir.clone(),
        &format!(
            "{DEMO}[audio]\ndevice = \"file\"\nrecord_dir = \"{}\"\n",
            rec.display()
        ),
        &["unshare", "-Urm", "sh", "-c", script, &rec_arg],
    );
    c.wait_status("ready", WAIT, |v| v["connection"] == "ready");
    // Device 1: the call's audio is the console's own (the file device).
    ok(&c, json!({"cmd": "device", "type": 1}));
    c.wait_status("registered on device 1", WAIT, |v| {
        v["device"]["type"] == 1 && v["registration"]["state"] == "registered"
    });
    let events = notices(&c);
    let inside =
        PathBuf::from(format!("/proc/{}/root", c.pid())).join(rec.strip_prefix("/").unwrap());
    let filled = fill(&inside.join("filler"));
    eprintln!("filled the 64 KiB record_dir with {filled} bytes");

    ok(&c, json!({"cmd": "call", "number": "0912345678"}));
    c.wait_status("talking", WAIT, |v| v["call"]["phase"] == "connected");
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    let notice = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(n) = events.recv_timeout(left) else {
            let files: Vec<_> = std::fs::read_dir(&inside)
                .map(|d| d.filter_map(|e| e.ok().map(|e| e.file_name())).collect())
                .unwrap_or_default();
            panic!(
                "no recording notice; saw {seen:#?}\nfiles: {files:?}\nlog:\n{}",
                c.log()
            );
        };
        if n["text"]["en"]
            .as_str()
            .is_some_and(|t| t.contains("heard.wav"))
        {
            break n;
        }
        seen.push(n);
    };
    let en = notice["text"]["en"].as_str().unwrap();
    let vi = notice["text"]["vi"].as_str().unwrap();
    assert!(
        en.starts_with("the disk is full: recording to ") && en.ends_with("; the call goes on"),
        "{en}"
    );
    assert!(
        vi.starts_with("ổ đĩa đầy: đã dừng ghi âm vào ") && vi.ends_with("cuộc gọi vẫn tiếp tục"),
        "{vi}"
    );
    // The call goes on, well after the recording stopped.
    std::thread::sleep(Duration::from_secs(2));
    let v = c.status();
    assert_eq!(v["call"]["phase"], "connected", "{v}");
    ok(&c, json!({"cmd": "end"}));
    c.wait_status("ended", WAIT, |v| v["call"].is_null());
    let rows = c.history();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["number"], "0912345678");
    assert!(!rows[0]["answered_at"].is_null(), "{}", rows[0]);
    assert!(!rows[0]["ended_at"].is_null(), "{}", rows[0]);
    assert!(!c.log().contains("panicked"), "{}", c.log());
}
