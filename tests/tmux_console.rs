//! The real binary in a real terminal (tmux): it starts, `?` shows the
//! help overlay, `q` quits, and the terminal is back in cooked mode
//! (`stty -a` shows `icanon` and `echo`); killed with SIGHUP it still goes
//! through the orderly shutdown and restores the terminal.
//!
//! Skips (with a message) only when tmux is not installed.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::tmux::Tmux;

fn cooked(stty: &str) {
    let words: Vec<&str> = stty.split_whitespace().collect();
    assert!(words.contains(&"icanon"), "not in canonical mode:\n{stty}");
    assert!(words.contains(&"echo"), "echo is off:\n{stty}");
    assert!(
        !words.contains(&"-icanon") && !words.contains(&"-echo"),
        "{stty}"
    );
}

fn skip() -> bool {
    if !Tmux::available() {
        eprintln!("SKIPPED: tmux is not installed (apt-get install tmux)");
        return true;
    }
    false
}

#[test]
fn starts_shows_help_quits_and_restores_the_terminal() {
    if skip() {
        return;
    }
    // No config at all: the built-in demo (local switchboard).
    let t = Tmux::start("help", "");
    t.wait_for("connected", Duration::from_secs(20));
    t.send("?");
    let s = t.wait_for("Esc, q or ? closes", Duration::from_secs(5));
    assert!(s.contains("answer") && s.contains("take voice here"), "{s}");
    t.send("Escape");
    t.send("q");
    assert_eq!(t.wait_file("exit", Duration::from_secs(10)).trim(), "0");
    cooked(&t.wait_file("stty", Duration::from_secs(5)));
    // Logs went to the file, never to the screen.
    let log = t.log();
    assert!(log.contains("tongdai starting"), "{log}");
    assert!(!t.screen().contains("INFO"), "{}", t.screen());
}

#[test]
fn sighup_goes_through_the_orderly_shutdown() {
    if skip() {
        return;
    }
    let t = Tmux::start("hup", "demo --screen in-call");
    t.wait_for("In call", Duration::from_secs(20));
    let pid = t.child_pid();
    let ok = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    assert_eq!(t.wait_file("exit", Duration::from_secs(10)).trim(), "0");
    cooked(&t.wait_file("stty", Duration::from_secs(5)));
    let log = t.log();
    assert!(log.contains("Signal(\"SIGHUP\")"), "{log}");
    assert!(log.contains("engine shut down clean=true"), "{log}");
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
}

#[test]
fn first_run_screen_in_a_real_terminal() {
    if skip() {
        return;
    }
    let t = Tmux::start("first", "--lang vi demo --screen first-run");
    let s = t.wait_for("Chưa cấu hình tài khoản", Duration::from_secs(20));
    assert!(s.contains("TONGDAI_SIP_PASSWORD"), "{s}");
    t.send("L");
    t.wait_for("No account is configured", Duration::from_secs(5));
    t.send("F10");
    assert_eq!(t.wait_file("exit", Duration::from_secs(10)).trim(), "0");
    cooked(&t.wait_file("stty", Duration::from_secs(5)));
}

/// `tongdai demo` as an agent uses it: take device 1 (this console), go On,
/// a simulated customer rings with the popup, answer, hold, resume, mute,
/// hang up by key; then the SSH session drops (SIGHUP) and the switchboard's
/// own log shows the un-REGISTER and the device handed back (role 6 → 4).
#[test]
fn demo_call_by_keys_then_sighup_hands_the_device_back() {
    if skip() {
        return;
    }
    let t = Tmux::start("demo-flow", "demo");
    t.wait_for("connected", Duration::from_secs(20));
    // The demo's customer is in the agent's contacts: the popup names them.
    let csv = t.dir.join("contacts.csv");
    std::fs::write(
        &csv,
        "Name,Company,Phone\nNguyễn Thị Mai,ACME,+84 903 123 456\n",
    )
    .unwrap();
    let import = Command::new(env!("CARGO_BIN_EXE_tongdai"))
        .args(["contacts", "import"])
        .arg(&csv)
        .env("XDG_DATA_HOME", t.dir.join("data"))
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    t.send("d");
    t.send("1");
    t.wait_for("Device 1", Duration::from_secs(10));
    t.send("o");
    let ring = t.wait_for("Incoming call", Duration::from_secs(40));
    assert!(
        ring.contains("Hotline"),
        "the popup shows the hotline:\n{ring}"
    );
    assert!(
        ring.contains("Nguyễn Thị Mai"),
        "the popup names the contact:\n{ring}"
    );
    t.send("Enter");
    t.wait_for("In call", Duration::from_secs(10));
    t.send("h");
    t.wait_for("On hold", Duration::from_secs(10));
    t.send("h");
    t.wait_for("In call", Duration::from_secs(10));
    t.send("m");
    t.wait_for("Muted", Duration::from_secs(10));
    t.send("m");
    t.send("e");
    t.wait_for("No call", Duration::from_secs(10));
    let pid = t.child_pid();
    let ok = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    assert_eq!(t.wait_file("exit", Duration::from_secs(15)).trim(), "0");
    cooked(&t.wait_file("stty", Duration::from_secs(5)));
    let sb =
        std::fs::read_to_string(t.dir.join("state/tongdai/switchboard.jsonl")).unwrap_or_default();
    assert!(
        sb.contains("sip_unregister"),
        "no un-REGISTER in the switchboard log:\n{sb}"
    );
    let reset = sb
        .lines()
        .rfind(|l| l.contains("device_change"))
        .unwrap_or_default();
    assert!(
        reset.contains("\"to\":4"),
        "the last device change must hand device 4 back:\n{sb}"
    );
}

/// Language (`L`), theme (`Ctrl-T`) and device (`d`) are remembered in the
/// state directory (mode 0600) and found again at the next start.
#[test]
fn language_theme_and_device_survive_a_restart() {
    use std::os::unix::fs::PermissionsExt;
    if skip() {
        return;
    }
    let dir = Tmux::fresh_dir("prefs");
    let first = Tmux::start_in("prefs1", dir.clone(), "demo", (100, 30));
    first.wait_for("connected", Duration::from_secs(20));
    first.send("L");
    first.wait_for("đã kết nối", Duration::from_secs(5));
    first.send("C-t");
    first.wait_for("Giao diện: light", Duration::from_secs(5));
    first.send("d");
    first.send("1");
    first.wait_for("1 · console này", Duration::from_secs(10));
    first.send("q");
    assert_eq!(first.wait_file("exit", Duration::from_secs(10)).trim(), "0");
    let path = dir.join("state/tongdai/console.toml");
    let saved = std::fs::read_to_string(&path).expect("console.toml written");
    assert!(saved.contains("language = \"vi\""), "{saved}");
    assert!(saved.contains("theme = \"light\""), "{saved}");
    assert!(saved.contains("device = 1"), "{saved}");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // The exit handed the device back (4); the next start asks for 1 again.
    let _ = std::fs::remove_file(dir.join("exit"));
    let second = Tmux::start_in("prefs2", dir.clone(), "demo", (100, 30));
    second.wait_for("đã kết nối", Duration::from_secs(20));
    second.wait_for("1 · console này", Duration::from_secs(10));
    second.send("q");
    assert_eq!(
        second.wait_file("exit", Duration::from_secs(10)).trim(),
        "0"
    );
}

/// Issue 13 item 1 with the real binary: the demo's next customer rings
/// while the agent types a wrap-up note; the letters typed after the ring
/// (r reject, o On/Off, c, e end, q quit, a answer, digits) all land in
/// the note, the ring keeps ringing and the agent stays On; Enter saves the
/// note, F2 answers.
#[test]
fn demo_ring_while_typing_a_note_keeps_the_text() {
    if skip() {
        return;
    }
    // 120×40: the header and the Agent panel show On/Off beside the demo banner.
    let t = Tmux::start_in(
        "ring-typing",
        Tmux::fresh_dir("ring-typing"),
        "demo",
        (120, 40),
    );
    t.wait_for("connected", Duration::from_secs(20));
    t.send("d");
    t.send("1");
    t.wait_for("Device 1", Duration::from_secs(10));
    t.send("o");
    // The demo's customers ring an idle agent who is On every 20 s.
    t.wait_for("Incoming call", Duration::from_secs(30));
    t.send("Enter");
    t.wait_for("In call", Duration::from_secs(10));
    t.send("e");
    t.wait_for("Wrap-up note", Duration::from_secs(10));
    t.type_text("hen ");
    t.wait_for("Incoming call", Duration::from_secs(30));
    t.type_text("reo cqa 0912");
    let s = t.wait_for("hen reo cqa 0912", Duration::from_secs(5));
    assert!(
        s.contains("Incoming call"),
        "the ring was answered or rejected:\n{s}"
    );
    assert!(
        s.contains("Status ● On") && !s.contains("● Off"),
        "the agent went Off:\n{s}"
    );
    assert!(
        s.contains("F2 answers"),
        "the ring's key is not shown:\n{s}"
    );
    // Enter saves the note (it does not answer).
    t.send("Enter");
    let s = t.wait_for("Note saved", Duration::from_secs(5));
    assert!(s.contains("Incoming call"), "{s}");
    t.send("F2");
    t.wait_for("In call", Duration::from_secs(10));
    t.send("F10");
    t.send("y");
    assert_eq!(t.wait_file("exit", Duration::from_secs(15)).trim(), "0");
    cooked(&t.wait_file("stty", Duration::from_secs(5)));
    let out = Command::new(env!("CARGO_BIN_EXE_tongdai"))
        .arg("history")
        .env("XDG_DATA_HOME", t.dir.join("data"))
        .env("XDG_CONFIG_HOME", t.dir.join("config"))
        .output()
        .unwrap();
    let history = String::from_utf8_lossy(&out.stdout);
    assert!(
        history.contains("hen reo cqa 0912"),
        "the note is not in the history:\n{history}"
    );
}
