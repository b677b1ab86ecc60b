//! SIP over secure WebSocket (RFC 7118) with the server's certificate
//! verified against our CA bundle (`[sip] ca_file`, else the system's).
//!
//! rsipstack dials `wss://` itself through tokio-tungstenite's default
//! connector, which trusts only the built-in web roots and never sees the
//! bundle we hand the stack for TLS: a PBX signed by a company CA could not
//! be reached, and a refused certificate surfaced as a transaction timeout.
//! So the UA dials the WebSocket itself, before each REGISTER while no
//! connection of ours is up, with a verifying rustls config, and gives the
//! stream to the transport layer (which then serves it as its own). A
//! refused handshake is the registration's failure reason, in words.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rsipstack::transport::SipConnection;
use rsipstack::transport::websocket::{WebSocketConnection, WebSocketInner};
use tokio_tungstenite::Connector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_util::sync::CancellationToken;

use super::SipUa;

/// How long the TCP connect, TLS handshake and WebSocket upgrade may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(5);

/// The connection we dialled (its token is cancelled when the stack
/// retires it or the UA stops).
#[derive(Default)]
pub(super) struct WssLink {
    current: Mutex<Option<CancellationToken>>,
}

impl SipUa {
    /// WSS accounts: make sure a verified connection to the server is up
    /// (dial one if not). `Err` says why not, e.g. the certificate.
    pub(super) async fn wss_ensure(&self) -> Result<(), String> {
        if self.inner.cfg.transport != crate::sip::Transport::Wss {
            return Ok(());
        }
        let up = self
            .inner
            .wss
            .current
            .lock()
            .expect("wss lock")
            .as_ref()
            .is_some_and(|t| !t.is_cancelled());
        if up {
            return Ok(());
        }
        let Some(ca) = self.inner.tls_ca.as_ref() else {
            return Err("no CA bundle for wss".into());
        };
        let token = self.inner.cancel.child_token();
        let conn = tokio::time::timeout(DIAL_TIMEOUT, self.wss_dial(ca, token.clone()))
            .await
            .map_err(|_| format!("wss {}: no answer in {DIAL_TIMEOUT:?}", self.wss_url()))??;
        self.inner.endpoint.transport_layer.add_connection(conn);
        *self.inner.wss.current.lock().expect("wss lock") = Some(token);
        Ok(())
    }

    /// `wss://host:port/path` of the server (as `ws_url` or `server` give it).
    fn wss_url(&self) -> String {
        let hp = &self.inner.server.addr;
        format!("wss://{hp}{}", self.inner.ws_path.as_deref().unwrap_or("/"))
    }

    async fn wss_dial(&self, ca: &[u8], token: CancellationToken) -> Result<SipConnection, String> {
        let url = self.wss_url();
        let config = crate::sip::tls_probe::client_config(ca)?;
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| format!("{url}: {e}"))?;
        // RFC 7118 §4.1: the `sip` WebSocket sub-protocol.
        request.headers_mut().insert(
            "sec-websocket-protocol",
            tokio_tungstenite::tungstenite::http::HeaderValue::from_static("sip"),
        );
        let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(
            request,
            None,
            false,
            Some(Connector::Rustls(Arc::new(config))),
        )
        .await
        .map_err(|e| {
            let e = crate::sip::tls_probe::explain(&e.to_string());
            format!("{url}: {e}")
        })?;
        let local = match ws.get_ref() {
            tokio_tungstenite::MaybeTlsStream::Rustls(s) => s.get_ref().0.local_addr(),
            tokio_tungstenite::MaybeTlsStream::Plain(s) => s.local_addr(),
            _ => return Err(format!("{url}: unexpected stream")),
        }
        .map_err(|e| e.to_string())?;
        let (sink, read) = futures::StreamExt::split(ws);
        let remote = self.inner.server.clone();
        Ok(SipConnection::WebSocket(WebSocketConnection {
            inner: Arc::new(WebSocketInner {
                local_addr: rsipstack::transport::SipAddr {
                    r#type: remote.r#type,
                    addr: local.into(),
                },
                remote_addr: remote,
                ws_sink: tokio::sync::Mutex::new(sink),
                ws_read: tokio::sync::Mutex::new(Some(read)),
            }),
            cancel_token: Some(token),
        }))
    }
}
