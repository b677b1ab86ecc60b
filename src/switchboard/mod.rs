//! The local switchboard: a VCC-compatible server on loopback (or wherever
//! `--listen` says), speaking exactly VCC-PROTOCOL.md so that `tongdai demo`
//! works with no account, every VCC test runs against real sockets, and an
//! integrator can point the real web-embed SDK at it.
//!
//! One port serves everything: `POST /{domain}/thirdParty/login`,
//! `GET /api/login/check-partner` (older SDK), `GET /v1/api/calls/check-partner`
//! (newer SDK, raw `Authorization` header), CORS preflight, and the push
//! WebSocket at `/websocket` with the whole objectId table. Behind it, a
//! simulated call center ([`world`]): agents with consoles (voice moves
//! between them), simulated colleagues to transfer to, queues, callers that
//! ring with a hotline and IVR choice, and numbers whose call-outs answer or
//! fail with each row of the error table ([`scenario::outcome_for`]).
//!
//! Device 1 (the console's own audio) is served too: [`sip`] is a
//! registrar for the agents' SIP-over-WebSocket phones at `/sip` on the
//! same port, and the simulated customer's end of their calls (a WebRTC
//! offer from our own media code, a 440 Hz voice, a recording of what the
//! agent says, readable with [`Switchboard::heard`]).

pub mod http;
pub mod log;
pub mod scenario;
pub mod sip;
pub mod world;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use log::{EventLog, LogEntry};
pub use scenario::{AgentSpec, Bot, NUMBER_PLAN, QueueSpec, Scenario, Timing};
pub use world::Control;

use crate::config::vcc::{ACCESS_KEY_ENV, Generation, VccConfig};
use crate::secret::{Secret, SecretError};

/// The demo's tenant.
pub const DEMO_DOMAIN: &str = "demo";
/// The demo's access key. Well known and printed on purpose: it protects
/// nothing but this local switchboard.
pub const DEMO_ACCESS_KEY: &str = "tongdai-demo-access-key-not-a-secret";

/// Where the switchboard's access key came from (for the banner; the key
/// itself is printed only when it is the built-in demo key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// [`DEMO_ACCESS_KEY`].
    Demo,
    /// `TONGDAI_VCC_ACCESS_KEY`.
    Env,
    File(PathBuf),
    /// Given by the embedding program.
    Given,
}

#[derive(Debug, Clone)]
pub struct SwitchboardOptions {
    /// `--listen`; port 0 picks a free one.
    pub listen: SocketAddr,
    pub domain: String,
    pub access_key: Secret,
    pub key_source: KeySource,
    /// Also append the event log here as JSON lines.
    pub log_file: Option<PathBuf>,
    pub scenario: Scenario,
    pub timing: Timing,
    /// The clock of `expired` in tokens, minutes east of UTC.
    pub utc_offset_min: i32,
}

impl SwitchboardOptions {
    /// The demo: built-in key, demo cast, human timing, on `listen`.
    pub fn demo(listen: SocketAddr) -> Self {
        Self {
            listen,
            domain: DEMO_DOMAIN.into(),
            access_key: Secret::new(DEMO_ACCESS_KEY),
            key_source: KeySource::Demo,
            log_file: None,
            scenario: Scenario::demo(),
            timing: Timing::demo(),
            utc_offset_min: 420,
        }
    }

    /// Tests: loopback, a free port, fast timing, nothing spontaneous.
    pub fn for_tests() -> Self {
        Self {
            timing: Timing::fast(),
            ..Self::demo(SocketAddr::from(([127, 0, 0, 1], 0)))
        }
    }

    /// `tongdai switchboard`: the key from `TONGDAI_VCC_ACCESS_KEY`, else
    /// `key_file` (mode 600), else the built-in demo key.
    pub fn from_env_or_demo(
        listen: SocketAddr,
        key_file: Option<PathBuf>,
    ) -> Result<Self, SecretError> {
        let mut o = Self::demo(listen);
        if std::env::var(ACCESS_KEY_ENV).is_ok_and(|v| !v.is_empty()) {
            o.access_key = crate::secret::resolve("the access key", ACCESS_KEY_ENV, "", None)?;
            o.key_source = KeySource::Env;
        } else if let Some(p) = key_file {
            o.access_key = crate::secret::read_secret_file(&p)?;
            o.key_source = KeySource::File(p);
        }
        Ok(o)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SwitchboardError {
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: SocketAddr, reason: String },
    #[error("cannot open the event log {path}: {reason}")]
    Log { path: PathBuf, reason: String },
}

/// A running switchboard.
pub struct Switchboard {
    addr: SocketAddr,
    domain: String,
    key_source: KeySource,
    log: EventLog,
    log_file: Option<PathBuf>,
    scenario: Scenario,
    shared: Arc<world::Shared>,
    world: mpsc::UnboundedSender<world::WorldMsg>,
    heard: sip::Heard,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

/// Start in-process (for `tongdai demo` and tests); returns once listening.
pub async fn start(opts: SwitchboardOptions) -> Result<Switchboard, SwitchboardError> {
    let listener = TcpListener::bind(opts.listen)
        .await
        .map_err(|e| SwitchboardError::Listen {
            addr: opts.listen,
            reason: e.to_string(),
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| SwitchboardError::Listen {
            addr: opts.listen,
            reason: e.to_string(),
        })?;
    let log = EventLog::new(opts.log_file.as_deref()).map_err(|e| SwitchboardError::Log {
        path: opts.log_file.clone().unwrap_or_default(),
        reason: e.to_string(),
    })?;
    let shared = Arc::new(world::Shared {
        domain: opts.domain.clone(),
        key: opts.access_key.clone(),
        utc_offset_min: opts.utc_offset_min,
        agents: opts.scenario.agents.clone(),
        token3c: std::sync::Mutex::new(Default::default()),
        refuse_logins: AtomicU32::new(0),
        log: log.clone(),
        addr: addr.to_string(),
    });
    let cancel = CancellationToken::new();
    let (wtx, wrx) = mpsc::unbounded_channel();
    let (sip_tx, sip_rx) = mpsc::unbounded_channel();
    let heard: sip::Heard = Arc::default();
    let w = world::World::new(
        shared.clone(),
        opts.scenario.clone(),
        opts.timing.clone(),
        sip_tx.clone(),
    );
    let world_task = tokio::spawn(w.run(wrx, cancel.clone()));
    let hub = sip::Hub::new(
        log.clone(),
        addr.to_string(),
        addr.ip(),
        wtx.clone(),
        sip_tx.clone(),
        heard.clone(),
    );
    let sip_task = tokio::spawn(hub.run(sip_rx, cancel.clone()));
    let h = Arc::new(http::Http {
        shared: shared.clone(),
        world: wtx.clone(),
        next_conn: AtomicU64::new(0),
        sip: sip_tx,
    });
    let http_task = tokio::spawn(http::serve(listener, h, cancel.clone()));
    log.note(
        "listening",
        None,
        serde_json::json!({"addr": addr.to_string(), "domain": opts.domain}),
    );
    Ok(Switchboard {
        addr,
        domain: opts.domain,
        key_source: opts.key_source,
        log,
        log_file: opts.log_file,
        scenario: opts.scenario,
        shared,
        world: wtx,
        heard,
        cancel,
        tasks: vec![world_task, sip_task, http_task],
    })
}

/// `tongdai switchboard`: start, print where it listens and how to point a
/// client at it, run until Ctrl-C, SIGTERM or SIGHUP. Each SIGUSR1 switches
/// every agent On, then Off, then On, … ([`Control::StatusAll`]): a load
/// run's one status change that reaches every console.
pub async fn run(opts: SwitchboardOptions) -> Result<(), SwitchboardError> {
    use tokio::signal::unix::{SignalKind, signal};
    let sb = start(opts).await?;
    println!("{}", sb.banner());
    let mut usr1 = signal(SignalKind::user_defined1()).ok();
    let mut on = false;
    let stop = wait_for_signal();
    tokio::pin!(stop);
    loop {
        let next_usr1 = async {
            match usr1.as_mut() {
                Some(s) => s.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut stop => break,
            Some(()) = next_usr1 => {
                on = !on;
                let status = if on { "AVAILABLE" } else { "NOT AVAILABLE" };
                sb.control(Control::StatusAll { status: status.into() });
            }
        }
    }
    sb.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut hup = signal(SignalKind::hangup()).ok();
    let term = async {
        match term.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    let hup = async {
        match hup.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
        _ = hup => {}
    }
}

impl Switchboard {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `web_base` and `api_base` for clients.
    pub fn api_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn push_url(&self) -> String {
        format!("ws://{}/websocket", self.addr)
    }

    /// `account.sip_socket`: SIP over WebSocket for device 1.
    pub fn sip_url(&self) -> String {
        format!("ws://{}/sip", self.addr)
    }

    /// What the simulated customer heard on `agent`'s latest device-1 call
    /// (48 kHz mono, at most the last 30 s).
    pub fn heard(&self, agent: &str) -> Vec<i16> {
        self.heard
            .lock()
            .map(|h| h.get(agent).cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn log(&self) -> &EventLog {
        &self.log
    }

    /// A `[vcc]` config pointing at this switchboard for agent `ipphone`.
    pub fn client_config(&self, ipphone: &str, generation: Generation) -> VccConfig {
        let mut c = VccConfig::new(self.domain.clone(), ipphone);
        c.generation = generation;
        c.web_base = self.api_base();
        c.push_scheme = "ws".into();
        c.queues = self
            .scenario
            .queues
            .iter()
            .map(|q| crate::config::vcc::QueueConfig {
                id: q.id.clone(),
                name: q.name.clone(),
            })
            .collect();
        c
    }

    /// The access key, for an in-process client (`tongdai demo`).
    pub fn access_key(&self) -> Secret {
        self.shared.key.clone()
    }

    /// A VCC backend logged in here as `ipphone` (`tongdai demo`): older
    /// SDK generation, the switchboard's key, the device-1 SIP voice leg
    /// with silent audio.
    pub fn backend_for(&self, ipphone: &str) -> Box<dyn crate::engine::Backend> {
        self.backend_with_audio(ipphone, crate::media::AudioConfig::default())
    }

    /// As [`Switchboard::backend_for`], with device-1 audio on `audio`.
    pub fn backend_with_audio(
        &self,
        ipphone: &str,
        audio: crate::media::AudioConfig,
    ) -> Box<dyn crate::engine::Backend> {
        crate::backends::vcc::VccBackend::with_parts(
            self.client_config(ipphone, Generation::Older),
            Some(self.access_key()),
            Box::new(crate::backends::vcc::SipVoiceLeg::new(audio)),
        )
    }

    pub fn control(&self, c: Control) {
        let _ = self.world.send(world::WorldMsg::Control(c));
    }

    /// A customer calls `agent` from `caller` on hotline `line` with IVR choice `queue`.
    pub fn ring(&self, agent: &str, caller: &str, line: &str, queue: &str) {
        self.control(Control::Ring {
            agent: Some(agent.into()),
            caller: Some(caller.into()),
            line: Some(line.into()),
            queue: Some(queue.into()),
        });
    }

    /// Make the next `n` `thirdParty/login` calls fail (`code: "errors"`).
    pub fn refuse_next_logins(&self, n: u32) {
        self.shared.refuse_logins.store(n, Ordering::SeqCst);
    }

    /// What to print on start: where it listens and what a client needs.
    pub fn banner(&self) -> String {
        let base = self.api_base();
        let mut s = String::new();
        let mut line = |l: String| {
            s.push_str(&l);
            s.push('\n');
        };
        line("tongdai switchboard: a local VCC-compatible server (not VCC itself)".into());
        line(format!("  API base (web_base / api_base): {base}"));
        line(format!(
            "  login:         POST {base}/{}/thirdParty/login   {{\"token\": <jwt>}}",
            self.domain
        ));
        line(format!(
            "  discovery:     GET  {base}/api/login/check-partner?authToken=<jwt>&domain={}   (older SDK)",
            self.domain
        ));
        line(format!(
            "                 GET  {base}/v1/api/calls/check-partner   Authorization: <jwt>   (newer SDK)"
        ));
        line(format!("  push socket:   {}", self.push_url()));
        line(format!(
            "  SIP over WS:   {}   (device 1: REGISTER sip:<ipphone>@{} , any password; WebRTC media; customers say {} Hz)",
            self.sip_url(),
            self.addr.ip(),
            sip::CUSTOMER_TONE_HZ
        ));
        line(format!("  domain:        {}", self.domain));
        match &self.key_source {
            KeySource::Demo => line(format!(
                "  access key:    the built-in demo key \"{DEMO_ACCESS_KEY}\" (well known, not a secret: it only opens this local switchboard)"
            )),
            KeySource::Env => line(format!(
                "  access key:    from the environment variable {ACCESS_KEY_ENV} (not shown)"
            )),
            KeySource::File(p) => line(format!(
                "  access key:    from the file {} (not shown)",
                p.display()
            )),
            KeySource::Given => {
                line("  access key:    given by the program that started it (not shown)".into())
            }
        }
        line("  agents (ipphone, name, role, device):".into());
        let team = |a: &&AgentSpec| a.username.starts_with("team.");
        for a in self.scenario.agents.iter().filter(|a| !team(a)) {
            line(format!(
                "    {}  {:<40} role {}  device {}{}",
                a.ipphone,
                a.full_name,
                a.role,
                a.device,
                if a.allowed_devices.len() == 1 {
                    format!(" (only device {})", a.allowed_devices[0])
                } else {
                    String::new()
                }
            ));
        }
        let n_team = self.scenario.agents.iter().filter(team).count();
        if n_team > 0 {
            line(format!(
                "    {}…{}  team.1…team.{n_team}: {n_team} generated agents, device 4 only",
                scenario::TEAM_FIRST_IPPHONE,
                u64::from(scenario::TEAM_FIRST_IPPHONE) + n_team as u64 - 1,
            ));
        }
        line(format!(
            "  queues:        {}",
            self.scenario
                .queues
                .iter()
                .map(|q| format!("{} ({})", q.id, q.name))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        line(format!("  numbers:       {NUMBER_PLAN}"));
        if let Some(p) = &self.log_file {
            line(format!("  event log:     {} (JSON lines)", p.display()));
        }
        line("  a tongdai client needs:".into());
        line("    [vcc]".into());
        line(format!("    domain = \"{}\"", self.domain));
        line("    ipphone = \"1001\"".into());
        line(format!("    web_base = \"{base}\""));
        line("    push_scheme = \"ws\"".into());
        line(format!(
            "    # and the access key in {ACCESS_KEY_ENV} or access_key_file"
        ));
        s
    }

    /// Stop serving; push connections are closed.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        for t in std::mem::take(&mut self.tasks) {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), t).await;
        }
    }
}

impl Drop for Switchboard {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
