//! The plain SIP backend: one `[sip]` account, the softphone call logic and
//! the UA, glued in one engine task.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::call::softphone::{Effect, Input, Policy, Softphone};
use crate::engine::{
    Backend, Command, Event, EventSink, Info, InitFailure, InitStep, Notice, RegState,
};
use crate::media::AudioConfig;
use crate::secret::Secret;
use crate::sip::ua::{SipUa, UaEvent};
use crate::sip::{SipConfig, Transport};

pub struct SipBackend {
    cfg: SipConfig,
    audio: AudioConfig,
    /// Resolved before the engine starts so a missing secret is reported
    /// as a configuration error, not a network one.
    password: Result<Secret, String>,
}

impl SipBackend {
    pub fn new(cfg: SipConfig) -> Self {
        let password = match cfg.password() {
            // A trunk that takes calls without registering may need no
            // password at all; a challenge is then refused, not answered
            // with an empty one (sip::ua).
            Err(crate::secret::SecretError::Missing { .. }) if !cfg.register => {
                Ok(Secret::new(String::new()))
            }
            other => other.map_err(|e| e.to_string()),
        };
        Self {
            cfg,
            audio: AudioConfig::default(),
            password,
        }
    }

    /// Use this audio device for calls (default: `null`).
    pub fn with_audio(mut self, audio: AudioConfig) -> Self {
        self.audio = audio;
        self
    }
}

/// How long the orderly exit waits for BYEs and CANCELs to be answered
/// before un-REGISTERing anyway.
const CALL_DRAIN: Duration = Duration::from_millis(1500);
/// How long it waits for the un-REGISTER.
const UNREGISTER_WAIT: Duration = Duration::from_secs(2);

impl Backend for SipBackend {
    fn run(
        self: Box<Self>,
        commands: mpsc::Receiver<Command>,
        events: EventSink,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(run(*self, commands, events))
    }
}

async fn wait_for_shutdown(mut commands: mpsc::Receiver<Command>) {
    while let Some(c) = commands.recv().await {
        if c == Command::Shutdown {
            return;
        }
    }
}

async fn run(backend: SipBackend, mut commands: mpsc::Receiver<Command>, events: EventSink) {
    let password = match backend.password {
        Ok(p) => p,
        Err(e) => {
            events.emit(Event::InitFailed(InitFailure::new(
                InitStep::Credentials,
                e,
            )));
            return wait_for_shutdown(commands).await;
        }
    };
    if backend.cfg.insecure_tls && matches!(backend.cfg.transport, Transport::Tls | Transport::Wss)
    {
        // rsipstack offers no switch to skip verification and we do not
        // add one: say so instead of pretending (use sip.ca_file for a lab CA).
        events.emit(Event::Notice(Notice::InsecureTls));
    }
    let (ua_tx, mut ua_rx) = mpsc::unbounded_channel();
    let ua = match SipUa::start(backend.cfg.clone(), password, ua_tx).await {
        Ok(ua) => ua,
        Err(e) => {
            events.emit(Event::InitFailed(InitFailure::new(
                InitStep::Start,
                e.to_string(),
            )));
            return wait_for_shutdown(commands).await;
        }
    };
    ua.set_audio(backend.audio.clone());
    events.emit(Event::Ready);
    // A plain SIP account always owns its voice and rings this console.
    events.emit(Event::VoiceChannel(true));
    events.emit(Event::DeviceType(crate::engine::Device::Console));

    let mut phone = Softphone::new(Policy {
        second_call: backend.cfg.second_call,
        ring_timeout: Duration::from_secs(u64::from(backend.cfg.ring_timeout_s.max(5))),
        inbound_ring_timeout: Duration::from_secs(u64::from(
            backend.cfg.inbound_ring_timeout_s.max(1),
        )),
    });
    let mut shutdown_at: Option<Instant> = None;

    loop {
        let now = Instant::now();
        // Drain the core until quiet (STYLE.md §3).
        while let Some(effect) = phone.poll_effect() {
            match effect {
                Effect::Sip(a) => ua.execute(a),
                Effect::Emit(e) => events.emit(e),
            }
        }
        if let Some(t) = shutdown_at
            && (!phone.has_calls() || now >= t + CALL_DRAIN)
        {
            break;
        }
        let deadline = [phone.poll_timeout(), shutdown_at.map(|t| t + CALL_DRAIN)]
            .into_iter()
            .flatten()
            .min();
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            cmd = commands.recv(), if shutdown_at.is_none() => match cmd {
                None | Some(Command::Shutdown) => {
                    shutdown_at = Some(Instant::now());
                    phone.handle(Instant::now(), Input::Command(Command::Shutdown));
                }
                Some(c) => phone.handle(Instant::now(), Input::Command(c)),
            },
            ev = ua_rx.recv() => match ev {
                Some(UaEvent::Call(i)) => phone.handle(Instant::now(), Input::Sip(i)),
                Some(UaEvent::Registration(s)) => events.emit(Event::Registration(s)),
                Some(UaEvent::Problem(t)) => {
                    events.emit(Event::Notice(Notice::Info(Info::SipProblem { detail: t })))
                }
                Some(UaEvent::Media(e)) => events.emit(e),
                None => break,
            },
            _ = sleep => phone.handle_timeout(Instant::now()),
        }
    }
    // Tell and wait with a deadline: un-REGISTER, then close the transports.
    ua.stop(UNREGISTER_WAIT).await;
    while let Ok(ev) = ua_rx.try_recv() {
        if let UaEvent::Registration(s) = ev {
            events.emit(Event::Registration(s));
        }
    }
    events.emit(Event::Registration(RegState::None));
}
