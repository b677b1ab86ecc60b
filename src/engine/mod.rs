//! The engine: the only place with sockets, clocks and audio devices.
//!
//! The console talks to it through [`EngineHandle`] (a bounded command
//! sender) and hears back on an unbounded [`Event`] channel: the engine never
//! awaits the UI. Each backend (`sip`, `vcc`, `demo`) runs as one task that
//! owns its sockets and drives the sans-IO cores in `call/`.
//!
//! Shutdown has three steps (STYLE.md §3): *decide* (a `Shutdown` command or
//! a signal), *tell* (the backend hangs up, un-REGISTERs and hands the device
//! type back), *wait with a deadline* (after which the task is aborted so
//! the terminal is restored no matter what the network does).

pub mod command;
pub mod event;
pub mod notice;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use command::{Command, Device, TransferTarget};
pub use event::{
    AgentInfo, Availability, Direction, EndReason, Event, HistoryNotice, Notice, RegState, RingInfo,
};
pub use notice::{Info, InitFailure, InitStep, NotNow, TransferDetail};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How many commands may wait for the engine. Keys arrive at human speed; a
/// full queue means the engine is stuck, and the console says so.
pub const COMMAND_QUEUE: usize = 64;

/// Events flowing up to the console (or a headless controller).
#[derive(Clone, Debug)]
pub struct EventSink {
    tx: mpsc::UnboundedSender<Event>,
}

impl EventSink {
    pub fn new(tx: mpsc::UnboundedSender<Event>) -> Self {
        Self { tx }
    }

    /// Send an event; a console that went away is not an engine error.
    pub fn emit(&self, event: Event) {
        let _ = self.tx.send(event);
    }
}

/// A backend owns the control plane and voice leg of one account.
///
/// `run` returns when it has handled `Command::Shutdown` (or the command
/// channel closed): by then calls are ended, registrations removed and the
/// device handed back.
pub trait Backend: Send + 'static {
    fn run(
        self: Box<Self>,
        commands: mpsc::Receiver<Command>,
        events: EventSink,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// Why sending a command failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    #[error("the engine is busy (command queue full)")]
    Full,
    #[error("the engine has stopped")]
    Closed,
}

/// The console's side of the engine.
pub struct EngineHandle {
    commands: mpsc::Sender<Command>,
    task: Option<JoinHandle<()>>,
}

impl EngineHandle {
    /// Queue a command without waiting (the console never blocks on the engine).
    pub fn send(&self, command: Command) -> Result<(), SendError> {
        self.commands.try_send(command).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SendError::Full,
            mpsc::error::TrySendError::Closed(_) => SendError::Closed,
        })
    }

    /// A cloneable sender, for a control socket that speaks for the console.
    pub fn sender(&self) -> mpsc::Sender<Command> {
        self.commands.clone()
    }

    /// Orderly shutdown: tell the backend, then wait up to `deadline`.
    /// Returns true when the backend finished in time.
    pub async fn shutdown(mut self, deadline: Duration) -> bool {
        // Tell. A full queue still gets the shutdown after the wait below
        // (we retry by awaiting the send within the deadline).
        let sent = tokio::time::timeout(deadline, self.commands.send(Command::Shutdown)).await;
        let Some(task) = self.task.take() else {
            return true;
        };
        if sent.is_err() {
            task.abort();
            return false;
        }
        // Wait with a deadline.
        let abort = task.abort_handle();
        match tokio::time::timeout(deadline, task).await {
            Ok(_) => true,
            Err(_) => {
                tracing::warn!(?deadline, "engine did not stop in time; aborting it");
                abort.abort();
                false
            }
        }
    }
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Start a backend on the current tokio runtime.
pub fn spawn(backend: Box<dyn Backend>) -> (EngineHandle, mpsc::UnboundedReceiver<Event>) {
    let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_QUEUE);
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let sink = EventSink::new(ev_tx);
    let task = tokio::spawn(async move {
        backend.run(cmd_rx, sink.clone()).await;
        sink.emit(Event::ShutdownComplete);
    });
    (
        EngineHandle {
            commands: cmd_tx,
            task: Some(task),
        },
        ev_rx,
    )
}
