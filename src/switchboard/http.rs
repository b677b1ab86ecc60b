//! The switchboard's HTTP side, on one port: the REST endpoints of both SDK
//! generations (with CORS, so a browser page on another origin can use
//! them) and the push WebSocket at `/websocket`.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, frame::coding::CloseCode};
use tokio_util::sync::CancellationToken;

use super::sip::SipMsg;
use super::world::{Shared, WorldMsg, WsOut};
use crate::vcc_wire::field_str;

pub(crate) struct Http {
    pub shared: Arc<Shared>,
    pub world: mpsc::UnboundedSender<WorldMsg>,
    pub next_conn: AtomicU64,
    /// The SIP-over-WebSocket side (`/sip`).
    pub sip: mpsc::UnboundedSender<SipMsg>,
}

type Resp = Response<Full<Bytes>>;

pub(crate) async fn serve(listener: TcpListener, http: Arc<Http>, cancel: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            a = listener.accept() => a,
        };
        let (stream, _peer) = match accepted {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("switchboard: accept failed: {e}");
                continue;
            }
        };
        let http = http.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let http = http.clone();
                let cancel = cancel.clone();
                async move { Ok::<_, Infallible>(route(req, http, cancel).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades();
            if let Err(e) = conn.await {
                tracing::debug!("switchboard: HTTP connection ended: {e}");
            }
        });
    }
}

fn cors(mut r: Resp) -> Resp {
    let h = r.headers_mut();
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    h.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    h.insert(
        "access-control-allow-headers",
        HeaderValue::from_static("Authorization, Content-Type"),
    );
    h.insert("access-control-max-age", HeaderValue::from_static("600"));
    r
}

fn json_resp(status: StatusCode, v: Value) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(v.to_string())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    cors(r)
}

async fn route(req: Request<Incoming>, http: Arc<Http>, cancel: CancellationToken) -> Resp {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if method == Method::OPTIONS {
        http.shared.log.push(
            "rest",
            None,
            None,
            None,
            json!({"method": "OPTIONS", "path": path}),
        );
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::NO_CONTENT;
        return cors(r);
    }
    if path == "/websocket" && method == Method::GET {
        return websocket(req, http, cancel);
    }
    if path == "/sip" && method == Method::GET {
        return sip_websocket(req, http, cancel);
    }
    let login_path = format!("/{}/thirdParty/login", http.shared.domain);
    match (method, path.as_str()) {
        (Method::POST, p) if p == login_path => login(req, &http).await,
        (Method::POST, p) if p.ends_with("/thirdParty/login") => {
            log_rest(&http, "POST", &path, None, "unknown domain");
            json_resp(
                StatusCode::OK,
                json!({"code": "errors", "message": "unknown domain"}),
            )
        }
        (Method::GET, "/api/login/check-partner") => {
            let url = reqwest::Url::parse(&format!("http://local{}", req.uri())).ok();
            let q = |k: &str| {
                url.as_ref().and_then(|u| {
                    u.query_pairs()
                        .find(|(n, _)| n == k)
                        .map(|(_, v)| v.to_string())
                })
            };
            let (token, domain) = (q("authToken").unwrap_or_default(), q("domain"));
            discovery(&http, &path, &token, domain.as_deref(), false)
        }
        (Method::GET, "/v1/api/calls/check-partner") => {
            let token = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            discovery(&http, &path, &token, None, true)
        }
        (Method::GET, "/") => {
            let mut r = Response::new(Full::new(Bytes::from(format!(
                "tongdai switchboard (a local VCC-compatible server), domain {}\n",
                http.shared.domain
            ))));
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            cors(r)
        }
        _ => {
            log_rest(&http, "?", &path, None, "not found");
            json_resp(
                StatusCode::NOT_FOUND,
                json!({"code": 404, "message": "not found"}),
            )
        }
    }
}

fn log_rest(http: &Http, method: &str, path: &str, agent: Option<&str>, result: &str) {
    http.shared.log.push(
        "rest",
        agent,
        None,
        None,
        json!({"method": method, "path": path, "result": result}),
    );
}

async fn login(req: Request<Incoming>, http: &Http) -> Resp {
    let path = req.uri().path().to_string();
    let form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let token = if form {
        reqwest::Url::parse(&format!("http://local/?{}", String::from_utf8_lossy(&body)))
            .ok()
            .and_then(|u| {
                u.query_pairs()
                    .find(|(k, _)| k == "token")
                    .map(|(_, v)| v.to_string())
            })
            .unwrap_or_default()
    } else {
        serde_json::from_slice::<Value>(&body)
            .map(|v| field_str(&v, "token"))
            .unwrap_or_default()
    };
    let refuse = http
        .shared
        .refuse_logins
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if refuse {
        log_rest(http, "POST", &path, None, "refused (simulated)");
        return json_resp(
            StatusCode::OK,
            json!({"code": "errors", "message": "token rejected (simulated by the switchboard)"}),
        );
    }
    match http.shared.check_jwt(&token) {
        Ok(ip) => {
            log_rest(http, "POST", &path, Some(&ip), "ok");
            let a = http.shared.agent(&ip);
            json_resp(
                StatusCode::OK,
                json!({"code": "ok", "user": {
                    "user_id": 35000 + a.map(|a| a.ipphone.len()).unwrap_or(0),
                    "username": a.map(|a| a.username.clone()).unwrap_or_default(),
                    "agent_id": ip,
                    "full_name": a.map(|a| a.full_name.clone()).unwrap_or_default(),
                }}),
            )
        }
        Err(reason) => {
            log_rest(http, "POST", &path, None, &format!("refused: {reason}"));
            json_resp(StatusCode::OK, json!({"code": "errors", "message": reason}))
        }
    }
}

fn discovery(http: &Http, path: &str, token: &str, domain: Option<&str>, newer: bool) -> Resp {
    if let Some(d) = domain
        && d != http.shared.domain
    {
        log_rest(http, "GET", path, None, "unknown domain");
        return json_resp(
            StatusCode::OK,
            json!({"code": 404, "message": format!("unknown domain {d}")}),
        );
    }
    let token = token.strip_prefix("Bearer ").unwrap_or(token);
    let ip = match http.shared.check_jwt(token) {
        Ok(ip) => ip,
        Err(reason) => {
            log_rest(http, "GET", path, None, &format!("refused: {reason}"));
            return json_resp(
                StatusCode::UNAUTHORIZED,
                json!({"code": 401, "message": reason}),
            );
        }
    };
    let Some(a) = http.shared.agent(&ip) else {
        return json_resp(
            StatusCode::OK,
            json!({"code": 404, "message": "no such agent"}),
        );
    };
    let addr = &http.shared.addr;
    let host = addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr);
    let mut reply = json!({
        "code": 200,
        "user": {"username": a.username, "agent_id": a.ipphone, "phone_no": a.mobile,
                 "role": a.role},
        "account": {"sip_server_url": host, "sip_socket": format!("ws://{addr}/sip"),
                    "agent_server_url": addr},
    });
    if newer {
        let t3c = format!("3c-{:032x}", rand::random::<u128>());
        if let Ok(mut m) = http.shared.token3c.lock() {
            m.insert(t3c.clone(), ip.clone());
        }
        reply["token3C"] = json!(t3c);
    }
    log_rest(http, "GET", path, Some(&ip), "ok");
    json_resp(StatusCode::OK, reply)
}

fn websocket(req: Request<Incoming>, http: Arc<Http>, cancel: CancellationToken) -> Resp {
    let key = req
        .headers()
        .get("sec-websocket-key")
        .map(|k| derive_accept_key(k.as_bytes()));
    let Some(accept) = key else {
        return json_resp(
            StatusCode::BAD_REQUEST,
            json!({"code": 400, "message": "a WebSocket upgrade is expected here"}),
        );
    };
    tokio::spawn(async move {
        match hyper::upgrade::on(req).await {
            Ok(up) => {
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(up), Role::Server, None).await;
                session(ws, http, cancel).await;
            }
            Err(e) => tracing::warn!("switchboard: WebSocket upgrade failed: {e}"),
        }
    });
    switching_protocols(&accept, None)
}

async fn session(
    mut ws: WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>,
    http: Arc<Http>,
    cancel: CancellationToken,
) {
    let conn = http.next_conn.fetch_add(1, Ordering::SeqCst) + 1;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _ = http.world.send(WorldMsg::Open { conn, tx });
    loop {
        tokio::select! {
            _ = cancel.cancelled() => {
                let _ = ws.close(None).await;
                break;
            }
            out = rx.recv() => match out {
                Some(WsOut::Text(t)) => {
                    if ws.send(Message::text(t)).await.is_err() {
                        break;
                    }
                }
                Some(WsOut::Close(reason)) => {
                    let _ = ws
                        .close(Some(CloseFrame {
                            code: CloseCode::Policy,
                            reason: reason.into(),
                        }))
                        .await;
                    break;
                }
                None => break,
            },
            m = ws.next() => match m {
                Some(Ok(Message::Text(t))) => {
                    let _ = http.world.send(WorldMsg::Frame { conn, text: t.to_string() });
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    let _ = ws.close(None).await;
                    break;
                }
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = http.world.send(WorldMsg::Gone { conn });
}

/// SIP over WebSocket (RFC 7118): the upgrade answers the `sip` subprotocol
/// (a client that asked for it refuses a reply without it); every text or
/// binary frame is one SIP message.
fn sip_websocket(req: Request<Incoming>, http: Arc<Http>, cancel: CancellationToken) -> Resp {
    let key = req
        .headers()
        .get("sec-websocket-key")
        .map(|k| derive_accept_key(k.as_bytes()));
    let Some(accept) = key else {
        return json_resp(
            StatusCode::BAD_REQUEST,
            json!({"code": 400, "message": "a WebSocket upgrade (subprotocol sip) is expected here"}),
        );
    };
    let wants_sip = req
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("sip")));
    tokio::spawn(async move {
        match hyper::upgrade::on(req).await {
            Ok(up) => {
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(up), Role::Server, None).await;
                sip_session(ws, http, cancel).await;
            }
            Err(e) => tracing::warn!("switchboard: SIP WebSocket upgrade failed: {e}"),
        }
    });
    switching_protocols(&accept, wants_sip.then_some("sip"))
}

/// The 101 answer to a WebSocket upgrade (RFC 6455 §4.2.2), with the
/// subprotocol the client asked for when we speak it (`sip`, RFC 7118).
fn switching_protocols(accept: &str, subprotocol: Option<&'static str>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert("upgrade", HeaderValue::from_static("websocket"));
    h.insert("connection", HeaderValue::from_static("Upgrade"));
    if let Some(p) = subprotocol {
        h.insert("sec-websocket-protocol", HeaderValue::from_static(p));
    }
    if let Ok(v) = HeaderValue::from_str(accept) {
        h.insert("sec-websocket-accept", v);
    }
    r
}

async fn sip_session(
    mut ws: WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>,
    http: Arc<Http>,
    cancel: CancellationToken,
) {
    let conn = http.next_conn.fetch_add(1, Ordering::SeqCst) + 1;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _ = http.sip.send(SipMsg::Open { conn, tx });
    loop {
        tokio::select! {
            _ = cancel.cancelled() => {
                let _ = ws.close(None).await;
                break;
            }
            out = rx.recv() => match out {
                Some(WsOut::Text(t)) => {
                    if ws.send(Message::text(t)).await.is_err() {
                        break;
                    }
                }
                Some(WsOut::Close(_)) | None => {
                    let _ = ws.close(None).await;
                    break;
                }
            },
            m = ws.next() => match m {
                Some(Ok(Message::Text(t))) => {
                    let _ = http.sip.send(SipMsg::Frame { conn, text: t.to_string() });
                }
                Some(Ok(Message::Binary(b))) => {
                    let text = String::from_utf8_lossy(&b).to_string();
                    let _ = http.sip.send(SipMsg::Frame { conn, text });
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    let _ = ws.close(None).await;
                    break;
                }
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = http.sip.send(SipMsg::Gone { conn });
}
