//! One SIP account over rsipstack: registration, INVITE dialogs both ways,
//! CANCEL, BYE, hold re-INVITEs, REFER, INFO, OPTIONS.
//!
//! The [`SipUa`] executes [`SipAction`](crate::call::softphone::SipAction)s from the call logic and reports
//! what happened on the wire as [`UaEvent`]s. It never decides anything
//! about calls; that is `call::softphone`'s job. No rsipstack type leaves
//! this module (`ua/`), whose files each hold one concern.

use std::collections::HashMap;
use std::net::{IpAddr, UdpSocket as StdUdpSocket};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::DialogStateSender;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::transport::SipAddr;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::config::SipConfig;
use super::sdp::{self, RemoteAudio};
use crate::call::softphone::{Leg, SipInput};
use crate::engine::RegState;

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
    #[error("cannot use {path} for our TLS listener: {reason}")]
    TlsServer { path: String, reason: String },
    #[error("TURN: {0}")]
    Turn(String),
}

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

mod actions;
mod attempt;
mod conference;
mod dialog_state;
mod headers;
mod ice_restart;
mod in_dialog;
mod inbound;
mod legs;
mod outbound;
mod probe;
mod register;
mod rtp_media;
mod start;
mod tls_listen;
mod transfer;
mod webrtc;
mod webrtc_audio;
mod wss;

#[doc(hidden)]
pub use headers::caller_identity;
use headers::redact;
pub use headers::{escape_uri_header, parse_dtmf_relay, parse_name_addr, parse_sipfrag};
use webrtc::WebRtcLeg;

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

impl SipUa {
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
}
