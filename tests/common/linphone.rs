//! linphone's console phone (`linphonec`, Debian `linphone-cli`) as a far
//! end: an independent SIP stack (belle-sip) that honours an INVITE with
//! Replaces (RFC 3891), which baresip 1.0 does not send. It auto-answers,
//! takes its microphone from a WAV file and records what it hears, driven
//! through its stdin like a user at its prompt.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command as Proc, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, tempdir};

pub struct Linphone {
    child: Child,
    stdin: ChildStdin,
    pub dir: PathBuf,
    /// What it heard, written by its file sound card.
    pub heard: PathBuf,
}

impl Linphone {
    /// `user` (password `password`) registered to Kamailio on loopback port
    /// `registrar_port`, saying `mic` (a WAV file), auto-answering.
    pub fn start(user: &str, password: &str, registrar_port: u16, mic: &Path) -> Linphone {
        let dir = tempdir(&format!("linphone-{user}"));
        let (sip, rtp) = (free_port(), free_port());
        let rc = dir.join("linphonerc");
        std::fs::write(
            &rc,
            format!(
                "[sip]\nsip_port={sip}\nsip_tcp_port=-1\ndefault_proxy=0\n\
                 register_only_when_network_is_up=0\n\
                 [rtp]\naudio_rtp_port={rtp}\n\
                 [sound]\nechocancellation=0\n\
                 [proxy_0]\nreg_proxy=<sip:127.0.0.1:{registrar_port}>\n\
                 reg_identity=sip:{user}@127.0.0.1\nreg_expires=300\nreg_sendregister=1\n\
                 [auth_info_0]\nusername={user}\npasswd={password}\nrealm=127.0.0.1\n"
            ),
        )
        .expect("linphonerc");
        // Without its database folder the core never reaches "On" and answers
        // every INVITE 503.
        std::fs::create_dir_all(dir.join(".local/share/linphone")).expect("linphone data dir");
        let out = std::fs::File::create(dir.join("linphonec.out")).expect("out");
        let mut child = Proc::new("linphonec")
            .args(["-c", &rc.to_string_lossy(), "-a", "-d", "5"])
            .arg("-l")
            .arg(dir.join("linphone.log"))
            .env("HOME", &dir)
            .stdin(Stdio::piped())
            .stdout(out.try_clone().expect("out"))
            .stderr(out)
            .spawn()
            .expect("start linphonec");
        let stdin = child.stdin.take().expect("stdin");
        let heard = dir.join("heard.wav");
        let mut l = Linphone {
            child,
            stdin,
            dir,
            heard,
        };
        // It opens no UDP listening point from its rc here ("No listening
        // point matching"); the `ports` command does.
        l.cmd(&format!("ports sip {sip}"));
        l.cmd("soundcard use files");
        l.cmd(&format!("play {}", mic.display()));
        let heard = l.heard.clone();
        l.cmd(&format!("record {}", heard.display()));
        let start = Instant::now();
        loop {
            l.cmd("proxy list");
            std::thread::sleep(Duration::from_millis(300));
            if l.output().contains("registered: yes") {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "linphonec did not register:\n{}",
                l.output()
            );
        }
        l
    }

    /// Type a command at its prompt.
    pub fn cmd(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("linphonec stdin");
        self.stdin.flush().expect("linphonec stdin");
        std::thread::sleep(Duration::from_millis(100));
    }

    /// Everything it printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.dir.join("linphonec.out")).unwrap_or_default()
    }
}

/// What linphone recorded, at 8 kHz. Its file recorder (mediastreamer's
/// MSFileRec in append mode) writes a data size that counts the 44-byte
/// header too, so a strict WAV reader stops short of it: read the PCM
/// after the header as far as the file goes.
pub fn recording_8k(path: &Path) -> Vec<i16> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        b.len() > 44 && &b[..4] == b"RIFF",
        "{}: not a WAV",
        path.display()
    );
    let rate = u32::from_le_bytes([b[24], b[25], b[26], b[27]]);
    let channels = usize::from(u16::from_le_bytes([b[22], b[23]]).max(1));
    let pcm: Vec<f32> = b[44..]
        .chunks_exact(2 * channels)
        .map(|f| f32::from(i16::from_le_bytes([f[0], f[1]])) / 32768.0)
        .collect();
    tongdai::media::resample::resample_all(&pcm, rate, 8000)
        .into_iter()
        .map(|v| (v * 32767.0).clamp(-32768.0, 32767.0) as i16)
        .collect()
}

impl Drop for Linphone {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
