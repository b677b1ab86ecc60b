//! A TLS handshake with the SIP server before registering, so a certificate
//! the console does not trust is reported as exactly that. rsipstack retries
//! a failed TLS connect silently until the transaction times out (32 s,
//! RFC 3261 Timer F) and then only says "timeout".

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Connect to `host:port` and complete a TLS handshake verified against
/// the PEM bundle `ca_pem`. `Err` says why, in words an admin can act on.
pub async fn probe(host: &str, port: u16, ca_pem: &[u8], timeout: Duration) -> Result<(), String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        let cert = cert.map_err(|e| format!("the CA bundle is not PEM: {e}"))?;
        // A bundle may hold certificates rustls cannot use; skip those.
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        return Err("the CA bundle holds no usable certificate".into());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| format!("`{host}` is not a valid TLS server name"))?;
    let connect = async {
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map(|_| ())
            .map_err(|e| format!("TLS with {host}:{port} failed: {e}"))
    };
    tokio::time::timeout(timeout, connect)
        .await
        .map_err(|_| format!("TLS with {host}:{port}: no answer in {timeout:?}"))?
}
