//! The agent push socket (VCC-PROTOCOL.md §2): a plain WebSocket to
//! `wss://{agent_server_url}/websocket`, one JSON object per text frame.
//!
//! One task owns the socket. Frames out arrive on a channel and are written
//! in order (a close request comes after every frame queued before it, so
//! the exit path's device reset reaches the wire); frames in and the close
//! are reported with the connection's generation, so a late report from an
//! old connection is told apart from the current one.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// What the socket task reports.
#[derive(Debug)]
pub enum PushEvent {
    Frame(String),
    Closed(String),
}

enum Out {
    Text(String),
    Close,
}

/// The console's end of one push connection.
pub struct PushLink {
    out: mpsc::UnboundedSender<Out>,
    task: JoinHandle<()>,
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("cannot open the push socket {url}: {reason}")]
    Open { url: String, reason: String },
    #[error("the push socket {url} did not open within {secs} s")]
    Timeout { url: String, secs: u64 },
}

impl PushLink {
    /// Open `url`; reports go to `events` tagged with `generation`.
    pub async fn open(
        url: &str,
        generation: u64,
        events: mpsc::UnboundedSender<(u64, PushEvent)>,
        timeout: Duration,
    ) -> Result<PushLink, PushError> {
        let (ws, _resp) = tokio::time::timeout(timeout, tokio_tungstenite::connect_async(url))
            .await
            .map_err(|_| PushError::Timeout {
                url: url.to_string(),
                secs: timeout.as_secs(),
            })?
            .map_err(|e| PushError::Open {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        let (out, mut out_rx) = mpsc::unbounded_channel::<Out>();
        let task = tokio::spawn(async move {
            let (mut sink, mut stream) = ws.split();
            let reason = loop {
                tokio::select! {
                    o = out_rx.recv() => match o {
                        Some(Out::Text(t)) => {
                            if let Err(e) = sink.send(Message::text(t)).await {
                                break format!("write failed: {e}");
                            }
                        }
                        Some(Out::Close) | None => {
                            let _ = sink.send(Message::Close(None)).await;
                            let _ = sink.flush().await;
                            // Read until the server's close (bounded), so
                            // every frame we wrote was taken.
                            let _ = tokio::time::timeout(Duration::from_millis(500), async {
                                while let Some(Ok(m)) = stream.next().await {
                                    if m.is_close() {
                                        break;
                                    }
                                }
                            })
                            .await;
                            break "closed by the console".to_string();
                        }
                    },
                    m = stream.next() => match m {
                        Some(Ok(Message::Text(t))) => {
                            let _ = events.send((generation, PushEvent::Frame(t.to_string())));
                        }
                        Some(Ok(Message::Binary(b))) => {
                            if let Ok(t) = String::from_utf8(b.to_vec()) {
                                let _ = events.send((generation, PushEvent::Frame(t)));
                            }
                        }
                        Some(Ok(Message::Close(f))) => {
                            break match f {
                                Some(f) => format!("closed by the server ({} {})", f.code, f.reason),
                                None => "closed by the server".to_string(),
                            };
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => break format!("read failed: {e}"),
                        None => break "the connection ended".to_string(),
                    },
                }
            };
            let _ = events.send((generation, PushEvent::Closed(reason)));
        });
        Ok(PushLink { out, task })
    }

    pub fn send(&self, text: String) {
        let _ = self.out.send(Out::Text(text));
    }

    /// Close after every queued frame is written; wait at most `wait`.
    pub async fn close(self, wait: Duration) {
        let _ = self.out.send(Out::Close);
        let abort = self.task.abort_handle();
        if tokio::time::timeout(wait, self.task).await.is_err() {
            abort.abort();
        }
    }

    /// Close without waiting (the task finishes on its own).
    pub fn close_soon(self) {
        let _ = self.out.send(Out::Close);
    }
}
