//! Starting the UA: bind the transports (UDP always, TCP for TCP accounts),
//! load the CA bundle for TLS/WSS, build the rsipstack endpoint and its
//! gate, and spawn the loops (incoming requests, dialog states, REGISTER).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::{Arc, Mutex};

use rsipstack::EndpointBuilder;
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::transaction::endpoint::EndpointOption;
use rsipstack::transport::tcp_listener::TcpListenerConnection;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, TransportLayer};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Inner, SipUa, UaError, UaEvent, conference};
use crate::engine::RegState;
use crate::secret::Secret;
use crate::sip::config::{SipConfig, Transport};

/// Debian's bundle of the system's trusted CAs.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

pub(super) fn to_stack_transport(t: Transport) -> rsipstack::sip::Transport {
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
                crate::sip::gate::Gate::new(
                    crate::sip::admission::Limits::default(),
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
}
