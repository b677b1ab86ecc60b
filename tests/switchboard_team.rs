//! `tongdai switchboard --agents N`, the load runs' switchboard
//! (benches/consoles.sh), as the binary: the generated desk-phone agents
//! log in, and one SIGUSR1 switches every agent On (then Off) on every
//! console at once.

mod control_common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use control_common::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tongdai::backends::vcc::{Generation, UnavailableVoiceLeg, VccBackend, VccConfig};
use tongdai::secret::Secret;
use tongdai::switchboard::{DEMO_ACCESS_KEY, DEMO_DOMAIN};

/// The switchboard binary on a free loopback port; stopped on drop.
struct Board {
    child: Child,
    base: String,
}

impl Board {
    fn start(agents: u32) -> Board {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tongdai"))
            .args(["switchboard", "--listen", "127.0.0.1:0", "--agents"])
            .arg(agents.to_string())
            .env_remove("TONGDAI_VCC_ACCESS_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the switchboard");
        let out = child.stdout.take().expect("stdout");
        let mut banner = String::new();
        let mut base = None;
        let mut lines = BufReader::new(out).lines();
        for line in lines.by_ref() {
            let line = line.expect("banner line");
            banner.push_str(&line);
            banner.push('\n');
            if let Some(b) = line.split("(web_base / api_base): ").nth(1) {
                base = Some(b.trim().to_string());
            }
            if line.contains("a tongdai client needs") {
                break;
            }
        }
        // Keep reading: a closed pipe would fail the switchboard's next print.
        std::thread::spawn(move || lines.for_each(drop));
        let base = base.unwrap_or_else(|| panic!("no API base in the banner:\n{banner}"));
        assert!(
            banner.contains(&format!("20001…{}  team.1…team.{agents}", 20000 + agents)),
            "{banner}"
        );
        assert!(!banner.contains("Team agent 2 "), "{banner}");
        Board { child, base }
    }

    fn usr1(&self) {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGUSR1).expect("SIGUSR1");
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

fn backend(base: &str, ipphone: &str) -> Box<dyn tongdai::engine::Backend> {
    let mut cfg = VccConfig::new(DEMO_DOMAIN.to_string(), ipphone);
    cfg.generation = Generation::Older;
    cfg.web_base = base.to_string();
    cfg.push_scheme = "ws".into();
    VccBackend::with_parts(
        cfg,
        Some(Secret::new(DEMO_ACCESS_KEY)),
        Box::new(UnavailableVoiceLeg::default()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sigusr1_switches_every_generated_agent_on_then_off() {
    let board = blocking(|| Board::start(3)).await;
    let mut a = Ctl::ready("team1", backend(&board.base, "20001")).await;
    let mut c = Ctl::ready("team3", backend(&board.base, "20003")).await;
    for ctl in [&a, &c] {
        let s = ctl.status().await;
        assert_eq!(s["device"]["type"], 4, "{s:#}");
        assert_eq!(s["availability"], "off", "{s:#}");
    }
    board.usr1();
    a.expect("cs_show_call_status", |e| e["status"] == "on")
        .await;
    c.expect("cs_show_call_status", |e| e["status"] == "on")
        .await;
    board.usr1();
    a.expect("cs_show_call_status", |e| e["status"] == "off")
        .await;
    c.expect("cs_show_call_status", |e| e["status"] == "off")
        .await;
    a.shutdown().await;
    c.shutdown().await;
}
