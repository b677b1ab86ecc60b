//! A private JACK server (dummy driver: a clocked software sound card) for
//! the tests of the cpal device path.

use std::process::{Child, Command as Proc, Stdio};
use std::time::{Duration, Instant};

pub fn jackd_child(name: &str) -> Child {
    Proc::new("jackd")
        .args(["-n", name, "-d", "dummy", "-r", "48000", "-p", "960"])
        .env("JACK_NO_AUDIO_RESERVATION", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("jackd")
}

/// A jackd of ours. Stopped with SIGTERM so it leaves JACK's shared-memory
/// server registry (/dev/shm/jack-shm-registry): that registry has 8 slots,
/// and a SIGKILLed server's slot is only reclaimed by a later server of the
/// same name; after a few killed test runs no jackd would start ("Too many
/// servers already active"). [`Jackd::crash`] kills it for real, and the
/// drop then starts and cleanly stops a same-named server to free the slot.
pub struct Jackd {
    child: Child,
    name: String,
    crashed: bool,
}

impl Jackd {
    pub fn spawn(name: &str) -> Jackd {
        Jackd {
            child: jackd_child(name),
            name: name.to_string(),
            crashed: false,
        }
    }

    /// SIGKILL: the sound server vanishes without a goodbye.
    pub fn crash(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.crashed = true;
    }

    pub fn terminate(child: &mut Child) {
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Jackd {
    fn drop(&mut self) {
        if self.crashed {
            // Free the registry slot the killed server left behind.
            let mut again = jackd_child(&self.name);
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline
                && !ports(&self.name).iter().any(|p| p.starts_with("system:"))
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            Jackd::terminate(&mut again);
        } else {
            Jackd::terminate(&mut self.child);
        }
    }
}

pub fn ports(server: &str) -> Vec<String> {
    Proc::new("jack_lsp")
        .env("JACK_DEFAULT_SERVER", server)
        .stderr(Stdio::null())
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}
