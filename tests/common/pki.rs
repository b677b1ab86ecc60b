//! A throw-away PKI for TLS tests, made with `openssl`: a test CA, a server
//! certificate it signs for one IP address, a self-signed certificate for
//! the same address (what a verifying client must refuse), and Kamailio
//! tls-module files for either.

use std::path::{Path, PathBuf};
use std::process::Command;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub struct Pki {
    pub dir: PathBuf,
    /// The test CA (what the console's `ca_file` names).
    pub ca: PathBuf,
    /// Kamailio tls.cfg with the CA-signed certificate.
    pub signed_cfg: PathBuf,
    /// Kamailio tls.cfg with the self-signed certificate.
    pub self_signed_cfg: PathBuf,
    /// base64 SHA-256 of the server key's SPKI (Chromium's
    /// `--ignore-certificate-errors-spki-list`: the browser trusts that key
    /// only, as a pinned certificate).
    pub spki_sha256: String,
}

fn tls_cfg(path: &Path, cert: &Path, key: &Path) {
    std::fs::write(
        path,
        format!(
            "[server:default]\nmethod = TLSv1.2+\ncertificate = {}\nprivate_key = {}\nverify_certificate = no\nrequire_certificate = no\n\n[client:default]\nverify_certificate = no\nrequire_certificate = no\n",
            cert.display(),
            key.display()
        ),
    )
    .expect("tls.cfg");
}

/// Make the PKI in `dir` for a server at IP `ip`.
pub fn make(dir: &Path, ip: &str) -> Pki {
    std::fs::create_dir_all(dir).expect("pki dir");
    let days = ["-days", "2"];
    openssl(
        dir,
        &[
            &["req", "-x509", "-newkey", "rsa:2048", "-nodes"][..],
            &["-keyout", "ca.key", "-out", "ca.pem"],
            &days,
            &["-subj", "/CN=tongdai test CA"],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            &format!("/CN={ip}"),
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        format!("subjectAltName=IP:{ip}\nbasicConstraints=CA:FALSE\n"),
    )
    .expect("ext");
    openssl(
        dir,
        &[
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
            ][..],
            &[
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-extfile",
                "ext.cnf",
            ],
            &days,
        ]
        .concat(),
    );
    // The same name and key, signed by nobody but itself.
    openssl(
        dir,
        &[
            &["req", "-x509", "-key", "server.key", "-out", "self.pem"][..],
            &[
                "-subj",
                &format!("/CN={ip}"),
                "-addext",
                &format!("subjectAltName=IP:{ip}"),
            ],
            &days,
        ]
        .concat(),
    );
    let signed_cfg = dir.join("tls-signed.cfg");
    tls_cfg(
        &signed_cfg,
        &dir.join("server.pem"),
        &dir.join("server.key"),
    );
    let self_signed_cfg = dir.join("tls-self.cfg");
    tls_cfg(
        &self_signed_cfg,
        &dir.join("self.pem"),
        &dir.join("server.key"),
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg("openssl pkey -in server.key -pubout -outform der | openssl dgst -sha256 -binary | base64")
        .current_dir(dir)
        .output()
        .expect("spki hash");
    assert!(out.status.success(), "spki hash");
    Pki {
        dir: dir.to_path_buf(),
        ca: dir.join("ca.pem"),
        signed_cfg,
        self_signed_cfg,
        spki_sha256: String::from_utf8_lossy(&out.stdout).trim().to_string(),
    }
}
