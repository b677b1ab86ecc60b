//! One SIP account over rsipstack: registration, INVITE dialogs both ways,
//! CANCEL, BYE, hold re-INVITEs, REFER, INFO, OPTIONS.
//!
//! The [`SipUa`] executes [`SipAction`]s from the call logic and reports
//! what happened on the wire as [`UaEvent`]s. It never decides anything
//! about calls; that is `call::softphone`'s job. No rsipstack type leaves
//! this file.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rsipstack::EndpointBuilder;
use rsipstack::dialog::DialogId;
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::{
    Dialog, DialogState, DialogStateReceiver, DialogStateSender, TerminatedReason,
    TransactionHandle,
};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::dialog::registration::Registration;
use rsipstack::sip::prelude::*;
use rsipstack::sip::{Header, Method, StatusCode};
use rsipstack::transaction::TransactionReceiver;
use rsipstack::transaction::endpoint::EndpointOption;
use rsipstack::transport::tcp_listener::TcpListenerConnection;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, TransportLayer};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::config::{MediaMode, SipConfig, Transport};
use super::sdp::{self, LocalAudio, RemoteAudio};
use crate::call::softphone::{Leg, SipAction, SipInput};
use crate::engine::RegState;
use crate::secret::Secret;
use crate::webrtc_media::{AudioIo, MediaStats, WebRtcOptions, WebRtcSession};

/// What the UA reports.
#[derive(Debug, Clone, PartialEq)]
pub enum UaEvent {
    Call(SipInput),
    Registration(RegState),
    /// Something the agent should read (a codec mismatch, a dropped request).
    Problem(String),
    /// Audio levels, call quality, received DTMF: passed to the console.
    Media(crate::engine::Event),
}

#[derive(Debug, thiserror::Error)]
pub enum UaError {
    #[error("cannot bind SIP to {addr}: {reason}")]
    Bind { addr: String, reason: String },
    #[error("the SIP server `{0}` is not a host[:port]")]
    BadServer(String),
    #[error("SIP stack: {0}")]
    Stack(String),
    #[error("cannot read the TLS CA bundle {path}: {reason} (set sip.ca_file)")]
    Tls { path: String, reason: String },
    #[error("TURN: {0}")]
    Turn(String),
}

/// How long a NOTIFY's progress waits for our 200 to leave (see `on_state`).
const NOTIFY_SETTLE: std::time::Duration = std::time::Duration::from_millis(30);

/// Debian's bundle of the system's trusted CAs.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Per-call media and dialog bookkeeping.
struct LegState {
    dialog: Option<InviteDialog>,
    /// Our RTP socket, held for the call so the port in our SDP is real.
    rtp: Option<StdUdpSocket>,
    rtp_port: u16,
    remote: Option<RemoteAudio>,
    codec: sdp::Codec,
    sdp_version: u64,
    held_by_us: bool,
    /// We sent BYE / CANCEL / a reject: a Terminated is then not news.
    ended_locally: bool,
    inbound: bool,
    confirmed: bool,
}

mod conference;
mod rtp_media;
mod transfer;
mod webrtc_audio;
mod wss;

struct Inner {
    cfg: SipConfig,
    /// Which audio device calls use (`[audio]`).
    audio: Mutex<crate::media::AudioConfig>,
    /// Running RTP audio per leg, and whether RFC 4733 was negotiated.
    media: Mutex<HashMap<Leg, (crate::media::MediaHandle, bool)>>,
    /// Where each RTP leg's audio goes (its device or the three-way mix).
    mixing: Mutex<conference::Mixing>,
    cred: Credential,
    dialogs: Arc<DialogLayer>,
    state_tx: DialogStateSender,
    events: mpsc::UnboundedSender<UaEvent>,
    legs: Mutex<HashMap<Leg, LegState>>,
    /// Call-ID → leg: one INVITE dialog per Call-ID on a softphone.
    by_call_id: Mutex<HashMap<String, Leg>>,
    next_leg: Mutex<u64>,
    local_ip: IpAddr,
    /// Where requests go: the registrar / outbound proxy.
    server: SipAddr,
    contact: rsipstack::sip::Uri,
    /// Stops the whole stack (transports, transactions).
    cancel: CancellationToken,
    /// Stops only the registration loop, which then un-REGISTERs while
    /// the transports are still up.
    reg_cancel: CancellationToken,
    reg_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The CA bundle for TLS accounts, for the pre-registration probe.
    tls_ca: Option<Vec<u8>>,
    /// Woken when the stream to the registrar closes (see `gate`).
    transport_lost: Arc<tokio::sync::Notify>,
    /// The stack's endpoint (its transport layer takes our WSS streams).
    endpoint: rsipstack::transaction::endpoint::EndpointInnerRef,
    /// The WebSocket URL's path (`ws_url`), if any.
    ws_path: Option<String>,
    /// WSS accounts: the verified connection we dialled (`wss`).
    wss: wss::WssLink,
    /// TURN servers and credentials for WebRTC calls (`[sip] turn_*`).
    turn: Option<crate::sip::TurnServers>,
    /// WebRTC media per leg (the WebRTC branch, `webrtc_*` below).
    webrtc: Mutex<HashMap<Leg, WebRtcLeg>>,
    /// How WebRTC legs' audio reaches the device (`webrtc_audio`).
    webrtc_audio: webrtc_audio::WebRtcAudio,
    /// Our INVITE client transactions still waiting for a final response,
    /// so a CANCEL the PBX ignores can be abandoned (`SipAction::Abandon`).
    invites: Mutex<HashMap<Leg, tokio::task::AbortHandle>>,
    /// REFERs we received: their answers and NOTIFYs (`transfer`).
    transferee: Mutex<transfer::Transferee>,
}

/// The running UA. Cloning shares it.
#[derive(Clone)]
pub struct SipUa {
    inner: Arc<Inner>,
}

fn to_stack_transport(t: Transport) -> rsipstack::sip::Transport {
    match t {
        Transport::Udp => rsipstack::sip::Transport::Udp,
        Transport::Tcp => rsipstack::sip::Transport::Tcp,
        Transport::Tls => rsipstack::sip::Transport::Tls,
        Transport::Ws => rsipstack::sip::Transport::Ws,
        Transport::Wss => rsipstack::sip::Transport::Wss,
    }
}

/// The local address that routes to `server` (no packet is sent).
fn local_ip_towards(bind: &str, server: &str) -> IpAddr {
    let ip = bind
        .parse::<IpAddr>()
        .or_else(|_| bind.parse::<SocketAddr>().map(|a| a.ip()));
    if let Ok(ip) = ip
        && !ip.is_unspecified()
    {
        return ip;
    }
    let probe = StdUdpSocket::bind("0.0.0.0:0").and_then(|s| {
        s.connect(server)?;
        s.local_addr()
    });
    match probe {
        Ok(a) => a.ip(),
        Err(_) => IpAddr::from([127, 0, 0, 1]),
    }
}

fn random_token(n: usize) -> String {
    use rand::Rng;
    const ABC: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| ABC[rng.random_range(0..ABC.len())] as char)
        .collect()
}

impl SipUa {
    /// Bind, start the stack, and (when configured) start registering.
    pub async fn start(
        cfg: SipConfig,
        password: Secret,
        events: mpsc::UnboundedSender<UaEvent>,
    ) -> Result<SipUa, UaError> {
        let turn = cfg.turn().map_err(UaError::Turn)?;
        let cancel = CancellationToken::new();
        let transport_layer = TransportLayer::new(cancel.clone());

        // The server as host:port (WebSocket accounts: from the URL).
        let (server_hostport, ws_path) = match (&cfg.transport, &cfg.ws_url) {
            (Transport::Ws | Transport::Wss, Some(url)) => {
                let rest = url
                    .strip_prefix("wss://")
                    .or_else(|| url.strip_prefix("ws://"))
                    .unwrap_or(url);
                match rest.split_once('/') {
                    Some((hp, path)) => (hp.to_string(), Some(format!("/{path}"))),
                    None => (rest.to_string(), None),
                }
            }
            _ => (cfg.server.clone(), None),
        };
        if let Some(path) = ws_path.clone() {
            transport_layer.set_ws_path(path);
        }
        let mut tls_ca = None;
        if matches!(cfg.transport, Transport::Tls | Transport::Wss) {
            // rsipstack trusts nothing by default: hand it the CA bundle so
            // the server's certificate is verified (never skipped).
            let path = cfg
                .ca_file
                .clone()
                .unwrap_or_else(|| std::path::PathBuf::from(SYSTEM_CA_BUNDLE));
            let ca = std::fs::read(&path).map_err(|e| UaError::Tls {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            tls_ca = Some(ca.clone());
            transport_layer.set_tls_config(rsipstack::transport::tls::TlsConfig {
                ca_certs: Some(ca),
                ..Default::default()
            });
        }
        let default_port = match cfg.transport {
            Transport::Tls => 5061,
            Transport::Ws => 80,
            Transport::Wss => 443,
            _ => 5060,
        };
        let server_hostport = if server_hostport.contains(':') {
            server_hostport
        } else {
            format!("{server_hostport}:{default_port}")
        };
        let local_ip = local_ip_towards(&cfg.bind, &server_hostport);

        // UDP is always bound: it is our SIP listener for UDP accounts and
        // the stack's default transport otherwise.
        // `bind` is an address, optionally with a port (`127.0.0.1:5062`).
        // The config check refuses anything else (sip::config::check_bind):
        // no silent fallback to a random port.
        let bind: SocketAddr = cfg
            .bind
            .parse()
            .or_else(|_| cfg.bind.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 0)))
            .map_err(|e: std::net::AddrParseError| UaError::Bind {
                addr: cfg.bind.clone(),
                reason: e.to_string(),
            })?;
        let bind = if bind.ip().is_unspecified() {
            SocketAddr::new(local_ip, bind.port())
        } else {
            bind
        };
        // TCP accounts also listen on TCP, on the same address and port as
        // UDP (RFC 3261 §18: a UA takes requests on the transports it uses).
        // Without it a trunk with `register = false` has no way to reach us
        // over TCP: no registration flow exists for it to reuse.
        let listen_tcp = cfg.transport == Transport::Tcp;
        let mut attempts = 0;
        let (udp, tcp) = loop {
            attempts += 1;
            let udp = UdpConnection::create_connection(bind, None, Some(cancel.child_token()))
                .await
                .map_err(|e| UaError::Bind {
                    addr: bind.to_string(),
                    reason: e.to_string(),
                })?;
            if !listen_tcp {
                break (udp, None);
            }
            let addr = udp
                .get_addr()
                .get_socketaddr()
                .map_err(|e| UaError::Stack(e.to_string()))?;
            // rsipstack binds the listener later and only logs a failure:
            // try the port here, so a taken one is an error at start.
            match std::net::TcpListener::bind(addr) {
                Ok(probe) => {
                    drop(probe);
                    let tcp = TcpListenerConnection::new(addr, None)
                        .await
                        .map_err(|e| UaError::Stack(e.to_string()))?;
                    break (udp, Some(tcp));
                }
                // An OS-chosen UDP port whose TCP twin is taken: another port.
                Err(_) if bind.port() == 0 && attempts < 8 => continue,
                Err(e) => {
                    return Err(UaError::Bind {
                        addr: format!("tcp {addr}"),
                        reason: e.to_string(),
                    });
                }
            }
        };
        let udp_addr = udp.get_addr().clone();
        let listeners: Vec<SocketAddr> = tcp
            .iter()
            .filter_map(|t| t.get_addr().get_socketaddr().ok())
            .collect();
        transport_layer.add_transport(udp.into());
        if let Some(tcp) = tcp {
            transport_layer.add_transport(tcp.into());
        }

        let transport_lost = Arc::new(tokio::sync::Notify::new());
        let option = EndpointOption {
            callid_suffix: Some("tongdai".to_string()),
            ..EndpointOption::default()
        };
        let endpoint = EndpointBuilder::new()
            .with_cancel_token(cancel.clone())
            .with_transport_layer(transport_layer)
            .with_user_agent(concat!("tongdai/", env!("CARGO_PKG_VERSION")))
            .with_option(option)
            // Malformed requests and INVITEs over the rate limit are answered
            // here, before a transaction exists (see `gate`).
            .with_transport_inspector(Box::new(
                super::gate::Gate::new(
                    super::admission::Limits::default(),
                    concat!("tongdai/", env!("CARGO_PKG_VERSION")),
                    std::time::Instant::now(),
                )
                .with_listeners(listeners)
                .on_dialled_stream_closed(transport_lost.clone()),
            ))
            .build();

        let server_uri: rsipstack::sip::Uri = format!("sip:{server_hostport}")
            .as_str()
            .try_into()
            .map_err(|_| UaError::BadServer(cfg.server.clone()))?;
        let mut server =
            SipAddr::try_from(&server_uri).map_err(|_| UaError::BadServer(cfg.server.clone()))?;
        server.r#type = Some(to_stack_transport(cfg.transport));

        // Contact: RFC 7118 §5 for WebSocket (a made-up .invalid host, as
        // JsSIP does: a real loopback address there confuses Kamailio).
        let contact: rsipstack::sip::Uri = match cfg.transport {
            Transport::Ws | Transport::Wss => {
                format!("sip:{}@{}.invalid;transport=ws", cfg.user, random_token(12))
            }
            // TCP/TLS: no transport parameter, so rsipstack rewrites the
            // Contact to the connection's own local address; a Contact with
            // our UDP port would make the proxy dial a port nobody listens on.
            _ => format!("sip:{}@{}", cfg.user, udp_addr.addr),
        }
        .as_str()
        .try_into()
        .map_err(|e: rsipstack::sip::Error| UaError::Stack(e.to_string()))?;

        let cred = Credential {
            username: cfg.user.clone(),
            password: password.expose().to_string(),
            realm: None,
            auth_username: cfg.auth_user.clone(),
        };
        let incoming = endpoint
            .incoming_transactions()
            .map_err(|e| UaError::Stack(e.to_string()))?;
        let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        let (state_tx, state_rx) = dialogs.new_dialog_state_channel();

        let inner = Arc::new(Inner {
            cfg,
            cred,
            dialogs,
            state_tx,
            events,
            legs: Mutex::new(HashMap::new()),
            by_call_id: Mutex::new(HashMap::new()),
            next_leg: Mutex::new(1),
            local_ip,
            server,
            contact,
            cancel: cancel.clone(),
            reg_cancel: CancellationToken::new(),
            reg_task: Mutex::new(None),
            tls_ca,
            transport_lost,
            endpoint: endpoint.inner.clone(),
            ws_path,
            wss: Default::default(),
            turn,
            webrtc: Mutex::new(HashMap::new()),
            webrtc_audio: Default::default(),
            invites: Mutex::new(HashMap::new()),
            transferee: Mutex::default(),
            audio: Mutex::new(crate::media::AudioConfig::default()),
            media: Mutex::new(HashMap::new()),
            mixing: Mutex::new(conference::Mixing::default()),
        });
        let ua = SipUa { inner };

        let ep_inner = endpoint.inner.clone();
        tokio::spawn(async move { endpoint.serve().await });
        tokio::spawn(ua.clone().incoming_loop(incoming));
        tokio::spawn(ua.clone().state_loop(state_rx));
        if ua.inner.cfg.register {
            let task = tokio::spawn(ua.clone().register_loop(ep_inner, server_uri));
            *ua.inner.reg_task.lock().expect("reg lock") = Some(task);
        } else {
            ua.emit(UaEvent::Registration(RegState::None));
        }
        Ok(ua)
    }

    /// Choose the audio device for the calls that follow.
    pub fn set_audio(&self, audio: crate::media::AudioConfig) {
        *self.inner.audio.lock().expect("audio lock") = audio;
    }

    fn emit(&self, e: UaEvent) {
        let _ = self.inner.events.send(e);
    }

    fn call_event(&self, e: SipInput) {
        self.emit(UaEvent::Call(e));
    }

    /// Stop everything: the registration loop un-REGISTERs first (bounded
    /// by `deadline`), then the transports close.
    pub async fn stop(&self, deadline: Duration) {
        self.inner.reg_cancel.cancel();
        let task = self.inner.reg_task.lock().expect("reg lock").take();
        if let Some(task) = task {
            let abort = task.abort_handle();
            if tokio::time::timeout(deadline, task).await.is_err() {
                abort.abort();
            }
        }
        self.inner.cancel.cancel();
    }

    /// REGISTER, refresh before expiry, back off after failures, and
    /// un-REGISTER when stopped (RFC 3261 §10.2; stale bindings make
    /// proxies fork calls to dead phones).
    async fn register_loop(
        self,
        ep: rsipstack::transaction::endpoint::EndpointInnerRef,
        mut server: rsipstack::sip::Uri,
    ) {
        if let Some(t) = match self.inner.cfg.transport {
            Transport::Udp => None,
            t => Some(t),
        } {
            server
                .params
                .push(rsipstack::sip::Param::Transport(to_stack_transport(t)));
        }
        let mut reg = Registration::new(ep, Some(self.inner.cred.clone()));
        if matches!(self.inner.cfg.transport, Transport::Ws | Transport::Wss) {
            reg.contact = Some(rsipstack::sip::typed::Contact {
                display_name: None,
                uri: self.inner.contact.clone(),
                params: vec![],
            });
        }
        let expires = self.inner.cfg.expires.max(60);
        let mut failures: u32 = 0;
        let mut registered = false;
        let mut last_problem: Option<String> = None;
        loop {
            self.emit(UaEvent::Registration(RegState::Registering));
            let problem = match self.wss_ensure().await {
                Ok(()) => self.tls_problem().await,
                Err(reason) => Some(reason),
            };
            if let Some(reason) = problem {
                failures += 1;
                // Say it once on screen (a notice stays; the SIP line moves
                // on to "retry in …"), again only when the reason changes.
                if last_problem.as_ref() != Some(&reason) {
                    self.emit(UaEvent::Problem(reason.clone()));
                    last_problem = Some(reason.clone());
                }
                self.emit(UaEvent::Registration(RegState::Failed {
                    code: None,
                    reason,
                }));
                let wait = backoff(failures);
                self.emit(UaEvent::Registration(RegState::Retrying {
                    attempt: failures,
                    retry_in_s: wait.as_secs() as u32,
                }));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => continue,
                    _ = self.inner.reg_cancel.cancelled() => break,
                }
            }
            let wait = match reg.register(server.clone(), Some(expires)).await {
                Ok(resp) if u16::from(resp.status_code.clone()) / 100 == 2 => {
                    failures = 0;
                    last_problem = None;
                    registered = true;
                    let granted = reg.expires().max(1);
                    self.emit(UaEvent::Registration(RegState::Registered {
                        expires: granted,
                    }));
                    // Refresh at 75 % of what the registrar granted.
                    Duration::from_secs(u64::from(granted) * 3 / 4).max(Duration::from_secs(1))
                }
                Ok(resp) => {
                    failures += 1;
                    let code = u16::from(resp.status_code.clone());
                    self.emit(UaEvent::Registration(RegState::Failed {
                        code: Some(code),
                        reason: format!("{code} {}", resp.status_code),
                    }));
                    backoff(failures)
                }
                Err(e) => {
                    failures += 1;
                    self.emit(UaEvent::Registration(RegState::Failed {
                        code: None,
                        reason: redact(&e.to_string()),
                    }));
                    backoff(failures)
                }
            };
            if failures > 0 {
                self.emit(UaEvent::Registration(RegState::Retrying {
                    attempt: failures,
                    retry_in_s: wait.as_secs() as u32,
                }));
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.inner.transport_lost.notified(), if registered && failures == 0 => {
                    // The TCP/TLS/WebSocket connection the binding lives on
                    // closed (the registrar restarted, the network dropped):
                    // the binding is dead with it (RFC 5626 §4.4.1), so
                    // register again now on a new connection, not at the
                    // refresh minutes later. A second after, so a
                    // restarting server has a moment to listen.
                    self.emit(UaEvent::Registration(RegState::Retrying {
                        attempt: 1,
                        retry_in_s: 1,
                    }));
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = self.inner.reg_cancel.cancelled() => break,
                    }
                }
                _ = self.inner.reg_cancel.cancelled() => break,
            }
        }
        if registered {
            // The caller bounds this with its own deadline.
            let _ = reg.register(server, Some(0)).await;
            self.emit(UaEvent::Registration(RegState::None));
        }
    }

    /// For TLS accounts: why the server's certificate is not trusted, if
    /// it is not (checked with a handshake of our own before REGISTER).
    async fn tls_problem(&self) -> Option<String> {
        if self.inner.cfg.transport != Transport::Tls {
            return None;
        }
        let ca = self.inner.tls_ca.as_ref()?;
        let hp = &self.inner.server.addr;
        let host = hp.host.to_string();
        let port = hp.port.as_ref().map(|p| p.value()).unwrap_or(5061);
        super::tls_probe::probe(&host, port, ca, Duration::from_secs(5))
            .await
            .err()
    }

    async fn incoming_loop(self, mut incoming: TransactionReceiver) {
        while let Some(mut tx) = incoming.recv().await {
            let method = tx.original.method;
            // In-dialog requests (BYE, re-INVITE, INFO, REFER, NOTIFY, ACK).
            if let Some(dialog) = self.inner.dialogs.match_dialog(&tx) {
                tokio::spawn(async move {
                    let mut dialog = dialog;
                    let r = match &mut dialog {
                        Dialog::Invite(d) => d.handle(&mut tx).await,
                        _ => Ok(()),
                    };
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "in-dialog request failed");
                    }
                });
                continue;
            }
            match method {
                Method::Invite => self.new_inbound(tx).await,
                Method::Options => {
                    // RFC 3261 §11.2: tell what we support.
                    let _ = tx.reply(StatusCode::OK).await;
                }
                Method::Ack => {}
                Method::Bye | Method::Cancel => {
                    let _ = tx.reply(StatusCode::CallTransactionDoesNotExist).await;
                }
                _ => {
                    let _ = tx.reply(StatusCode::MethodNotAllowed).await;
                }
            }
        }
    }

    async fn new_inbound(&self, mut tx: rsipstack::transaction::transaction::Transaction) {
        if self.ringing_inbound() >= super::admission::MAX_RINGING_INBOUND {
            // Busy Here at once (RFC 3261 §21.4.24): no dialog, no RTP port,
            // no event for the call logic.
            let _ = tx.reply(StatusCode::BusyHere).await;
            return;
        }
        let req = tx.original.clone();
        let remote = sdp::parse(&String::from_utf8_lossy(&req.body));
        let (number, display_name) = caller_identity(&req);
        let call_id = req
            .call_id_header()
            .map(|h| h.value().to_string())
            .unwrap_or_default();
        // An offer we cannot answer is refused now (RFC 3261 §21.4.26 488).
        let (remote, codec) = match remote {
            Ok(r) if r.webrtc => (Some(r), sdp::PCMU),
            Ok(r) => match sdp::choose_codec(&r, self.inner.cfg.codecs.as_slice()) {
                Ok(c) => (Some(r), c),
                Err(e) => {
                    self.emit(UaEvent::Problem(format!("call from {number} refused: {e}")));
                    let _ = tx.reply(StatusCode::NotAcceptableHere).await;
                    return;
                }
            },
            // No SDP in the INVITE: we will offer in the 200 (RFC 3264 §4).
            Err(_) if req.body.is_empty() => (None, sdp::PCMU),
            Err(e) => {
                self.emit(UaEvent::Problem(format!("call from {number} refused: {e}")));
                let _ = tx.reply(StatusCode::NotAcceptableHere).await;
                return;
            }
        };
        // rsipstack appends the arrival transport to the remote target when
        // the Contact names none (and its Contact parser drops an explicit
        // `transport=udp`), which sends our BYE to a UDP phone over TCP/WS.
        // Behind a proxy (Record-Route present) the dialog needs no flow
        // affinity: in-dialog requests follow the route set. So hide the
        // connection while the dialog is created.
        let proxied = req
            .headers
            .iter()
            .any(|h| matches!(h, Header::RecordRoute(_)));
        // RFC 3891 §3: an INVITE with Replaces takes over one of our
        // confirmed dialogs, or is refused.
        let replaces = match self.replaced_leg(&req) {
            Ok(r) => r,
            Err(code) => {
                let _ = tx.reply(code).await;
                return;
            }
        };
        let flow = if proxied { tx.connection.take() } else { None };
        let created = self.inner.dialogs.get_or_create_server_invite(
            &tx,
            self.inner.state_tx.clone(),
            Some(self.inner.cred.clone()),
            Some(self.inner.contact.clone()),
        );
        if flow.is_some() {
            tx.connection = flow;
        }
        let dialog = match created {
            Ok(d) => d,
            Err(e) => {
                // The request's fault, not ours: 481 for a To tag that names
                // no dialog (RFC 3261 §12.2.2), 400 otherwise (§21.4.1).
                tracing::debug!(error = %e, "cannot create a dialog for an INVITE");
                let status = match e {
                    rsipstack::Error::DialogError(_, _, code) if code.code() < 500 => code,
                    _ => StatusCode::BadRequest,
                };
                let _ = tx.reply(status).await;
                return;
            }
        };
        let leg = self.new_leg();
        if remote.as_ref().is_some_and(|r| r.webrtc) {
            self.webrtc_note_offer(leg, &String::from_utf8_lossy(&req.body));
        }
        let (rtp, rtp_port) = self.bind_rtp();
        self.inner.legs.lock().expect("legs lock").insert(
            leg,
            LegState {
                dialog: Some(dialog.clone()),
                rtp,
                rtp_port,
                remote,
                codec,
                sdp_version: 1,
                held_by_us: false,
                ended_locally: false,
                inbound: true,
                confirmed: false,
            },
        );
        self.inner
            .by_call_id
            .lock()
            .expect("call-id lock")
            .insert(call_id, leg);
        let mut d = dialog;
        tokio::spawn(async move {
            if let Err(e) = d.handle(&mut tx).await {
                tracing::debug!(error = %e, "inbound INVITE transaction ended");
            }
        });
        self.call_event(match replaces {
            Some(replaces) => SipInput::Replacing {
                leg,
                replaces,
                number,
                display_name,
            },
            None => SipInput::Incoming {
                leg,
                number,
                display_name,
            },
        });
    }

    /// Inbound legs not yet answered and ACKed.
    fn ringing_inbound(&self) -> usize {
        let legs = self.inner.legs.lock().expect("legs lock");
        legs.values().filter(|s| s.inbound && !s.confirmed).count()
    }

    fn new_leg(&self) -> Leg {
        let mut n = self.inner.next_leg.lock().expect("leg lock");
        let leg = Leg(*n);
        *n += 1;
        leg
    }

    /// A real RTP port for our SDP (RFC 3550 §11: even port; we take what
    /// the OS gives and keep the socket for the call's lifetime).
    fn bind_rtp(&self) -> (Option<StdUdpSocket>, u16) {
        match StdUdpSocket::bind(SocketAddr::new(self.inner.local_ip, 0)) {
            Ok(s) => {
                let port = s.local_addr().map(|a| a.port()).unwrap_or(0);
                (Some(s), port)
            }
            Err(e) => {
                self.emit(UaEvent::Problem(format!("cannot open an audio port: {e}")));
                (None, 0)
            }
        }
    }

    fn local_audio(&self, port: u16, version: u64, direction: sdp::Direction) -> LocalAudio {
        let codecs: Vec<sdp::Codec> = self
            .inner
            .cfg
            .codecs
            .as_slice()
            .iter()
            .map(|&k| sdp::Codec::ours(k))
            .collect();
        LocalAudio {
            addr: self.inner.local_ip,
            port,
            telephone_events: sdp::our_telephone_events(&codecs),
            codecs,
            direction,
            session_id: u64::from(port) * 1000 + 1,
            version,
        }
    }

    /// Our SDP for a leg right now: an answer when the peer offered, an
    /// offer otherwise; `bump` raises the o= version (a changed session).
    fn leg_sdp(&self, leg: Leg, bump: bool) -> Option<String> {
        let mut legs = self.inner.legs.lock().expect("legs lock");
        let st = legs.get_mut(&leg)?;
        if bump {
            st.sdp_version += 1;
        }
        let local = self.local_audio(st.rtp_port, st.sdp_version, sdp::Direction::SendRecv);
        Some(match &st.remote {
            Some(r) => local.answer(r, st.codec, st.held_by_us),
            None => {
                let dir = if st.held_by_us {
                    sdp::Direction::SendOnly
                } else {
                    sdp::Direction::SendRecv
                };
                LocalAudio {
                    direction: dir,
                    ..local
                }
                .render()
            }
        })
    }

    fn dialog_of(&self, leg: Leg) -> Option<InviteDialog> {
        self.inner
            .legs
            .lock()
            .expect("legs lock")
            .get(&leg)
            .and_then(|s| s.dialog.clone())
    }

    fn mark_local_end(&self, leg: Leg) {
        if let Some(s) = self.inner.legs.lock().expect("legs lock").get_mut(&leg) {
            s.ended_locally = true;
        }
    }

    fn forget(&self, leg: Leg) {
        self.webrtc_forget(leg);
        self.stop_rtp_media(leg);
        let idle = {
            let mut legs = self.inner.legs.lock().expect("legs lock");
            legs.remove(&leg);
            legs.is_empty()
        };
        if idle {
            // The last call is gone: give the heap that a burst of calls
            // (or an INVITE flood) took back to the system. glibc keeps freed
            // memory in its arenas otherwise; this costs a heap walk, once
            // per idle moment, never during a call.
            // SAFETY: malloc_trim only walks and shrinks glibc's own heaps.
            unsafe {
                libc::malloc_trim(0);
            }
        }
        self.inner
            .invites
            .lock()
            .expect("invites lock")
            .remove(&leg);
        self.inner
            .by_call_id
            .lock()
            .expect("call-id lock")
            .retain(|_, l| *l != leg);
    }

    fn sdp_header() -> Header {
        Header::ContentType("application/sdp".into())
    }

    /// Run one action. Network waits happen in spawned tasks: the engine
    /// loop never blocks on the wire.
    pub fn execute(&self, action: SipAction) {
        let ua = self.clone();
        if let SipAction::Invite { leg, .. } | SipAction::InviteReplacing { leg, .. } = &action {
            // Outbound legs are numbered by the call logic, inbound ones
            // here: keep the two apart, so a call that arrives while our
            // own call is up (or right after it) never reuses its number
            // (its leg state, its `call-<n>-heard.wav`).
            let mut n = self.inner.next_leg.lock().expect("leg lock");
            *n = (*n).max(leg.0 + 1);
        }
        match action {
            SipAction::Invite { leg, target } if ua.inner.cfg.media == MediaMode::Webrtc => {
                tokio::spawn(ua.webrtc_invite(leg, target, Vec::new()));
            }
            SipAction::Invite { leg, target } => ua.invite(leg, target, Vec::new()),
            SipAction::InviteReplacing {
                leg,
                target,
                replaces,
            } => ua.invite_replacing(leg, target, &replaces),
            SipAction::AnswerRefer { leg, code } => ua.answer_refer(leg, code),
            SipAction::ReferNotify { leg, code, done } => ua.refer_notify(leg, code, done),
            SipAction::Ringing { leg } => {
                if let Some(d) = ua.dialog_of(leg) {
                    let _ = d.ringing(None, None);
                }
            }
            SipAction::Accept { leg } => {
                if ua.webrtc_accept(leg) {
                    return;
                }
                let sdp = ua.leg_sdp(leg, false);
                if let Some(d) = ua.dialog_of(leg) {
                    let r = d.accept(Some(vec![Self::sdp_header()]), sdp.map(String::into_bytes));
                    if let Err(e) = r {
                        ua.emit(UaEvent::Problem(format!("could not answer: {e}")));
                    }
                }
            }
            SipAction::Reject { leg, code } => {
                ua.mark_local_end(leg);
                if let Some(d) = ua.dialog_of(leg) {
                    let _ = d.reject(Some(StatusCode::from(code)), None);
                }
                ua.forget(leg);
            }
            SipAction::Cancel { leg } => {
                ua.mark_local_end(leg);
                if let Some(d) = ua.dialog_of(leg) {
                    tokio::spawn(async move {
                        if let Err(e) = d.cancel().await {
                            tracing::debug!(error = %e, "CANCEL failed");
                        }
                    });
                }
            }
            SipAction::Bye { leg } => {
                ua.mark_local_end(leg);
                // RFC 3261 §15.1.1: the session is over (no media sent or
                // listened to) once the BYE is passed to its transaction,
                // not when (or if) the far end answers it.
                ua.stop_rtp_media(leg);
                if let Some(d) = ua.dialog_of(leg) {
                    tokio::spawn(async move {
                        if let Err(e) = d.bye().await {
                            tracing::debug!(error = %e, "BYE failed");
                        }
                        ua.forget(leg);
                    });
                }
            }
            SipAction::Hold { leg, hold } => {
                tokio::spawn(async move { ua.hold(leg, hold).await });
            }
            SipAction::Refer { leg, target } => {
                tokio::spawn(async move { ua.refer(leg, target, None).await });
            }
            SipAction::AttendedRefer {
                leg,
                target,
                replaces,
            } => {
                tokio::spawn(async move { ua.refer(leg, target, Some(replaces)).await });
            }
            // RFC 4733 in the audio when the peer took telephone-event,
            // SIP INFO (application/dtmf-relay) otherwise.
            SipAction::Dtmf { leg, digit } => {
                if !ua.rtp_send_dtmf(leg, digit) {
                    tokio::spawn(async move { ua.dtmf_info(leg, digit).await });
                }
            }
            // Mute is local media: no signalling.
            SipAction::Mute { leg, mute } => {
                ua.webrtc_set_mute(leg, mute);
                ua.rtp_set_mute(leg, mute);
            }
            SipAction::Abandon { leg } => ua.abandon(leg),
            SipAction::Conference { legs } => ua.conference(&legs),
            SipAction::EndConference => ua.end_conference(),
            SipAction::WaitingBeep { leg } => ua.waiting_beep(leg),
        }
    }

    /// A CANCELled INVITE that got no final response in 64*T1 (RFC 3261
    /// §9.1): the dialog leaves the dialog layer, the INVITE task is
    /// stopped (rsipstack's guard then ends its transaction), and the leg's
    /// RTP socket and state are freed.
    fn abandon(&self, leg: Leg) {
        self.mark_local_end(leg);
        if let Some(d) = self.dialog_of(leg) {
            self.inner.dialogs.remove_dialog(&d.id());
        }
        let task = self
            .inner
            .invites
            .lock()
            .expect("invites lock")
            .remove(&leg);
        if let Some(t) = task {
            t.abort();
        }
        self.forget(leg);
    }

    fn target_uri(&self, target: &str) -> Result<rsipstack::sip::Uri, String> {
        // Defence in depth: the call logic checks every target
        // (`sip::target`), but nothing that could end or split a header
        // line reaches the Request-Line, To or Refer-To whatever the caller.
        if !super::target::wire_safe(target) || target.contains('?') {
            return Err(format!("{target:?} is not a SIP address we send"));
        }
        let text = if target.starts_with("sip:") || target.starts_with("sips:") {
            target.to_string()
        } else {
            // Without an explicit domain the request URI names the server
            // with its port: in-dialog and CANCEL requests follow the
            // request URI (RFC 3261 §9.1), so it must reach the same place.
            let host = match &self.inner.cfg.domain {
                Some(d) => d.clone(),
                None => self.inner.server.addr.to_string(),
            };
            format!("sip:{target}@{host}")
        };
        text.as_str()
            .try_into()
            .map_err(|e: rsipstack::sip::Error| format!("`{target}` is not a SIP address: {e}"))
    }

    fn invite(&self, leg: Leg, target: String, extra: Vec<Header>) {
        let callee = match self.target_uri(&target) {
            Ok(u) => u,
            Err(e) => {
                self.emit(UaEvent::Problem(e));
                self.call_event(SipInput::Failed { leg, code: None });
                return;
            }
        };
        let caller: rsipstack::sip::Uri =
            match format!("sip:{}@{}", self.inner.cfg.user, self.inner.cfg.domain())
                .as_str()
                .try_into()
            {
                Ok(u) => u,
                Err(e) => {
                    self.emit(UaEvent::Problem(format!("bad account address: {e}")));
                    self.call_event(SipInput::Failed { leg, code: None });
                    return;
                }
            };
        let (rtp, rtp_port) = self.bind_rtp();
        self.inner.legs.lock().expect("legs lock").insert(
            leg,
            LegState {
                dialog: None,
                rtp,
                rtp_port,
                remote: None,
                codec: sdp::PCMU,
                sdp_version: 1,
                held_by_us: false,
                ended_locally: false,
                inbound: false,
                confirmed: false,
            },
        );
        let offer = self
            .webrtc_local_sdp(leg)
            .or_else(|| self.leg_sdp(leg, false));
        let opt = InviteOption {
            caller_display_name: self.inner.cfg.display_name.clone(),
            caller,
            callee,
            destination: Some(self.inner.server.clone()),
            content_type: Some("application/sdp".to_string()),
            offer: offer.map(String::into_bytes),
            contact: self.inner.contact.clone(),
            // No password (`register = false` trunk): nothing to answer a challenge with.
            credential: (!self.inner.cred.password.is_empty()).then(|| self.inner.cred.clone()),
            headers: (!extra.is_empty()).then_some(extra),
            ..Default::default()
        };
        let started = self
            .inner
            .dialogs
            .do_invite_async(opt, self.inner.state_tx.clone());
        let (dialog, handle) = match started {
            Ok(x) => x,
            Err(e) => {
                self.emit(UaEvent::Problem(format!("could not send the INVITE: {e}")));
                self.forget(leg);
                self.call_event(SipInput::Failed { leg, code: None });
                return;
            }
        };
        let call_id = dialog.id().call_id.clone();
        if let Some(s) = self.inner.legs.lock().expect("legs lock").get_mut(&leg) {
            s.dialog = Some(dialog);
        }
        self.inner
            .by_call_id
            .lock()
            .expect("call-id lock")
            .insert(call_id, leg);
        let ua = self.clone();
        let task = tokio::spawn(async move {
            let outcome = match handle.await {
                Ok(Ok((_, Some(resp)))) => Ok(resp),
                Ok(Ok((_, None))) => Err(None),
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "INVITE failed");
                    Err(None)
                }
                Err(_) => Err(None),
            };
            match outcome {
                Ok(resp) => {
                    let code = u16::from(resp.status_code.clone());
                    let cancelled = ua
                        .inner
                        .legs
                        .lock()
                        .expect("legs lock")
                        .get(&leg)
                        .is_some_and(|s| s.ended_locally);
                    if code / 100 == 2 && cancelled {
                        // The 200 crossed our CANCEL (RFC 3261 §9.1): no
                        // media for it; the call logic sends the BYE.
                        ua.inner.invites.lock().expect("invites lock").remove(&leg);
                        ua.call_event(SipInput::Answered { leg });
                    } else if code / 100 == 2 {
                        ua.inner.invites.lock().expect("invites lock").remove(&leg);
                        let webrtc = ua.webrtc_apply_answer(leg, &resp.body).await;
                        let remote = sdp::parse(&String::from_utf8_lossy(&resp.body)).ok();
                        let mut bad_codec = None;
                        if let Some(s) = ua.inner.legs.lock().expect("legs lock").get_mut(&leg) {
                            if let Some(r) = remote.as_ref().filter(|_| !webrtc) {
                                match sdp::choose_codec(r, ua.inner.cfg.codecs.as_slice()) {
                                    Ok(c) => s.codec = c,
                                    Err(e) => bad_codec = Some(e.to_string()),
                                }
                            }
                            // Our offer stays ours: re-INVITEs we send are offers.
                            s.confirmed = true;
                        }
                        if let Some(msg) = bad_codec {
                            ua.emit(UaEvent::Problem(msg));
                        } else if let Some(r) = remote.as_ref().filter(|_| !webrtc) {
                            ua.start_rtp_media(leg, r);
                        } else if webrtc {
                            ua.start_webrtc_audio(leg);
                        }
                        ua.call_event(SipInput::Answered { leg });
                    } else {
                        ua.forget(leg);
                        ua.call_event(SipInput::Failed {
                            leg,
                            code: Some(code),
                        });
                    }
                }
                Err(code) => {
                    ua.forget(leg);
                    ua.call_event(SipInput::Failed { leg, code });
                }
            }
        });
        // Kept until a final response (`forget` drops it after the leg's
        // state, so checking the leg under this lock never leaves a stale one).
        let mut invites = self.inner.invites.lock().expect("invites lock");
        if self
            .inner
            .legs
            .lock()
            .expect("legs lock")
            .contains_key(&leg)
        {
            invites.insert(leg, task.abort_handle());
        }
    }

    async fn hold(&self, leg: Leg, hold: bool) {
        if self.webrtc_hold_refused(leg, hold) {
            return;
        }
        let Some(d) = self.dialog_of(leg) else { return };
        // Hold: we offer sendonly (RFC 6337 §5.3), resume: sendrecv.
        let offer = {
            let mut legs = self.inner.legs.lock().expect("legs lock");
            let Some(st) = legs.get_mut(&leg) else { return };
            st.sdp_version += 1;
            let dir = if hold {
                sdp::Direction::SendOnly
            } else {
                sdp::Direction::SendRecv
            };
            let mut local = self.local_audio(st.rtp_port, st.sdp_version, dir);
            local.codecs = vec![st.codec];
            local.telephone_events = sdp::our_telephone_events(&local.codecs);
            local.render()
        };
        let resp = d
            .reinvite(Some(vec![Self::sdp_header()]), Some(offer.into_bytes()))
            .await;
        let ok = matches!(&resp, Ok(Some(r)) if u16::from(r.status_code.clone()) / 100 == 2);
        if ok {
            self.rtp_set_hold(leg, hold);
            if let Some(s) = self.inner.legs.lock().expect("legs lock").get_mut(&leg) {
                s.held_by_us = hold;
                // Our offer, their answer: from now on we are the offerer,
                // so an offerless re-INVITE gets an offer, not an answer to
                // the peer's old SDP.
                s.remote = None;
            }
        }
        self.call_event(SipInput::HoldResult {
            leg,
            held: hold,
            ok,
        });
    }

    async fn refer(&self, leg: Leg, target: String, replaces: Option<Leg>) {
        let Some(d) = self.dialog_of(leg) else { return };
        let uri = match self.target_uri(&target) {
            Ok(u) => u,
            Err(e) => {
                self.emit(UaEvent::Problem(e));
                return;
            }
        };
        let refer_to = match replaces.map(|r| self.replaces_of(r)) {
            None => rsipstack::sip::ReferTo::from(uri),
            Some(Some(r)) => rsipstack::sip::ReferTo::new(format!("<{uri}?Replaces={r}>")),
            // The consult dialog is gone: nothing to replace.
            Some(None) => {
                return self.call_event(SipInput::ReferAnswered { leg, code: 481 });
            }
        };
        match d.refer(refer_to, None, None).await {
            Ok(Some(r)) => {
                let code = u16::from(r.status_code.clone());
                // 202 Accepted: progress follows in NOTIFY (RFC 3515 §2.4.4).
                self.call_event(SipInput::ReferAnswered { leg, code });
            }
            _ => self.call_event(SipInput::ReferAnswered { leg, code: 408 }),
        }
    }

    /// The escaped `Replaces` value (RFC 3891 §6.1) naming `leg`'s dialog
    /// as its other end sees it: to-tag is that end's tag (our remote
    /// tag), from-tag ours (RFC 5589 §7.1).
    fn replaces_of(&self, leg: Leg) -> Option<String> {
        let id = self.dialog_of(leg)?.id();
        let raw = format!(
            "{};to-tag={};from-tag={}",
            id.call_id, id.remote_tag, id.local_tag
        );
        Some(escape_uri_header(&raw))
    }

    async fn dtmf_info(&self, leg: Leg, digit: char) {
        let Some(d) = self.dialog_of(leg) else { return };
        let body = format!("Signal={digit}\r\nDuration=160\r\n");
        let headers = vec![Header::ContentType("application/dtmf-relay".into())];
        match d.info(Some(headers), Some(body.into_bytes())).await {
            Ok(Some(r)) if u16::from(r.status_code.clone()) / 100 == 2 => {}
            Ok(Some(r)) => self.emit(UaEvent::Problem(format!(
                "DTMF {digit} refused: {}",
                u16::from(r.status_code.clone())
            ))),
            _ => self.emit(UaEvent::Problem(format!("DTMF {digit}: no answer"))),
        }
    }

    fn leg_for(&self, id: &DialogId) -> Option<Leg> {
        self.inner
            .by_call_id
            .lock()
            .expect("call-id lock")
            .get(&id.call_id)
            .copied()
    }

    async fn state_loop(self, mut rx: DialogStateReceiver) {
        while let Some(state) = rx.recv().await {
            self.on_state(state).await;
        }
    }

    async fn on_state(&self, state: DialogState) {
        match state {
            DialogState::Early(id, resp) => {
                if let Some(leg) = self.leg_for(&id) {
                    self.call_event(SipInput::Progress {
                        leg,
                        code: u16::from(resp.status_code.clone()),
                    });
                }
            }
            DialogState::Confirmed(id, _) => {
                let Some(leg) = self.leg_for(&id) else { return };
                // Confirmed repeats after every answered re-INVITE: report
                // only the first, for inbound calls (ACK of our 200).
                let first = {
                    let mut legs = self.inner.legs.lock().expect("legs lock");
                    match legs.get_mut(&leg) {
                        Some(s) if s.inbound && !s.confirmed => {
                            s.confirmed = true;
                            true
                        }
                        _ => false,
                    }
                };
                if first {
                    let remote = self
                        .inner
                        .legs
                        .lock()
                        .expect("legs lock")
                        .get(&leg)
                        .and_then(|s| s.remote.clone());
                    if let Some(r) = remote {
                        self.start_rtp_media(leg, &r);
                    }
                    self.call_event(SipInput::Confirmed { leg });
                }
            }
            DialogState::Updated(id, req, handle) => self.on_update(id, req, handle).await,
            DialogState::Info(id, req, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
                if let Some(leg) = self.leg_for(&id)
                    && let Some(digit) = parse_dtmf_relay(&String::from_utf8_lossy(&req.body))
                {
                    self.call_event(SipInput::Dtmf { leg, digit });
                }
            }
            DialogState::Notify(id, req, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
                if let Some(leg) = self.leg_for(&id)
                    && let Some(code) = parse_sipfrag(&String::from_utf8_lossy(&req.body))
                {
                    // The stack sends our 200 from its own task: let it
                    // leave before the BYE or REFER this NOTIFY leads to,
                    // so a strict peer sees them in order.
                    tokio::time::sleep(NOTIFY_SETTLE).await;
                    let done = code >= 200;
                    self.call_event(SipInput::TransferProgress { leg, code, done });
                }
            }
            DialogState::Options(_, _, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
            }
            DialogState::Refer(id, req, handle) => self.on_refer(id, req, handle).await,
            DialogState::Message(_, _, handle) | DialogState::Publish(_, _, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
            }
            DialogState::Terminated(id, reason) => self.on_terminated(id, reason),
            DialogState::Calling(_) | DialogState::Trying(_) | DialogState::WaitAck(_, _) => {}
        }
    }

    /// A re-INVITE or UPDATE from the peer: answer it, and tell the agent
    /// when it is a hold or a resume (RFC 3264 §8.4).
    async fn on_update(
        &self,
        id: DialogId,
        req: rsipstack::sip::Request,
        handle: TransactionHandle,
    ) {
        let Some(leg) = self.leg_for(&id) else {
            let _ = handle.reply(StatusCode::CallTransactionDoesNotExist).await;
            return;
        };
        if req.method != Method::Invite && req.method != Method::Update {
            let _ = handle.reply(StatusCode::OK).await;
            return;
        }
        if req.body.is_empty() {
            // A session refresh (RFC 4028) or an offerless re-INVITE: answer
            // with our current SDP as an offer.
            let sdp = self
                .webrtc_local_sdp(leg)
                .or_else(|| self.leg_sdp(leg, false));
            let _ = handle
                .respond(
                    StatusCode::OK,
                    Some(vec![Self::sdp_header()]),
                    sdp.map(String::into_bytes),
                )
                .await;
            return;
        }
        let remote = match sdp::parse(&String::from_utf8_lossy(&req.body)) {
            Ok(r) => r,
            Err(e) => {
                self.emit(UaEvent::Problem(format!("re-INVITE refused: {e}")));
                let _ = handle.reply(StatusCode::NotAcceptableHere).await;
                return;
            }
        };
        if self.is_webrtc(leg) {
            return self.webrtc_update(leg, remote, &req.body, handle).await;
        }
        let codec = match sdp::choose_codec(&remote, self.inner.cfg.codecs.as_slice()) {
            Ok(c) => c,
            Err(e) => {
                self.emit(UaEvent::Problem(format!("re-INVITE refused: {e}")));
                let _ = handle.reply(StatusCode::NotAcceptableHere).await;
                return;
            }
        };
        let (answer, was_held) = {
            let mut legs = self.inner.legs.lock().expect("legs lock");
            let Some(st) = legs.get_mut(&leg) else { return };
            let was_held = st.remote.as_ref().is_some_and(|r| r.direction.is_hold());
            st.sdp_version += 1;
            st.codec = codec;
            let local = self.local_audio(st.rtp_port, st.sdp_version, sdp::Direction::SendRecv);
            let answer = local.answer(&remote, codec, st.held_by_us);
            st.remote = Some(remote.clone());
            (answer, was_held)
        };
        let _ = handle
            .respond(
                StatusCode::OK,
                Some(vec![Self::sdp_header()]),
                Some(answer.into_bytes()),
            )
            .await;
        self.rtp_follow_offer(leg, &remote, codec);
        let now_held = remote.direction.is_hold();
        if now_held != was_held {
            self.call_event(SipInput::RemoteHold {
                leg,
                held: now_held,
            });
        }
    }

    fn on_terminated(&self, id: DialogId, reason: TerminatedReason) {
        self.inner.dialogs.remove_dialog(&id);
        let Some(leg) = self.leg_for(&id) else { return };
        let (ended_locally, inbound, confirmed) = {
            let legs = self.inner.legs.lock().expect("legs lock");
            match legs.get(&leg) {
                Some(s) => (s.ended_locally, s.inbound, s.confirmed),
                None => return,
            }
        };
        if ended_locally {
            self.forget(leg);
            return;
        }
        if !inbound {
            // Outbound failures arrive through the INVITE's final response;
            // only a BYE after answer is news here.
            if confirmed {
                self.forget(leg);
                self.call_event(SipInput::RemoteBye { leg });
            }
            return;
        }
        self.forget(leg);
        match reason {
            TerminatedReason::UacCancel => self.call_event(SipInput::RemoteCancel { leg }),
            TerminatedReason::Timeout if !confirmed => {
                self.call_event(SipInput::Failed { leg, code: None })
            }
            _ if !confirmed => self.call_event(SipInput::RemoteCancel { leg }),
            _ => self.call_event(SipInput::RemoteBye { leg }),
        }
    }
}

// ---- The WebRTC branch -------------------------------------------------
//
// A leg is WebRTC when the peer's INVITE offers WebRTC (`sdp::parse(..).webrtc`)
// or when the account has `media = "webrtc"` and we call. Its SDP comes from
// a `WebRtcSession` instead of `LocalAudio`; everything else (dialogs, BYE,
// CANCEL, INFO) is shared with the plain RTP path.

/// A WebRTC leg's media.
#[derive(Default)]
struct WebRtcLeg {
    /// The peer's offer, until the agent accepts (inbound).
    pending_offer: Option<String>,
    session: Option<Arc<tokio::sync::Mutex<WebRtcSession>>>,
    /// Our current local description (offer or answer).
    local_sdp: Option<String>,
    /// The audio channels, until the audio path takes them.
    io: Option<AudioIo>,
    /// Stops the leg's audio pump when the leg is forgotten.
    audio: Option<tokio_util::sync::DropGuard>,
}

impl SipUa {
    fn webrtc_opts(&self) -> WebRtcOptions {
        WebRtcOptions {
            bind_ip: self.inner.local_ip,
            // Bound to loopback (a server on this host): ICE needs the
            // loopback candidates, or no pair exists.
            include_loopback: self.inner.local_ip.is_loopback(),
            stun_servers: self.inner.cfg.stun_servers.clone(),
            turn: self.inner.turn.clone(),
            relay_only: self.inner.cfg.ice_policy == crate::sip::IcePolicy::Relay,
            ..WebRtcOptions::default()
        }
    }

    /// TURN is configured but our SDP has no relay candidate: the server
    /// did not answer within the gathering bound, or refused our
    /// credentials. `Err` when the call cannot go on without one (relay
    /// only); a notice either way (it would otherwise fail silently at ICE).
    fn check_relay(&self, sdp: &str) -> Result<(), ()> {
        let Some(t) = &self.inner.turn else {
            return Ok(());
        };
        if sdp.contains(" typ relay") {
            return Ok(());
        }
        let relay_only = self.inner.cfg.ice_policy == crate::sip::IcePolicy::Relay;
        self.emit(UaEvent::Problem(format!(
            "TURN {} gave no relay address within {:?} (unreachable, or the credentials were refused){}",
            t.urls.join(", "),
            WebRtcOptions::default().gather_timeout,
            if relay_only {
                "; ice_policy = \"relay\": the call cannot be set up"
            } else {
                "; the call goes on without a relay"
            }
        )));
        if relay_only { Err(()) } else { Ok(()) }
    }

    fn webrtc_legs(&self) -> std::sync::MutexGuard<'_, HashMap<Leg, WebRtcLeg>> {
        self.inner.webrtc.lock().expect("webrtc lock")
    }

    /// Does this leg carry WebRTC media?
    pub fn is_webrtc(&self, leg: Leg) -> bool {
        self.webrtc_legs().contains_key(&leg)
    }

    /// The leg's audio channels (once): PCM frames both ways and media
    /// events. Only for an embedder that pumps them itself
    /// ([`SipUa::pump_webrtc_audio_externally`]); otherwise the UA pumps
    /// them to the audio device when the call is up.
    pub fn take_webrtc_audio(&self, leg: Leg) -> Option<AudioIo> {
        self.webrtc_legs().get_mut(&leg).and_then(|w| w.io.take())
    }

    /// Packet and byte counters of the leg's media.
    pub async fn webrtc_stats(&self, leg: Leg) -> Option<MediaStats> {
        let session = self.webrtc_session(leg)?;
        let stats = session.lock().await.stats();
        Some(stats)
    }

    fn webrtc_session(&self, leg: Leg) -> Option<Arc<tokio::sync::Mutex<WebRtcSession>>> {
        self.webrtc_legs().get(&leg).and_then(|w| w.session.clone())
    }

    fn webrtc_store(&self, leg: Leg, mut session: WebRtcSession, sdp: String) {
        let io = session.take_io();
        let mut legs = self.webrtc_legs();
        let w = legs.entry(leg).or_default();
        w.pending_offer = None;
        w.io = io;
        w.session = Some(Arc::new(tokio::sync::Mutex::new(session)));
        w.local_sdp = Some(sdp);
    }

    fn webrtc_local_sdp(&self, leg: Leg) -> Option<String> {
        self.webrtc_legs()
            .get(&leg)
            .and_then(|w| w.local_sdp.clone())
    }

    fn webrtc_note_offer(&self, leg: Leg, offer: &str) {
        self.webrtc_legs().insert(
            leg,
            WebRtcLeg {
                pending_offer: Some(offer.to_string()),
                ..WebRtcLeg::default()
            },
        );
    }

    /// Closing happens when the session is dropped (it closes its transport).
    fn webrtc_forget(&self, leg: Leg) {
        let gone = self.webrtc_legs().remove(&leg);
        drop(gone);
    }

    fn webrtc_set_mute(&self, leg: Leg, mute: bool) {
        if let Some(s) = self.webrtc_session(leg) {
            tokio::spawn(async move { s.lock().await.set_mute(mute) });
        }
    }

    /// We call with WebRTC: make the offer (ICE gathered), then INVITE.
    async fn webrtc_invite(self, leg: Leg, target: String, extra: Vec<Header>) {
        match WebRtcSession::offer(self.webrtc_opts()).await {
            Ok((_, sdp)) if self.check_relay(&sdp).is_err() => {
                self.call_event(SipInput::Failed { leg, code: None });
            }
            Ok((session, sdp)) => {
                self.webrtc_store(leg, session, sdp);
                self.invite(leg, target, extra);
            }
            Err(e) => {
                self.emit(UaEvent::Problem(format!("cannot start WebRTC media: {e}")));
                self.call_event(SipInput::Failed { leg, code: None });
            }
        }
    }

    /// The 2xx to our WebRTC INVITE; true when the leg is WebRTC.
    async fn webrtc_apply_answer(&self, leg: Leg, body: &[u8]) -> bool {
        let Some(session) = self.webrtc_session(leg) else {
            return false;
        };
        let r = session
            .lock()
            .await
            .apply_answer(&String::from_utf8_lossy(body))
            .await;
        if let Err(e) = r {
            self.emit(UaEvent::Problem(format!(
                "the WebRTC answer was refused: {e}"
            )));
        }
        true
    }

    /// Accept an inbound WebRTC offer: the answer is made (ICE gathered)
    /// off the engine loop, then sent in the 200. False for plain RTP legs.
    fn webrtc_accept(&self, leg: Leg) -> bool {
        let offer = self
            .webrtc_legs()
            .get(&leg)
            .and_then(|w| w.pending_offer.clone());
        let Some(offer) = offer else { return false };
        let ua = self.clone();
        tokio::spawn(async move {
            let answer = WebRtcSession::answer(ua.webrtc_opts(), &offer)
                .await
                .and_then(|(session, sdp)| match ua.check_relay(&sdp) {
                    Ok(()) => Ok((session, sdp)),
                    Err(()) => Err(crate::webrtc_media::WebRtcError::Stack(
                        "no TURN relay address".into(),
                    )),
                });
            match answer {
                Ok((session, sdp)) => {
                    ua.webrtc_store(leg, session, sdp.clone());
                    if let Some(d) = ua.dialog_of(leg)
                        && let Err(e) =
                            d.accept(Some(vec![Self::sdp_header()]), Some(sdp.into_bytes()))
                    {
                        ua.emit(UaEvent::Problem(format!("could not answer: {e}")));
                    }
                }
                Err(e) => {
                    ua.emit(UaEvent::Problem(format!("cannot answer with WebRTC: {e}")));
                    ua.mark_local_end(leg);
                    if let Some(d) = ua.dialog_of(leg) {
                        let _ = d.reject(Some(StatusCode::NotAcceptableHere), None);
                    }
                    ua.forget(leg);
                }
            }
        });
        true
    }

    /// A re-INVITE / UPDATE offer on a WebRTC leg (e.g. JsSIP's hold):
    /// answered by the same session, so the transport and media stay up.
    async fn webrtc_update(
        &self,
        leg: Leg,
        remote: RemoteAudio,
        body: &[u8],
        handle: TransactionHandle,
    ) {
        let Some(session) = self.webrtc_session(leg) else {
            let _ = handle.reply(StatusCode::NotAcceptableHere).await;
            return;
        };
        let answer = session
            .lock()
            .await
            .handle_reoffer(&String::from_utf8_lossy(body))
            .await;
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                self.emit(UaEvent::Problem(format!("re-INVITE refused: {e}")));
                let _ = handle.reply(StatusCode::NotAcceptableHere).await;
                return;
            }
        };
        if let Some(w) = self.webrtc_legs().get_mut(&leg) {
            w.local_sdp = Some(answer.clone());
        }
        let was_held = {
            let mut legs = self.inner.legs.lock().expect("legs lock");
            let Some(st) = legs.get_mut(&leg) else { return };
            let was_held = st.remote.as_ref().is_some_and(|r| r.direction.is_hold());
            st.remote = Some(remote.clone());
            was_held
        };
        let _ = handle
            .respond(
                StatusCode::OK,
                Some(vec![Self::sdp_header()]),
                Some(answer.into_bytes()),
            )
            .await;
        let now_held = remote.direction.is_hold();
        if now_held != was_held {
            self.call_event(SipInput::RemoteHold {
                leg,
                held: now_held,
            });
        }
    }

    /// Hold on a WebRTC leg is not done by re-INVITE here (the VCC platform
    /// holds by push request); refuse it visibly rather than send plain SDP.
    fn webrtc_hold_refused(&self, leg: Leg, hold: bool) -> bool {
        if !self.is_webrtc(leg) {
            return false;
        }
        self.emit(UaEvent::Problem(
            "hold by re-INVITE is not available on WebRTC calls".to_string(),
        ));
        self.call_event(SipInput::HoldResult {
            leg,
            held: hold,
            ok: false,
        });
        true
    }
}

fn backoff(failures: u32) -> Duration {
    // 2, 4, 8, … capped at 60 s.
    Duration::from_secs((1u64 << failures.min(6)).min(60))
}

/// Digest credentials must never reach a notice or a log.
fn redact(text: &str) -> String {
    match text.find("Authorization") {
        Some(i) => format!("{}<redacted>", &text[..i]),
        None => text.to_string(),
    }
}

/// The caller's number and name: P-Asserted-Identity first (RFC 3325),
/// then From. `pub` only for the fuzz targets (fuzz/), which parse raw
/// datagrams with the same rsipstack parser; not an API.
#[doc(hidden)]
pub fn caller_identity(req: &rsipstack::sip::Request) -> (String, Option<String>) {
    for h in req.headers.iter() {
        if let Header::Other(name, value) = h
            && name.eq_ignore_ascii_case("P-Asserted-Identity")
            && let Some(id) = parse_name_addr(value)
        {
            return id;
        }
    }
    if let Ok(from) = req.from_header()
        && let Some(id) = parse_name_addr(from.value())
    {
        return id;
    }
    ("unknown".to_string(), None)
}

/// `"Name" <sip:user@host>;tag=x` → (user, Some(Name)).
pub fn parse_name_addr(value: &str) -> Option<(String, Option<String>)> {
    let value = value.trim();
    let (name, uri) = match value.find('<') {
        Some(i) => {
            let end = value[i..].find('>').map(|j| i + j)?;
            (
                value[..i].trim().trim_matches('"').trim(),
                &value[i + 1..end],
            )
        }
        None => ("", value.split(';').next().unwrap_or(value)),
    };
    let uri = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))
        .or_else(|| uri.strip_prefix("tel:"))
        .unwrap_or(uri);
    // Header text reaches the screen and the history: no terminal controls.
    let user = crate::sanitize::one_line(uri.split(['@', ';']).next().unwrap_or(uri)).into_owned();
    if user.is_empty() {
        return None;
    }
    let name = (!name.is_empty()).then(|| crate::sanitize::one_line(name).into_owned());
    Some((user, name))
}

/// `Signal=5` in an `application/dtmf-relay` INFO body.
pub fn parse_dtmf_relay(body: &str) -> Option<char> {
    body.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("signal") {
            v.trim().chars().next()
        } else {
            None
        }
    })
}

/// Percent-escape a URI header value (RFC 3261 §25.1 `hvalue`): only
/// unreserved characters stay as they are.
pub fn escape_uri_header(v: &str) -> String {
    let mut out = String::with_capacity(v.len() * 2);
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `SIP/2.0 200 OK` in a `message/sipfrag` NOTIFY body (RFC 3515 §2.4.5).
pub fn parse_sipfrag(body: &str) -> Option<u16> {
    let line = body.lines().next()?;
    let mut it = line.split_whitespace();
    if !it.next()?.starts_with("SIP/") {
        return None;
    }
    it.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_addr_forms() {
        assert_eq!(
            parse_name_addr("\"Nguyễn Văn A\" <sip:0912345678@pbx;user=phone>;tag=1"),
            Some(("0912345678".into(), Some("Nguyễn Văn A".into())))
        );
        assert_eq!(
            parse_name_addr("sip:alice@127.0.0.1;tag=9"),
            Some(("alice".into(), None))
        );
        assert_eq!(
            parse_name_addr("<tel:+84912345678>"),
            Some(("+84912345678".into(), None))
        );
        // Terminal controls from the wire never leave the parser raw.
        assert_eq!(
            parse_name_addr("\"Evil\x1b]0;x\x07\" <sip:0912555002\x1b[31m@pbx>;tag=1"),
            Some((
                "0912555002\u{fffd}[31m".into(),
                Some("Evil\u{fffd}]0;x\u{fffd}".into())
            ))
        );
    }

    #[test]
    fn dtmf_and_sipfrag_bodies() {
        assert_eq!(parse_dtmf_relay("Signal=5\r\nDuration=160\r\n"), Some('5'));
        assert_eq!(parse_dtmf_relay("nothing"), None);
        assert_eq!(parse_sipfrag("SIP/2.0 180 Ringing\r\n"), Some(180));
        assert_eq!(parse_sipfrag("garbage"), None);
    }

    #[test]
    fn redact_hides_digest() {
        assert_eq!(
            redact("failed: Authorization: Digest username=\"a\", response=\"x\""),
            "failed: <redacted>"
        );
    }
}
