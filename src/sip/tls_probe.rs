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

/// A rustls client config that trusts exactly the PEM bundle `ca_pem`
/// (also the WSS dialer's, `sip::ua::wss`). `Err` says why not.
pub fn client_config(ca_pem: &[u8]) -> Result<rustls::ClientConfig, String> {
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
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Connect to `host:port` and complete a TLS handshake verified against
/// the PEM bundle `ca_pem`. `Err` says why, in words an admin can act on.
pub async fn probe(host: &str, port: u16, ca_pem: &[u8], timeout: Duration) -> Result<(), String> {
    let config = client_config(ca_pem)?;
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
            .map_err(|e| format!("TLS with {host}:{port} failed: {}", explain(&e.to_string())))
    };
    tokio::time::timeout(timeout, connect)
        .await
        .map_err(|_| format!("TLS with {host}:{port}: no answer in {timeout:?}"))?
}

/// A handshake error in words an admin can act on, the library's own
/// words kept after them (rustls names the certificate problem in Debug
/// form: `invalid peer certificate: UnknownIssuer`).
pub fn explain(err: &str) -> String {
    let why = if err.contains("CaUsedAsEndEntity") || err.contains("SelfSigned") {
        "the server's certificate is self-signed (not issued by a CA we trust)"
    } else if err.contains("UnknownIssuer") {
        "the server's certificate is issued by a CA we do not trust (set ca_file to that CA)"
    } else if err.contains("NotValidForName") {
        "the server's certificate is for another name than the server address"
    } else if err.contains("Expired") {
        "the server's certificate has expired"
    } else if err.contains("NotValidYet") {
        "the server's certificate is not valid yet (check the clock)"
    } else if err.contains("Revoked") {
        "the server's certificate is revoked"
    } else {
        return err.to_string();
    };
    format!("{why} ({err})")
}

#[cfg(test)]
mod tests {
    use super::explain;

    #[test]
    fn certificate_problems_are_named() {
        let e = explain("IO error: invalid peer certificate: UnknownIssuer");
        assert!(e.starts_with("the server's certificate is issued by a CA we do not trust"));
        assert!(e.ends_with("(IO error: invalid peer certificate: UnknownIssuer)"));
        assert!(
            explain("invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))")
                .contains("self-signed")
        );
        assert!(explain("invalid peer certificate: NotValidForName").contains("another name"));
        assert_eq!(explain("connection refused"), "connection refused");
    }
}
