//! `tongdai --headless`: the engine with no TUI, controlled only through the
//! control socket.
//!
//! ```text
//!  backend ─▶ engine::pipeline (history ─▶ alerts ─▶ hub ──broadcast──▶ server sessions, status)
//!                ▲                         └─▶ pump ─▶ stdout JSON lines (print_events)
//!                └──────────── Command ◀── server ◀── clients
//! ```
//!
//! Exit, in the three steps of STYLE.md §3: *decide* (SIGTERM, SIGINT,
//! SIGHUP, or a `shutdown` request that stops the engine), *tell* (the
//! engine hangs up, un-REGISTERs and, for VCC, hands the device type back),
//! *wait* with a deadline; then the socket is closed and removed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use super::hub::EventHub;
use tokio::task::JoinHandle;

use super::protocol;
use super::server::{Server, ServerError, ServerHandle, ServerOptions, TcpOptions};
use super::{SocketPlace, is_live};
use crate::engine::pipeline::{self, PipelineOptions};
use crate::engine::{Backend, EngineHandle, Event};

#[derive(Debug, Clone)]
pub struct HeadlessOptions {
    pub socket: SocketPlace,
    pub tcp: Option<TcpOptions>,
    /// How long the engine may take to end calls, un-REGISTER and hand the device back.
    pub shutdown_deadline: Duration,
    /// Also print every event on stdout as a JSON line (`tongdai --headless | jq`).
    pub print_events: bool,
    /// The call history store: every event is recorded there before a
    /// client sees it, as in the TUI (`None`: no history, e.g. tests).
    pub history: Option<PathBuf>,
    /// The `[audio]` devices for the ringtone, ringback and busy tone
    /// (`media::alert_player`); `None` or the null device: silent.
    pub alerts: Option<crate::media::AudioConfig>,
}

impl HeadlessOptions {
    /// `$XDG_RUNTIME_DIR/tongdai/<name>.sock`, no TCP, a 5 s exit deadline.
    pub fn named(name: &str) -> Self {
        Self {
            socket: SocketPlace::Named(name.to_string()),
            tcp: None,
            shutdown_deadline: Duration::from_secs(5),
            print_events: false,
            history: None,
            alerts: None,
        }
    }

    /// An explicit socket path (`--socket`).
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self {
            socket: SocketPlace::Path(path.into()),
            ..Self::named("default")
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HeadlessError {
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error("cannot watch for signals: {0}")]
    Signals(std::io::Error),
    #[error("the engine did not stop within {0:?}; it was aborted")]
    ShutdownTimedOut(Duration),
}

impl HeadlessError {
    /// 2 for a start failure (socket, signals), 1 for an unclean exit.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            HeadlessError::ShutdownTimedOut(_) => ExitCode::from(1),
            _ => ExitCode::from(2),
        }
    }
}

/// A running headless console.
pub struct Headless {
    engine: Option<EngineHandle>,
    server: Option<ServerHandle>,
    pump: Option<JoinHandle<()>>,
    stopped: watch::Receiver<bool>,
    hub: EventHub,
    deadline: Duration,
}

/// Start the engine and its control socket.
pub async fn start(
    backend: Box<dyn Backend>,
    opts: HeadlessOptions,
) -> Result<Headless, HeadlessError> {
    let path = opts.socket.resolve()?;
    // Refuse before the backend logs in anywhere.
    if is_live(&path) {
        return Err(ServerError::InUse { path }.into());
    }
    let hub = EventHub::new();
    // The same pipeline as the console: history, alerts, then published.
    let (handle, mut rx) = pipeline::start(
        backend,
        PipelineOptions {
            history: opts.history.clone(),
            alerts: opts.alerts.clone(),
            contacts: opts.history.clone(),
            hub: Some(hub.clone()),
        },
    );
    let server = match Server::start_with(
        ServerOptions {
            socket: path,
            tcp: opts.tcp.clone(),
        },
        handle.sender(),
        hub.clone(),
    )
    .await
    {
        Ok(s) => s,
        Err(e) => {
            handle.shutdown(opts.shutdown_deadline).await;
            return Err(e.into());
        }
    };
    let (stop_tx, stopped) = watch::channel(false);
    let print = opts.print_events;
    let pump = tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            if print {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{}", protocol::event_json(&e));
                let _ = out.flush();
            }
            if e == Event::ShutdownComplete {
                let _ = stop_tx.send(true);
            }
        }
        let _ = stop_tx.send(true);
    });
    Ok(Headless {
        engine: Some(handle),
        server: Some(server),
        pump: Some(pump),
        stopped,
        hub,
        deadline: opts.shutdown_deadline,
    })
}

impl Headless {
    pub fn socket_path(&self) -> Option<&Path> {
        self.server.as_ref().map(|s| s.socket_path())
    }

    pub fn tcp_addr(&self) -> Option<std::net::SocketAddr> {
        self.server.as_ref().and_then(|s| s.tcp_addr())
    }

    /// Every event, as the server sees it (for tests and embedding).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.hub.subscribe()
    }

    /// The `status` snapshot now.
    pub fn status(&self) -> serde_json::Value {
        self.hub.status()
    }

    /// Resolves when the engine stopped by itself (a `shutdown` request).
    pub async fn stopped(&mut self) {
        let _ = self.stopped.wait_for(|s| *s).await;
    }

    /// The orderly exit: engine first (with the deadline), then the socket.
    pub async fn shutdown(mut self) -> Result<(), HeadlessError> {
        let in_time = match self.engine.take() {
            Some(h) => h.shutdown(self.deadline).await,
            None => true,
        };
        // Let the pump hand the last events (ended, shutdown_complete) to the sessions.
        if let Some(p) = self.pump.take() {
            let abort = p.abort_handle();
            if tokio::time::timeout(Duration::from_secs(1), p)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
        if in_time {
            Ok(())
        } else {
            Err(HeadlessError::ShutdownTimedOut(self.deadline))
        }
    }
}

/// Run until SIGTERM, SIGINT or SIGHUP (or a `shutdown` request), then exit
/// cleanly. Prints the socket path on stderr.
pub async fn try_run(
    backend: Box<dyn Backend>,
    opts: HeadlessOptions,
) -> Result<(), HeadlessError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(HeadlessError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(HeadlessError::Signals)?;
    let mut hup = signal(SignalKind::hangup()).map_err(HeadlessError::Signals)?;
    let mut h = start(backend, opts).await?;
    if let Some(p) = h.socket_path() {
        eprintln!("tongdai: headless; control socket {}", p.display());
    }
    let why = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
        _ = hup.recv() => "SIGHUP",
        _ = h.stopped() => "shutdown request",
    };
    tracing::info!(why, "headless: shutting down");
    h.shutdown().await
}

/// [`try_run`] for `main`: errors go to stderr, the result is the exit code.
pub async fn run(backend: Box<dyn Backend>, opts: HeadlessOptions) -> ExitCode {
    match try_run(backend, opts).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tongdai: {e}");
            e.exit_code()
        }
    }
}
