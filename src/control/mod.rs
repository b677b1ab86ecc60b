//! The control socket: the engine contract on a local socket, so a CRM can
//! click-to-dial, a wallboard can watch, and a tester can drive a console
//! without a screen (issue 8).
//!
//! ```text
//!  tongdai ctl / CRM / script ──Unix socket (0600, same uid)──┐
//!  wallboard ──TCP + token (off by default, loopback)──────────┤
//!                                                              ▼
//!                          control::Server ──Command──▶ engine ──Event──▶ broadcast
//!                          (one task per session)  ◀──────────────────────────┘
//!                                                        (status snapshot, subscribers)
//! ```
//!
//! - [`protocol`]: the v1 wire format (pure).
//! - [`status`]: the `status` snapshot built from events (pure).
//! - [`hub`]: the fan-out the engine's events go through (status first).
//! - [`server`]: the listeners and sessions.
//! - [`client`]: what `tongdai ctl …` uses.
//! - [`headless`]: the engine with no TUI, controlled only through the socket.

pub mod client;
pub mod headless;
pub mod hub;
pub mod protocol;
pub mod server;
pub mod status;

use std::path::{Path, PathBuf};

pub use hub::EventHub;
pub use server::{Server, ServerError, ServerHandle, ServerOptions, TcpOptions};

/// The directory for control sockets: `$XDG_RUNTIME_DIR/tongdai`, else
/// `<state dir>/sockets` (`$XDG_STATE_HOME/tongdai` or `~/.local/state/tongdai`).
pub fn socket_dir() -> Option<PathBuf> {
    if let Some(rt) = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        let rt = PathBuf::from(rt);
        if rt.is_absolute() {
            return Some(rt.join("tongdai"));
        }
    }
    directories::ProjectDirs::from("", "", "tongdai")
        .and_then(|d| d.state_dir().map(|s| s.join("sockets")))
}

/// Is `name` usable as a socket name (`<name>.sock`)?
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// `<socket_dir>/<name>.sock`.
pub fn socket_path(name: &str) -> Result<PathBuf, ServerError> {
    if !valid_name(name) {
        return Err(ServerError::BadName(name.to_string()));
    }
    let dir = socket_dir().ok_or(ServerError::NoSocketDir)?;
    Ok(dir.join(format!("{name}.sock")))
}

/// Where a console listens: a name in [`socket_dir`], or an explicit path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketPlace {
    Named(String),
    Path(PathBuf),
}

impl SocketPlace {
    pub fn resolve(&self) -> Result<PathBuf, ServerError> {
        match self {
            SocketPlace::Named(n) => socket_path(n),
            SocketPlace::Path(p) => Ok(p.clone()),
        }
    }
}

/// Is something accepting connections on this socket path?
pub fn is_live(path: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(path).is_ok()
}
