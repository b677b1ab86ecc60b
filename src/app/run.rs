//! The loop: one task, `select!` over keys (crossterm's `EventStream`),
//! engine events, signals and a sleep until the clock view next changes
//! (only while a call timer or an offer countdown runs; otherwise the loop
//! sleeps until something happens, so an idle console uses no CPU). A
//! frame is drawn only when the state says something changed, and ratatui
//! writes only the cells that differ from the last frame.

use std::io;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream};
use futures::{FutureExt, StreamExt};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use super::state::{Effect, Level};
use super::terminal::TerminalGuard;
use super::{App, Msg};
use crate::engine::{EngineHandle, Event, SendError};

/// How long the orderly shutdown may take before the engine is aborted.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(3);

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The agent quit.
    Quit,
    /// SIGINT, SIGTERM or SIGHUP.
    Signal(&'static str),
    /// The terminal went away (stdin closed or writes failed).
    TerminalLost,
    /// The engine stopped on its own.
    EngineStopped,
}

/// What feeds the console besides keys: the engine's events as `Msg`s
/// (with the popup's data in between, see `popup_feed`), and where the
/// `Effect`s `update` asks for go.
pub struct Feeds {
    pub msgs: UnboundedReceiver<Msg>,
    pub effects: Option<UnboundedSender<Effect>>,
}

/// Run the console until the agent quits or a signal arrives, then shut
/// the engine down (with [`SHUTDOWN_DEADLINE`]) and restore the terminal.
pub async fn run(
    app: App,
    engine: Option<(EngineHandle, UnboundedReceiver<Event>)>,
) -> io::Result<Exit> {
    match engine {
        Some((h, mut events)) => {
            let (tx, msgs) = mpsc::unbounded_channel();
            tokio::spawn(async move {
                while let Some(e) = events.recv().await {
                    if tx.send(Msg::Engine(e)).is_err() {
                        break;
                    }
                }
            });
            run_with(
                app,
                Some((
                    h,
                    Feeds {
                        msgs,
                        effects: None,
                    },
                )),
            )
            .await
        }
        None => run_with(app, None).await,
    }
}

/// [`run`] with the engine's events already turned into `Msg`s, and an
/// outlet for effects (without one they are dropped, logged).
pub async fn run_with(mut app: App, engine: Option<(EngineHandle, Feeds)>) -> io::Result<Exit> {
    let guard = TerminalGuard::enter()?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    let (handle, feeds) = match engine {
        Some((h, f)) => (Some(h), Some(f)),
        None => (None, None),
    };
    let (events, effects) = match feeds {
        Some(f) => (Some(f.msgs), f.effects),
        None => (None, None),
    };
    let outcome = AssertUnwindSafe(event_loop(
        &mut app,
        &mut terminal,
        handle.as_ref(),
        events,
        effects.as_ref(),
    ))
    .catch_unwind()
    .await;
    if let Ok(Ok(exit)) = &outcome {
        tracing::info!(?exit, "console loop ended");
        if *exit != Exit::TerminalLost && handle.is_some() {
            // Say what is happening while the engine hangs up.
            app.state.set_notice(Level::Info, super::i18n::T::Closing);
            let _ = terminal.draw(|f| app.draw(f));
        }
    }
    if let Some(h) = handle {
        let clean = h.shutdown(SHUTDOWN_DEADLINE).await;
        tracing::info!(clean, "engine shut down");
    }
    drop(terminal);
    drop(guard);
    match outcome {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

async fn event_loop(
    app: &mut App,
    terminal: &mut Terminal<CrosstermBackend<io::Stdout>>,
    handle: Option<&EngineHandle>,
    mut events: Option<UnboundedReceiver<Msg>>,
    effects: Option<&UnboundedSender<Effect>>,
) -> io::Result<Exit> {
    let mut keys = EventStream::new();
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    loop {
        app.update(Msg::Tick(Instant::now()));
        if app.state.quitting {
            return Ok(Exit::Quit);
        }
        if app.state.dirty {
            if let Err(e) = terminal.draw(|f| app.draw(f)) {
                tracing::warn!(error = %e, "cannot draw: the terminal went away");
                return Ok(Exit::TerminalLost);
            }
            app.state.dirty = false;
        }
        let deadline = app.state.next_deadline();
        let sleep = async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        let engine_event = async {
            match events.as_mut() {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        let msg = tokio::select! {
            k = keys.next() => match k {
                Some(Ok(TermEvent::Key(k))) => Some(Msg::Key(k)),
                Some(Ok(TermEvent::Paste(p))) => Some(Msg::Paste(p)),
                Some(Ok(TermEvent::Resize(..))) => {
                    let _ = terminal.autoresize();
                    Some(Msg::Resize)
                }
                Some(Ok(_)) => None,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "terminal input failed");
                    return Ok(Exit::TerminalLost);
                }
                None => return Ok(Exit::TerminalLost),
            },
            ev = engine_event => match ev {
                Some(m) => Some(m),
                None => return Ok(Exit::EngineStopped),
            },
            _ = sleep => None,
            _ = sigint.recv() => return Ok(Exit::Signal("SIGINT")),
            _ = sigterm.recv() => return Ok(Exit::Signal("SIGTERM")),
            _ = sighup.recv() => return Ok(Exit::Signal("SIGHUP")),
        };
        let Some(msg) = msg else { continue };
        app.update(Msg::Tick(Instant::now()));
        dispatch(app, handle, effects, msg);
        // A burst of engine events makes one frame.
        if let Some(rx) = events.as_mut() {
            while let Ok(m) = rx.try_recv() {
                dispatch(app, handle, effects, m);
            }
        }
    }
}

fn dispatch(
    app: &mut App,
    handle: Option<&EngineHandle>,
    effects: Option<&UnboundedSender<Effect>>,
    msg: Msg,
) {
    if let Msg::Engine(ev) = &msg {
        tracing::debug!(?ev, "engine event");
    }
    for cmd in app.update(msg) {
        tracing::debug!(?cmd, "command");
        let Some(h) = handle else { continue };
        if let Err(e) = h.send(cmd) {
            tracing::warn!(error = %e, "command not sent");
            app.update(Msg::EngineUnavailable {
                stopped: e == SendError::Closed,
            });
        }
    }
    // The store's work happens outside `update` (see `popup_feed`).
    for effect in std::mem::take(&mut app.state.effects) {
        match effects {
            Some(tx) if tx.send(effect.clone()).is_ok() => {}
            _ => tracing::warn!(?effect, "no one to do this"),
        }
    }
}
