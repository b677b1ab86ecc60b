//! The VCC cloud backend (VCC-PROTOCOL.md): JWT → `thirdParty/login` →
//! `check-partner` → the push WebSocket, with the agent policy of
//! [`crate::call::vcc`] deciding every frame.
//!
//! This module is the I/O shell around that sans-IO core: one task owns the
//! HTTP client, the push socket and the voice leg, feeds the policy with
//! `Instant::now()`, and executes what it returns. Secrets (the access key,
//! the JWT, `token3C`) live here only, as [`Secret`]s; frames are logged with
//! tokens redacted.

pub mod jwt;
pub mod push;
pub mod rest;
pub mod sip_voice;
pub mod voice;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;

pub use crate::config::vcc::{Generation, VccConfig};
use crate::vcc_wire::{ClientMsg, Decoded, ObjectIds, Sender, ServerMsg, redact};
use push::{PushEvent, PushLink};
use rest::Session;
pub use sip_voice::SipVoiceLeg;
pub use voice::{UnavailableVoiceLeg, VoiceAccount, VoiceLeg};

use crate::call::vcc::{Effect, Input, PolicyConfig, VccPolicy, VoiceEvent};
use crate::engine::{Backend, Command, Event, EventSink, InitFailure, InitStep};
use crate::secret::Secret;

/// Log directives the program must add after any user filter (even
/// `RUST_LOG=trace`): tungstenite logs every WebSocket payload at TRACE,
/// and the push login frame carries the JWT / `token3C`.
pub const SECRET_SAFE_LOG_DIRECTIVES: &[&str] = &["tungstenite=info", "tokio_tungstenite=info"];

/// Install rustls' ring provider as the process default if none is set.
/// ring and aws-lc-rs are both linked, so rustls cannot pick one itself;
/// `main` should call this first thing (it is idempotent).
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

pub struct VccBackend {
    cfg: VccConfig,
    access_key: Result<Secret, String>,
    voice: Box<dyn VoiceLeg>,
}

impl VccBackend {
    /// The backend for `[vcc]`: the access key from `TONGDAI_VCC_ACCESS_KEY`
    /// or `access_key_file`, and the SIP-over-WebSocket voice leg for
    /// device 1 with silent audio (see [`VccBackend::with_audio`]).
    /// Boxed, because the engine takes backends as `Box<dyn Backend>`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(cfg: VccConfig) -> Box<dyn Backend> {
        Self::with_audio(cfg, crate::media::AudioConfig::default())
    }

    /// As [`VccBackend::new`], with device-1 calls' audio on `audio`.
    pub fn with_audio(cfg: VccConfig, audio: crate::media::AudioConfig) -> Box<dyn Backend> {
        let voice = SipVoiceLeg::new(audio).with_ice(cfg.ice());
        Self::with_parts(cfg, None, Box::new(voice))
    }

    /// `access_key`: given directly (the demo's built-in key) instead of
    /// resolved from the environment or file; `voice`: the device-1 leg.
    pub fn with_parts(
        cfg: VccConfig,
        access_key: Option<Secret>,
        voice: Box<dyn VoiceLeg>,
    ) -> Box<dyn Backend> {
        let access_key = match access_key {
            Some(k) => Ok(k),
            None => cfg.access_key().map_err(|e| e.to_string()),
        };
        Box::new(VccBackend {
            cfg,
            access_key,
            voice,
        })
    }
}

impl Backend for VccBackend {
    fn run(
        self: Box<Self>,
        commands: mpsc::Receiver<Command>,
        events: EventSink,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(run(*self, commands, events))
    }
}

/// Reports from the helper tasks to the backend's loop.
enum Internal {
    Boot(Result<Session, InitFailure>),
    Opened(u64, PushLink),
    OpenFailed(u64, String),
}

/// How long an orderly close waits for the socket to flush.
const CLOSE_WAIT: Duration = Duration::from_millis(800);
/// How long the exit waits for the voice leg's un-REGISTER.
const VOICE_FINISH_WAIT: Duration = Duration::from_secs(3);

struct Shell {
    cfg: Arc<VccConfig>,
    ids: ObjectIds,
    key: Result<Secret, String>,
    client: Option<reqwest::Client>,
    voice: Box<dyn VoiceLeg>,
    voice_tx: mpsc::UnboundedSender<VoiceEvent>,
    internal: mpsc::UnboundedSender<Internal>,
    push_tx: mpsc::UnboundedSender<(u64, PushEvent)>,
    session: Option<Session>,
    link: Option<PushLink>,
    generation: u64,
    events: EventSink,
}

impl Shell {
    fn sender(&self) -> Sender {
        self.session
            .as_ref()
            .map(|s| Sender {
                agent_id: s.account.username.clone(),
                extension: s.account.agent_id.clone(),
            })
            .unwrap_or_default()
    }

    fn execute(&mut self, effect: Effect, policy: &mut VccPolicy) {
        match effect {
            Effect::Emit(e) => self.events.emit(e),
            Effect::Voice(a) => self.voice.execute(a),
            Effect::Send(msg) => self.send(msg),
            Effect::Bootstrap => self.bootstrap(policy),
            Effect::OpenPush => self.open_push(),
            Effect::ClosePush => {
                if let Some(l) = self.link.take() {
                    l.close_soon();
                }
            }
            Effect::Finished => {}
        }
    }

    fn send(&mut self, mut msg: ClientMsg) {
        let Some(link) = &self.link else {
            tracing::warn!(?msg, "vcc: no push socket; frame dropped");
            return;
        };
        if let ClientMsg::Login {
            authen_token,
            user_token,
            ..
        } = &mut msg
            && let Some(s) = &self.session
        {
            match self.cfg.generation {
                Generation::Older => *authen_token = Some(s.jwt.clone()),
                Generation::Newer => {
                    *authen_token = Some(s.account.token3c.clone().unwrap_or(s.jwt.clone()));
                    *user_token = Some(s.jwt.clone());
                }
            }
        }
        let text = msg.encode(&self.ids, &self.sender());
        tracing::debug!(frame = %redact(&text), "vcc push →");
        link.send(text);
    }

    fn bootstrap(&mut self, policy: &mut VccPolicy) {
        let key = match &self.key {
            Ok(k) => k.clone(),
            Err(e) => {
                return policy.handle(
                    Instant::now(),
                    Input::BootstrapFailed(InitFailure::new(InitStep::Credentials, e.clone())),
                );
            }
        };
        let client = match &self.client {
            Some(c) => c.clone(),
            None => {
                let built = reqwest::Client::builder()
                    .timeout(Duration::from_secs(self.cfg.http_timeout_s.max(1)))
                    .build();
                match built {
                    Ok(c) => {
                        self.client = Some(c.clone());
                        c
                    }
                    Err(e) => {
                        let reason = InitFailure::new(InitStep::Start, e.without_url().to_string());
                        return policy.handle(Instant::now(), Input::BootstrapFailed(reason));
                    }
                }
            }
        };
        let cfg = self.cfg.clone();
        let tx = self.internal.clone();
        tokio::spawn(async move {
            let offset = cfg.utc_offset_minutes().unwrap_or(420);
            let mint_cfg = cfg.clone();
            let mint = move || {
                jwt::mint(
                    &key,
                    &mint_cfg.ipphone,
                    SystemTime::now(),
                    Some(mint_cfg.token_lifetime()),
                    offset,
                )
            };
            let r = rest::bootstrap(&client, &cfg, &mint)
                .await
                .map_err(|e| e.init_failure());
            let _ = tx.send(Internal::Boot(r));
        });
    }

    fn open_push(&mut self) {
        if let Some(old) = self.link.take() {
            old.close_soon();
        }
        self.generation += 1;
        let generation = self.generation;
        let Some(s) = &self.session else {
            let _ = self.internal.send(Internal::OpenFailed(
                generation,
                "no session (discovery has not run)".into(),
            ));
            return;
        };
        let url = self.cfg.push_url_for(&s.account.agent_server_url);
        let tx = self.internal.clone();
        let push_tx = self.push_tx.clone();
        let timeout = Duration::from_secs(self.cfg.http_timeout_s.max(1));
        tokio::spawn(async move {
            match PushLink::open(&url, generation, push_tx, timeout).await {
                Ok(link) => {
                    tracing::info!(%url, "vcc: push socket open");
                    let _ = tx.send(Internal::Opened(generation, link));
                }
                Err(e) => {
                    tracing::warn!("vcc: {e}");
                    let _ = tx.send(Internal::OpenFailed(generation, e.to_string()));
                }
            }
        });
    }
}

async fn run(backend: VccBackend, mut commands: mpsc::Receiver<Command>, events: EventSink) {
    install_crypto_provider();
    if let Err(e) = backend.cfg.validate() {
        events.emit(Event::InitFailed(InitFailure::new(
            InitStep::Config,
            e.to_string(),
        )));
        // Nothing to run; wait for the console to quit.
        while let Some(c) = commands.recv().await {
            if c == Command::Shutdown {
                break;
            }
        }
        return;
    }
    let (internal_tx, mut internal_rx) = mpsc::unbounded_channel();
    let (push_tx, mut push_rx) = mpsc::unbounded_channel();
    let (voice_tx, mut voice_rx) = mpsc::unbounded_channel();
    let mut policy = VccPolicy::new(PolicyConfig::from_config(&backend.cfg), Instant::now());
    let mut shell = Shell {
        ids: backend.cfg.object_ids.clone(),
        cfg: Arc::new(backend.cfg),
        key: backend.access_key,
        client: None,
        voice: backend.voice,
        voice_tx,
        internal: internal_tx,
        push_tx,
        session: None,
        link: None,
        generation: 0,
        events,
    };
    // csInit at start: the console need not ask.
    policy.handle(Instant::now(), Input::Command(Command::Connect));
    let mut commands_open = true;

    loop {
        // Drain the core until quiet.
        while let Some(effect) = policy.poll_effect() {
            shell.execute(effect, &mut policy);
        }
        if policy.is_finished() {
            break;
        }
        let deadline = policy.poll_timeout();
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            cmd = commands.recv(), if commands_open => {
                let cmd = cmd.unwrap_or_else(|| {
                    commands_open = false;
                    Command::Shutdown
                });
                policy.handle(Instant::now(), Input::Command(cmd));
            }
            Some(i) = internal_rx.recv() => match i {
                Internal::Boot(Ok(session)) => {
                    let a = &session.account;
                    shell.voice.configure(
                        VoiceAccount::new(&a.agent_id, &a.sip_server_url, &a.sip_socket),
                        shell.voice_tx.clone(),
                    );
                    let input = Input::Bootstrapped {
                        extension: a.agent_id.clone(),
                        role: a.role,
                    };
                    shell.session = Some(session);
                    policy.handle(Instant::now(), input);
                }
                Internal::Boot(Err(reason)) => {
                    policy.handle(Instant::now(), Input::BootstrapFailed(reason));
                }
                Internal::Opened(g, link) => {
                    if g == shell.generation {
                        shell.link = Some(link);
                        policy.handle(Instant::now(), Input::PushOpened);
                    } else {
                        link.close_soon();
                    }
                }
                Internal::OpenFailed(g, reason) => {
                    if g == shell.generation {
                        policy.handle(Instant::now(), Input::PushClosed { reason });
                    }
                }
            },
            Some((g, ev)) = push_rx.recv() => {
                if g != shell.generation {
                    continue;
                }
                match ev {
                    PushEvent::Frame(text) => match ServerMsg::decode(&shell.ids, &text) {
                        Ok(Decoded::Msg(m)) => {
                            tracing::debug!(frame = %redact(&text), "vcc push ←");
                            policy.handle(Instant::now(), Input::Push(m));
                        }
                        Ok(Decoded::Unknown(id)) => {
                            tracing::info!(object_id = id, frame = %redact(&text),
                                "vcc: ignoring an objectId this console does not know");
                        }
                        Ok(Decoded::NoObjectId) => {
                            tracing::debug!(frame = %redact(&text), "vcc: frame without objectId ignored");
                        }
                        Err(e) => tracing::warn!("vcc: bad push frame: {e}"),
                    },
                    PushEvent::Closed(reason) => {
                        tracing::info!(%reason, "vcc: push socket closed");
                        shell.link = None;
                        policy.handle(Instant::now(), Input::PushClosed { reason });
                    }
                }
            }
            Some(v) = voice_rx.recv() => policy.handle(Instant::now(), Input::Voice(v)),
            _ = sleep => policy.handle_timeout(Instant::now()),
        }
    }
    // csUnregister(): the voice leg's un-REGISTER, with a deadline.
    if tokio::time::timeout(VOICE_FINISH_WAIT, shell.voice.finish())
        .await
        .is_err()
    {
        tracing::warn!("vcc: the voice leg did not stop in time");
    }
    // Wait with a deadline: every frame queued (the device reset) is written.
    if let Some(link) = shell.link.take() {
        link.close(CLOSE_WAIT).await;
    }
}
