//! The real binary in a real terminal: a private tmux server per test.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
    pub dir: PathBuf,
}

impl Tmux {
    pub fn available() -> bool {
        Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// A fresh config / data / state / run tree for one run.
    pub fn fresh_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tongdai-tmux-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("config/tongdai")).unwrap();
        dir
    }

    /// Start `args` of the real binary in an 80×24 pane, in a fresh tree.
    pub fn start(name: &str, args: &str) -> Tmux {
        Tmux::start_in(name, Tmux::fresh_dir(name), args, (80, 24))
    }

    /// Start `args` of the real binary in a `size` pane with its XDG places
    /// under `dir`; after it exits the wrapper records its exit code
    /// (`exit`) and `stty -a` of the same terminal (`stty`).
    pub fn start_in(name: &str, dir: PathBuf, args: &str, size: (u16, u16)) -> Tmux {
        let bin = env!("CARGO_BIN_EXE_tongdai");
        let script = format!(
            "XDG_CONFIG_HOME='{d}/config' XDG_STATE_HOME='{d}/state' XDG_DATA_HOME='{d}/data' XDG_RUNTIME_DIR='{d}/run' LANG=C.UTF-8 '{bin}' {args}; \
             echo $? > '{d}/exit'; stty -a > '{d}/stty'; sleep 60",
            d = dir.display()
        );
        let t = Tmux {
            socket: format!("tongdai-test-{name}-{}", std::process::id()),
            dir,
        };
        let (w, h) = (size.0.to_string(), size.1.to_string());
        let out = t.tmux(&[
            "-u",
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            &w,
            "-y",
            &h,
            "sh",
            "-c",
            &script,
        ]);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    pub fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap()
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    pub fn send(&self, keys: &str) {
        self.tmux(&["send-keys", "-t", "t", keys]);
    }

    /// Type text literally (not as key names).
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", text]);
    }

    pub fn wait_for(&self, what: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(what) {
                return s;
            }
            if start.elapsed() > timeout {
                panic!("timed out waiting for {what:?}; the screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn wait_file(&self, name: &str, timeout: Duration) -> String {
        let p = self.dir.join(name);
        let start = Instant::now();
        loop {
            if let Ok(s) = std::fs::read_to_string(&p)
                && !s.is_empty()
            {
                return s;
            }
            if start.elapsed() > timeout {
                panic!(
                    "{} never appeared; the screen:\n{}",
                    p.display(),
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The pid of the tongdai process (the pane's shell's child).
    pub fn child_pid(&self) -> u32 {
        let out = self.tmux(&["display", "-p", "-t", "t", "#{pane_pid}"]);
        let sh: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        let children = std::fs::read_to_string(format!("/proc/{sh}/task/{sh}/children")).unwrap();
        children.split_whitespace().next().unwrap().parse().unwrap()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("state/tongdai/tongdai.log")).unwrap_or_default()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
