//! Listening for SIP over TLS (RFC 3261 §26.2.1, RFC 5630): a TLS account
//! with `tls_cert_file` and `tls_key_file` takes TLS connections on its
//! bound address and port, as a TCP account takes TCP ones. A trunk with
//! `register = false` has no connection of ours to send its calls down,
//! so without a listener it could not reach us at all.

use std::net::SocketAddr;

use rsipstack::transport::tls::{TlsConfig, TlsListenerConnection};

use super::UaError;
use crate::sip::{SipConfig, Transport};

/// The server side's TLS config, when this account listens for TLS: the
/// certificate chain and key read now (a bad file is an error at start,
/// naming it), and the CA bundle the client side already trusts.
pub(super) fn server_config(
    cfg: &SipConfig,
    ca: Option<&[u8]>,
) -> Result<Option<TlsConfig>, UaError> {
    if cfg.transport != Transport::Tls {
        return Ok(None);
    }
    let (cert, key) = match (&cfg.tls_cert_file, &cfg.tls_key_file) {
        (None, None) => return Ok(None),
        (Some(c), Some(k)) => (c, k),
        _ => {
            return Err(UaError::TlsServer {
                path: "sip.tls_cert_file / sip.tls_key_file".into(),
                reason: "set both, the certificate and its key".into(),
            });
        }
    };
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|e| UaError::TlsServer {
            path: p.display().to_string(),
            reason: e.to_string(),
        })
    };
    Ok(Some(TlsConfig {
        cert: Some(read(cert)?),
        key: Some(read(key)?),
        ca_certs: ca.map(<[u8]>::to_vec),
        ..Default::default()
    }))
}

/// The listener on `addr` (the UDP socket's address and port).
pub(super) async fn listener(
    addr: SocketAddr,
    tls: TlsConfig,
) -> Result<TlsListenerConnection, UaError> {
    TlsListenerConnection::new(addr, None, tls)
        .await
        .map_err(|e| UaError::Stack(e.to_string()))
}
