//! The CRM lookup against a local HTTP server started by each test: slow
//! (timeout), failing (500), malformed JSON, not found, success with the
//! mapping, the shift cache; and the token in no error text or Debug output.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tongdai::crm::{Crm, CrmConfig, CrmError, CrmMapping, NumberFormat};
use tongdai::secret::Secret;

const TOKEN: &str = "tok-SEKRIT-7f3a9c";

#[derive(Clone)]
enum Reply {
    /// Answer after this long.
    Slow(Duration),
    Status(u16, &'static str),
    Json(&'static str),
}

struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

async fn serve(reply: Reply) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf).into_owned());
                let (status, body) = match reply {
                    Reply::Slow(d) => {
                        tokio::time::sleep(d).await;
                        (200, "{\"name\":\"late\"}")
                    }
                    Reply::Status(s, b) => (s, b),
                    Reply::Json(b) => (200, b),
                };
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(body.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    Server { addr, requests }
}

fn config(addr: SocketAddr) -> CrmConfig {
    let mut headers = BTreeMap::new();
    headers.insert("X-Tenant".to_string(), "acme".to_string());
    CrmConfig {
        url: format!("http://{addr}/customers?phone={{number}}"),
        headers,
        token_env: "TONGDAI_TEST_CRM_TOKEN_UNSET".into(),
        token_file: None,
        timeout_ms: 1500,
        number_format: NumberFormat::National,
        mapping: CrmMapping {
            name: "/data/0/full_name".into(),
            company: "/data/0/org/name".into(),
            tags: "/data/0/labels".into(),
            notes: "/data/0/notes".into(),
        },
    }
}

fn crm(cfg: CrmConfig) -> Crm {
    Crm::with_token(cfg, Some(Secret::new(TOKEN))).unwrap()
}

fn assert_no_token(what: &str, text: &str) {
    assert!(!text.contains(TOKEN), "{what} leaks the token: {text}");
    assert!(!text.contains("SEKRIT"), "{what} leaks the token: {text}");
}

fn check_error_text(e: &CrmError) {
    assert_no_token("Display", &e.to_string());
    assert_no_token("Debug", &format!("{e:?}"));
    assert!(e.to_string().starts_with("CRM unavailable: "), "{e}");
}

#[tokio::test]
async fn success_maps_the_fields_sends_the_token_and_caches_for_the_shift() {
    let server = serve(Reply::Json(
        r#"{"data":[{"full_name":"Nguyễn Văn An","org":{"name":"ACME"},
            "labels":["vip","hanoi"],"notes":"Calls in the morning","id":7}]}"#,
    ))
    .await;
    let crm = crm(config(server.addr));
    assert_no_token("Crm Debug", &format!("{crm:?}"));
    let r = crm.lookup("+84 912 345 678").await.unwrap().unwrap();
    assert_eq!(r.name.as_deref(), Some("Nguyễn Văn An"));
    assert_eq!(r.company.as_deref(), Some("ACME"));
    assert_eq!(r.tags, vec!["vip", "hanoi"]);
    assert_eq!(r.notes.as_deref(), Some("Calls in the morning"));

    let reqs = server.requests.lock().unwrap().clone();
    assert_eq!(reqs.len(), 1);
    let req = reqs[0].to_ascii_lowercase();
    assert!(
        reqs[0].starts_with("GET /customers?phone=0912345678 HTTP/1.1\r\n"),
        "{}",
        reqs[0]
    );
    assert!(req.contains(&format!(
        "authorization: bearer {}",
        TOKEN.to_ascii_lowercase()
    )));
    assert!(req.contains("x-tenant: acme"));
    assert!(req.contains("accept: application/json"));

    // Any form of the number is the same customer: served from the cache.
    let again = crm.lookup("0912345678").await.unwrap().unwrap();
    assert_eq!(again, r);
    assert_eq!(crm.cached("84912345678"), Some(Some(r)));
    assert_eq!(server.requests.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn slow_crm_times_out_quickly_and_is_asked_again_next_time() {
    let server = serve(Reply::Slow(Duration::from_secs(5))).await;
    let mut cfg = config(server.addr);
    cfg.timeout_ms = 200;
    let crm = crm(cfg);
    let started = Instant::now();
    let e = crm.lookup("0912345678").await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(e, CrmError::Timeout { timeout_ms: 200 });
    assert_eq!(e.to_string(), "CRM unavailable: no answer within 200 ms");
    check_error_text(&e);
    // Errors are not cached.
    assert_eq!(crm.cached("0912345678"), None);
    let _ = crm.lookup("0912345678").await.unwrap_err();
    assert_eq!(server.requests.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn server_error_is_typed_with_its_status() {
    let server = serve(Reply::Status(500, "{\"error\":\"db down\"}")).await;
    let crm = crm(config(server.addr));
    let e = crm.lookup("0912345678").await.unwrap_err();
    assert_eq!(e, CrmError::Status { status: 500 });
    assert_eq!(e.to_string(), "CRM unavailable: HTTP 500");
    check_error_text(&e);
    // 401 too (a wrong token): the status, never the token.
    let server = serve(Reply::Status(401, "")).await;
    let e = crm_for(server.addr).lookup("0912345678").await.unwrap_err();
    assert_eq!(e, CrmError::Status { status: 401 });
    check_error_text(&e);
}

fn crm_for(addr: SocketAddr) -> Crm {
    crm(config(addr))
}

#[tokio::test]
async fn malformed_json_is_typed() {
    let server = serve(Reply::Json("<html>oops</html>")).await;
    let crm = crm(config(server.addr));
    let e = crm.lookup("0912345678").await.unwrap_err();
    assert!(matches!(e, CrmError::MalformedJson { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("CRM unavailable: the answer is not the JSON expected (expected value at line 1 column 1"),
        "{e}"
    );
    check_error_text(&e);
}

#[tokio::test]
async fn not_found_is_no_record_and_is_cached() {
    let server = serve(Reply::Status(404, "")).await;
    let crm = crm(config(server.addr));
    assert_eq!(crm.lookup("0912345678").await.unwrap(), None);
    assert_eq!(crm.lookup("0912345678").await.unwrap(), None);
    assert_eq!(server.requests.lock().unwrap().len(), 1);

    let server = serve(Reply::Json(r#"{"data":[]}"#)).await;
    assert_eq!(
        crm_for(server.addr).lookup("0912345678").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn unreachable_crm_is_typed() {
    // Bind then drop: nothing listens there now.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let e = crm_for(addr).lookup("0912345678").await.unwrap_err();
    assert!(matches!(e, CrmError::Unreachable { .. }), "{e:?}");
    check_error_text(&e);
}

#[test]
fn token_from_a_file_others_can_read_is_refused_without_showing_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("tongdai-crm-token-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("crm-token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut cfg = config("127.0.0.1:9".parse().unwrap());
    cfg.token_env = "TONGDAI_TEST_CRM_TOKEN_NEVER_SET".into();
    cfg.token_file = Some(file.clone());
    let e = Crm::new(cfg.clone()).unwrap_err();
    assert!(matches!(e, CrmError::Token(_)), "{e:?}");
    assert!(e.to_string().contains("chmod 600"), "{e}");
    assert_no_token("Display", &e.to_string());
    assert_no_token("Debug", &format!("{e:?}"));

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let crm = Crm::new(cfg.clone()).unwrap();
    let dbg = format!("{crm:?}");
    assert!(dbg.contains("<redacted>"), "{dbg}");
    assert_no_token("Crm Debug", &dbg);
    assert_no_token("CrmConfig Debug", &format!("{cfg:?}"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_config_is_reported_before_any_call() {
    let mut cfg = config("127.0.0.1:9".parse().unwrap());
    cfg.url = "crm.example/customers?phone={number}".into();
    let e = Crm::with_token(cfg.clone(), None).unwrap_err().to_string();
    assert!(e.contains("must start with http:// or https://"), "{e}");
    cfg.url = "http://crm.example/customers".into();
    let e = Crm::with_token(cfg.clone(), None).unwrap_err().to_string();
    assert!(e.contains("has no {number} placeholder"), "{e}");
    cfg.url = "http://crm.example/c?p={number}".into();
    cfg.mapping.name = "data.name".into();
    let e = Crm::with_token(cfg, None).unwrap_err().to_string();
    assert!(
        e.contains("mapping.name = \"data.name\" is not a JSON pointer"),
        "{e}"
    );
}
