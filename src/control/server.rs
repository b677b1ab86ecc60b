//! The control server: a Unix socket for the console's own user, and an
//! optional TCP listener for a wallboard.
//!
//! Security, in order of the checks:
//! 1. the socket directory is 0700 and ours (a directory owned by someone
//!    else is refused, one too open is tightened), the socket is 0600;
//! 2. each Unix connection's peer uid (SO_PEERCRED) must be ours: anyone
//!    else gets `{"error":{"code":"forbidden"}}` and is closed;
//! 3. TCP is off unless configured, loopback unless `allow_remote`, every
//!    session must `auth` with the token first (compared in constant time),
//!    and it is read-only (`status`, `subscribe`) unless `allow_commands`.
//!
//! A socket file left by a crash is detected (nobody accepts on it) and
//! replaced; a live one is left alone and reported. On shutdown the socket
//! file is removed, but only if it is still the one this server bound.

use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc};

use super::hub::EventHub;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::protocol::{self, ErrorCode, MAX_LINE, Op, ProtoError, Toggle};
use crate::engine::{Command, Event};
use crate::secret::Secret;

/// Longest Unix socket path (`sun_path` is 108 bytes with its NUL).
const MAX_SOCKET_PATH: usize = 107;
/// How long a command may wait for room in the engine's queue.
const SEND_WAIT: Duration = Duration::from_secs(2);
/// Concurrent TCP sessions at most.
const MAX_TCP_SESSIONS: usize = 32;
/// A TCP client must authenticate within this time.
const AUTH_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(
        "no directory for the control socket: set XDG_RUNTIME_DIR (or HOME for the state directory)"
    )]
    NoSocketDir,
    #[error(
        "{0:?} is not a usable console name for the control socket (letters, digits, '.', '_' and '-'; at most 64)"
    )]
    BadName(String),
    #[error("cannot prepare the socket directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the socket directory {path} belongs to another user (uid {owner}); refusing to use it"
    )]
    NotOwned { path: PathBuf, owner: u32 },
    #[error(
        "another tongdai console is already listening on {path}; stop it, or give this one another name or --socket"
    )]
    InUse { path: PathBuf },
    #[error("{path} exists and is not a socket; refusing to replace it")]
    NotASocket { path: PathBuf },
    #[error(
        "the socket path {path} is too long for a Unix socket (at most {MAX_SOCKET_PATH} bytes)"
    )]
    PathTooLong { path: PathBuf },
    #[error("cannot listen on {path}: {source}")]
    Bind {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the wallboard listener {addr} is not a loopback address; set allow_remote to listen there on purpose"
    )]
    NotLoopback { addr: SocketAddr },
    #[error("the wallboard token is too short (at least 16 characters)")]
    WeakToken,
    #[error("cannot listen for the wallboard on {addr}: {source}")]
    TcpBind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The optional TCP listener for a wallboard on another host.
#[derive(Debug, Clone)]
pub struct TcpOptions {
    pub listen: SocketAddr,
    /// Every session must send `{"cmd":"auth","token":"…"}` first.
    pub token: Secret,
    /// Listen on a non-loopback address. Off: such an address is refused.
    pub allow_remote: bool,
    /// Accept commands too, not only `status` and `subscribe`.
    pub allow_commands: bool,
}

impl TcpOptions {
    /// Loopback-only, read-only, with this token.
    pub fn new(listen: SocketAddr, token: Secret) -> Self {
        Self {
            listen,
            token,
            allow_remote: false,
            allow_commands: false,
        }
    }

    fn check(&self) -> Result<(), ServerError> {
        if !self.listen.ip().is_loopback() && !self.allow_remote {
            return Err(ServerError::NotLoopback { addr: self.listen });
        }
        if self.token.expose().chars().count() < 16 {
            return Err(ServerError::WeakToken);
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub socket: PathBuf,
    pub tcp: Option<TcpOptions>,
}

impl ServerOptions {
    pub fn unix(socket: impl Into<PathBuf>) -> Self {
        Self {
            socket: socket.into(),
            tcp: None,
        }
    }
}

struct Ctx {
    commands: mpsc::Sender<Command>,
    hub: EventHub,
    uid: u32,
}

/// Starts servers.
pub struct Server;

impl Server {
    /// Listen on the Unix socket `socket_path`, sending commands to the
    /// engine and streaming the events published on `hub` to subscribers.
    pub async fn start(
        socket_path: &Path,
        commands: mpsc::Sender<Command>,
        hub: EventHub,
    ) -> Result<ServerHandle, ServerError> {
        Self::start_with(ServerOptions::unix(socket_path), commands, hub).await
    }

    pub async fn start_with(
        opts: ServerOptions,
        commands: mpsc::Sender<Command>,
        hub: EventHub,
    ) -> Result<ServerHandle, ServerError> {
        if let Some(t) = &opts.tcp {
            t.check()?;
        }
        let uid = nix::unistd::geteuid().as_raw();
        let path = opts.socket.clone();
        if path.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(ServerError::PathTooLong { path });
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            prepare_dir(dir, uid)?;
        }
        clear_stale(&path)?;
        let listener = UnixListener::bind(&path).map_err(|source| ServerError::Bind {
            path: path.clone(),
            source,
        })?;
        let meta = std::fs::metadata(&path)
            .and_then(|m| {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
                Ok(m)
            })
            .map_err(|source| ServerError::Bind {
                path: path.clone(),
                source,
            })?;
        let identity = (meta.dev(), meta.ino());

        let tcp = match &opts.tcp {
            Some(t) => {
                let l =
                    TcpListener::bind(t.listen)
                        .await
                        .map_err(|source| ServerError::TcpBind {
                            addr: t.listen,
                            source,
                        })?;
                let addr = l.local_addr().map_err(|source| ServerError::TcpBind {
                    addr: t.listen,
                    source,
                })?;
                Some((l, addr, t.clone()))
            }
            None => None,
        };

        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let ctx = Arc::new(Ctx {
            commands,
            hub: hub.clone(),
            uid,
        });

        {
            let (cancel, ctx, t2) = (cancel.clone(), ctx.clone(), tracker.clone());
            tracker.spawn(async move {
                loop {
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        r = listener.accept() => match r {
                            Ok((stream, _)) => {
                                t2.spawn(unix_session(stream, ctx.clone(), cancel.child_token()));
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "control socket accept failed");
                                tokio::time::sleep(Duration::from_millis(100)).await;
                            }
                        }
                    }
                }
            });
        }

        let tcp_addr = tcp.as_ref().map(|(_, a, _)| *a);
        if let Some((l, addr, t)) = tcp {
            let (cancel, ctx, t2) = (cancel.clone(), ctx.clone(), tracker.clone());
            let active = Arc::new(AtomicUsize::new(0));
            let token = Arc::new(t.token.clone());
            let allow_commands = t.allow_commands;
            tracing::info!(%addr, allow_commands, "wallboard listener on");
            tracker.spawn(async move {
                loop {
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        r = l.accept() => match r {
                            Ok((stream, peer)) => {
                                if active.load(Ordering::SeqCst) >= MAX_TCP_SESSIONS {
                                    tracing::warn!(%peer, "wallboard: too many sessions; refused");
                                    continue;
                                }
                                active.fetch_add(1, Ordering::SeqCst);
                                let (r, w) = stream.into_split();
                                let kind = Kind::Tcp { token: token.clone(), allow_commands };
                                let (ctx, cancel, active) = (ctx.clone(), cancel.child_token(), active.clone());
                                t2.spawn(async move {
                                    session(r, w, ctx, kind, cancel).await;
                                    active.fetch_sub(1, Ordering::SeqCst);
                                });
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "wallboard accept failed");
                                tokio::time::sleep(Duration::from_millis(100)).await;
                            }
                        }
                    }
                }
            });
        }
        tracing::info!(path = %path.display(), "control socket listening");
        Ok(ServerHandle {
            path,
            identity,
            tcp_addr,
            cancel,
            tracker,
            hub,
        })
    }
}

/// A running server. Dropping it stops it too (without waiting).
pub struct ServerHandle {
    path: PathBuf,
    identity: (u64, u64),
    tcp_addr: Option<SocketAddr>,
    cancel: CancellationToken,
    tracker: TaskTracker,
    hub: EventHub,
}

impl ServerHandle {
    pub fn socket_path(&self) -> &Path {
        &self.path
    }

    /// Where the wallboard listener is bound (the real port when 0 was asked).
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp_addr
    }

    /// The snapshot `status` would answer now.
    pub fn status(&self) -> Value {
        self.hub.status()
    }

    /// Stop accepting, let sessions flush the events already broadcast,
    /// close them, remove the socket file.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tracker.close();
        if tokio::time::timeout(Duration::from_secs(2), self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("control sessions did not close in time");
        }
        // Drop removes the file.
    }

    fn remove_socket(&self) {
        // Only our own socket: a newer console may have replaced it.
        if let Ok(m) = std::fs::symlink_metadata(&self.path)
            && (m.dev(), m.ino()) == self.identity
        {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
        self.remove_socket();
    }
}

/// Make `dir` (0700, ours); tighten it if it is ours but open to others.
fn prepare_dir(dir: &Path, uid: u32) -> Result<(), ServerError> {
    let err = |source| ServerError::Dir {
        path: dir.to_path_buf(),
        source,
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(err)?;
    }
    let meta = std::fs::metadata(dir).map_err(err)?;
    if !meta.is_dir() {
        return Err(err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            "not a directory",
        )));
    }
    if meta.uid() != uid {
        return Err(ServerError::NotOwned {
            path: dir.to_path_buf(),
            owner: meta.uid(),
        });
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
    }
    Ok(())
}

/// Remove a socket nobody listens on; refuse a live one or a non-socket.
fn clear_stale(path: &Path) -> Result<(), ServerError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            if super::is_live(path) {
                return Err(ServerError::InUse {
                    path: path.to_path_buf(),
                });
            }
            tracing::info!(path = %path.display(), "replacing a stale control socket");
            std::fs::remove_file(path).map_err(|source| ServerError::Bind {
                path: path.to_path_buf(),
                source,
            })
        }
        Ok(_) => Err(ServerError::NotASocket {
            path: path.to_path_buf(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ServerError::Bind {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[derive(Clone)]
enum Kind {
    Unix,
    Tcp {
        token: Arc<Secret>,
        allow_commands: bool,
    },
}

async fn unix_session(stream: UnixStream, ctx: Arc<Ctx>, cancel: CancellationToken) {
    let peer = stream.peer_cred().map(|c| c.uid());
    if peer.as_ref().ok() != Some(&ctx.uid) {
        tracing::warn!(peer_uid = ?peer.as_ref().ok(), "control socket: another user was refused");
        let (_, mut w) = stream.into_split();
        let e = ProtoError::new(
            ErrorCode::Forbidden,
            "this console belongs to another user; connection refused",
        );
        let _ = write_json(&mut w, &protocol::error(&Value::Null, &e)).await;
        let _ = w.shutdown().await;
        return;
    }
    let (r, w) = stream.into_split();
    session(r, w, ctx, Kind::Unix, cancel).await;
}

enum LineIn {
    Line(String),
    TooLong,
}

/// Read lines of at most [`MAX_LINE`] bytes; a longer one is skipped and reported.
async fn read_lines<R: AsyncRead + Unpin>(r: R, tx: mpsc::Sender<LineIn>) {
    let mut r = BufReader::new(r);
    let mut buf = Vec::with_capacity(256);
    loop {
        buf.clear();
        let n = match (&mut r)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .await
        {
            Ok(n) => n,
            Err(_) => return,
        };
        if n == 0 {
            return;
        }
        let complete = buf.last() == Some(&b'\n');
        if complete {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        } else if buf.len() > MAX_LINE {
            if tx.send(LineIn::TooLong).await.is_err() {
                return;
            }
            // Skip the rest of that line.
            loop {
                buf.clear();
                match (&mut r)
                    .take(MAX_LINE as u64)
                    .read_until(b'\n', &mut buf)
                    .await
                {
                    Ok(0) | Err(_) => return,
                    Ok(_) if buf.last() == Some(&b'\n') => break,
                    Ok(_) => {}
                }
            }
            continue;
        }
        let line = String::from_utf8_lossy(&buf).trim().to_string();
        if !line.is_empty() && tx.send(LineIn::Line(line)).await.is_err() {
            return;
        }
        if !complete {
            return; // EOF without a final newline
        }
    }
}

async fn write_json<W: AsyncWrite + Unpin>(w: &mut W, v: &Value) -> std::io::Result<()> {
    let mut s = v.to_string();
    s.push('\n');
    w.write_all(s.as_bytes()).await?;
    w.flush().await
}

struct Sub {
    rx: broadcast::Receiver<Event>,
    only: Option<Vec<String>>,
}

impl Sub {
    fn wants(&self, e: &Event) -> bool {
        match &self.only {
            None => true,
            Some(names) => {
                let n = protocol::event_name(e);
                names.iter().any(|x| x == n)
            }
        }
    }
}

enum SubMsg {
    Event(Event),
    Lagged(u64),
    Closed,
}

async fn next_event(sub: &mut Option<Sub>) -> SubMsg {
    match sub {
        None => std::future::pending().await,
        Some(s) => match s.rx.recv().await {
            Ok(e) => SubMsg::Event(e),
            Err(broadcast::error::RecvError::Lagged(n)) => SubMsg::Lagged(n),
            Err(broadcast::error::RecvError::Closed) => SubMsg::Closed,
        },
    }
}

/// What to do after a request.
enum Then {
    Continue,
    Close,
}

async fn session<R, W>(r: R, mut w: W, ctx: Arc<Ctx>, kind: Kind, cancel: CancellationToken)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send,
{
    let (hello, mut authed) = match &kind {
        Kind::Unix => (protocol::hello(), true),
        Kind::Tcp { allow_commands, .. } => (protocol::hello_tcp(!allow_commands), false),
    };
    if write_json(&mut w, &hello).await.is_err() {
        return;
    }
    let (tx, mut lines) = mpsc::channel(16);
    let reader = tokio::spawn(read_lines(r, tx));
    let mut sub: Option<Sub> = None;
    let auth_deadline = tokio::time::sleep(AUTH_WAIT);
    tokio::pin!(auth_deadline);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => {
                // Flush what was broadcast before the stop (shutdown_complete…).
                if let Some(s) = &mut sub {
                    while let Ok(e) = s.rx.try_recv() {
                        if s.wants(&e) && write_json(&mut w, &protocol::event_json(&e)).await.is_err() {
                            break;
                        }
                    }
                }
                break;
            }
            _ = &mut auth_deadline, if !authed => {
                let e = ProtoError::new(ErrorCode::Unauthorized, "no auth in time");
                let _ = write_json(&mut w, &protocol::error(&Value::Null, &e)).await;
                break;
            }
            line = lines.recv() => {
                let Some(line) = line else { break };
                let reply = match line {
                    LineIn::TooLong => {
                        let e = ProtoError::new(ErrorCode::TooLong, format!("a request line is at most {MAX_LINE} bytes"));
                        (protocol::error(&Value::Null, &e), Then::Continue)
                    }
                    LineIn::Line(l) => handle_line(&l, &ctx, &kind, &mut authed, &mut sub).await,
                };
                if write_json(&mut w, &reply.0).await.is_err() {
                    break;
                }
                if let Then::Close = reply.1 {
                    break;
                }
            }
            msg = next_event(&mut sub) => {
                let out = match msg {
                    SubMsg::Event(e) => {
                        if !sub.as_ref().is_some_and(|s| s.wants(&e)) {
                            continue;
                        }
                        protocol::event_json(&e)
                    }
                    SubMsg::Lagged(n) => json!({"event": "lagged", "missed": n}),
                    SubMsg::Closed => {
                        sub = None;
                        json!({"event": "engine_gone"})
                    }
                };
                if write_json(&mut w, &out).await.is_err() {
                    break;
                }
            }
        }
    }
    reader.abort();
    let _ = w.shutdown().await;
}

async fn handle_line(
    line: &str,
    ctx: &Ctx,
    kind: &Kind,
    authed: &mut bool,
    sub: &mut Option<Sub>,
) -> (Value, Then) {
    let req = match protocol::parse_request(line) {
        Ok(r) => r,
        Err((id, e)) => {
            let then = if *authed { Then::Continue } else { Then::Close };
            return (protocol::error(&id, &e), then);
        }
    };
    let id = req.id;
    let none = Map::new;
    tracing::debug!(op = req.op.name(), "control request");
    if let Op::Auth { token } = &req.op {
        return match kind {
            Kind::Unix => (protocol::ok(&id, none()), Then::Continue),
            Kind::Tcp { token: want, .. } => {
                let good: bool = token.as_bytes().ct_eq(want.expose().as_bytes()).into();
                if good {
                    *authed = true;
                    (protocol::ok(&id, none()), Then::Continue)
                } else {
                    tracing::warn!("wallboard: wrong token; closing");
                    // Slow down guessing.
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    let e = ProtoError::new(ErrorCode::Unauthorized, "wrong token");
                    (protocol::error(&id, &e), Then::Close)
                }
            }
        };
    }
    if !*authed {
        let e = ProtoError::new(
            ErrorCode::Unauthorized,
            "send {\"cmd\":\"auth\",\"token\":\"…\"} first",
        );
        return (protocol::error(&id, &e), Then::Close);
    }
    if let Kind::Tcp {
        allow_commands: false,
        ..
    } = kind
        && req.op.is_control()
    {
        let e = ProtoError::new(
            ErrorCode::ReadOnly,
            "this listener only serves status and subscribe",
        );
        return (protocol::error(&id, &e), Then::Continue);
    }
    let result: Result<Map<String, Value>, ProtoError> = match req.op {
        Op::Auth { .. } => Ok(none()),
        Op::Ping => Ok(Map::from_iter([("pong".to_string(), Value::Bool(true))])),
        Op::Status => {
            let snap = ctx.hub.status();
            Ok(Map::from_iter([("status".to_string(), snap)]))
        }
        Op::Subscribe { only } => {
            *sub = Some(Sub {
                rx: ctx.hub.subscribe(),
                only,
            });
            Ok(Map::from_iter([(
                "subscribed".to_string(),
                Value::Bool(true),
            )]))
        }
        Op::Unsubscribe => {
            *sub = None;
            Ok(Map::from_iter([(
                "subscribed".to_string(),
                Value::Bool(false),
            )]))
        }
        Op::Engine(c) => match nothing_to_act_on(&c, &ctx.hub) {
            Some(e) => Err(e),
            None => send(ctx, c).await.map(|_| none()),
        },
        Op::Toggle { what, want } => {
            let (current, cmd) = {
                let st = ctx.hub.lock();
                match what {
                    Toggle::Hold => (st.held(), Command::ToggleHold),
                    Toggle::Mute => (st.muted(), Command::ToggleMute),
                    Toggle::Availability => (st.available(), Command::ToggleAvailability),
                }
            };
            match want {
                Some(w) if current == Some(w) => Ok(Map::from_iter([(
                    "unchanged".to_string(),
                    Value::Bool(true),
                )])),
                _ => send(ctx, cmd).await.map(|_| none()),
            }
        }
    };
    match result {
        Ok(extra) => (protocol::ok(&id, extra), Then::Continue),
        Err(e) => (protocol::error(&id, &e), Then::Continue),
    }
}

/// `answer`, `reject`, `decline` and `end` with no call (as the status has
/// it, updated before any client sees an event) are refused, not answered
/// `ok` for a command the engine would drop.
fn nothing_to_act_on(c: &Command, hub: &EventHub) -> Option<ProtoError> {
    let what = match c {
        Command::Accept => "answer",
        Command::End => "end",
        Command::Reject { decline: false } => "reject",
        Command::Reject { decline: true } => "decline",
        _ => return None,
    };
    if hub.lock().in_call() {
        return None;
    }
    Some(ProtoError::new(
        ErrorCode::NoCall,
        format!("no call to {what}"),
    ))
}

async fn send(ctx: &Ctx, c: Command) -> Result<(), ProtoError> {
    use mpsc::error::SendTimeoutError;
    ctx.commands
        .send_timeout(c, SEND_WAIT)
        .await
        .map_err(|e| match e {
            SendTimeoutError::Timeout(_) => ProtoError::new(
                ErrorCode::EngineBusy,
                "the engine is busy (command queue full)",
            ),
            SendTimeoutError::Closed(_) => {
                ProtoError::new(ErrorCode::EngineStopped, "the engine has stopped")
            }
        })
}
