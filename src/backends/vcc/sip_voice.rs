//! The device-1 voice leg for real (VCC-PROTOCOL.md §4): SIP over
//! WebSocket to `account.sip_socket` as `sip:{agent_id}@{sip_server_url}`,
//! WebRTC media, as JsSIP does in the web embed.
//!
//! The policy (`call::vcc`) decides *when*; this executes its
//! [`VoiceAction`]s on a [`SipUa`] and reports [`VoiceEvent`]s back.
//!
//! ```text
//!  Start ─▶ worker task: SipUa::start (REGISTER over WS) ─┬─ Incoming / Dial legs
//!  Stop  ─▶ worker: hang up its legs, un-REGISTER, close  │   audio pump per answered leg:
//!                                                          │   device ─20 ms─▶ to_peer
//!                                                          └─  from_peer ─▶ device
//! ```
//!
//! One worker per Start: a Stop followed at once by a Start (the SDK's
//! re-register after `IPCC_NOT_CONNECT_AGENT_ID`) lets the old worker
//! un-REGISTER its own Contact while the new one registers another.
//! Leg ids are shared with the UA one to one: inbound legs are the UA's own
//! (counted from 1), dialled legs are the policy's (from
//! [`crate::call::vcc::DIALED_LEG_BASE`]), so they never collide.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::voice::{VoiceAccount, VoiceLeg};
use crate::call::softphone::{Leg, SipAction, SipInput};
use crate::call::vcc::{LegId, VoiceAction, VoiceEvent};
use crate::engine::{EndReason, RegState};
use crate::media::{AudioConfig, AudioDevice};
use crate::sip::ua::{SipUa, UaEvent};
use crate::sip::{MediaMode, SecondCall, SipConfig, Transport};
use crate::webrtc_media::{AudioIo, FRAME_SAMPLES, SAMPLE_RATE};

/// How long a stopping worker waits for the un-REGISTER.
const UNREGISTER_WAIT: Duration = Duration::from_secs(2);
/// How long BYEs of live legs get before the un-REGISTER on stop.
const BYE_WAIT: Duration = Duration::from_millis(300);
/// REGISTER expiry: JsSIP's default (VCC-PROTOCOL.md §4).
const REGISTER_EXPIRES: u32 = 600;

/// The device-1 voice leg over [`SipUa`].
pub struct SipVoiceLeg {
    audio: AudioConfig,
    account: Option<VoiceAccount>,
    events: Option<mpsc::UnboundedSender<VoiceEvent>>,
    worker: Option<Worker>,
    /// Workers told to stop, still hanging up and un-REGISTERing.
    stopping: Vec<JoinHandle<()>>,
    /// Numbers the calls' audio devices (`call-<n>-heard.wav`).
    calls: Arc<AtomicU64>,
}

struct Worker {
    orders: mpsc::UnboundedSender<VoiceAction>,
    task: JoinHandle<()>,
}

impl SipVoiceLeg {
    /// Calls' audio goes to and from `audio` (`[audio]`).
    pub fn new(audio: AudioConfig) -> SipVoiceLeg {
        SipVoiceLeg {
            audio,
            account: None,
            events: None,
            worker: None,
            stopping: Vec::new(),
            calls: Arc::new(AtomicU64::new(0)),
        }
    }

    fn emit(&self, e: VoiceEvent) {
        if let Some(tx) = &self.events {
            let _ = tx.send(e);
        }
    }

    fn stop_worker(&mut self) {
        if let Some(w) = self.worker.take() {
            // Dropping the order channel is the stop signal.
            drop(w.orders);
            self.stopping.retain(|t| !t.is_finished());
            self.stopping.push(w.task);
        }
    }
}

impl Default for SipVoiceLeg {
    fn default() -> Self {
        SipVoiceLeg::new(AudioConfig::default())
    }
}

/// The UA's account for a VCC voice leg.
pub fn sip_config(account: &VoiceAccount) -> SipConfig {
    let transport = if account.ws_url.starts_with("wss://") {
        Transport::Wss
    } else {
        Transport::Ws
    };
    SipConfig {
        user: account.user.clone(),
        server: account.domain.clone(),
        transport,
        ws_url: Some(account.ws_url.clone()),
        domain: Some(account.domain.clone()),
        auth_user: None,
        password_file: None,
        display_name: None,
        expires: REGISTER_EXPIRES,
        register: true,
        bind: "0.0.0.0".into(),
        insecure_tls: false,
        ca_file: None,
        stun_servers: Vec::new(),
        second_call: SecondCall::Reject,
        ring_timeout_s: 60,
        inbound_ring_timeout_s: 60,
        media: MediaMode::Webrtc,
        codecs: Default::default(),
    }
}

impl VoiceLeg for SipVoiceLeg {
    fn configure(&mut self, account: VoiceAccount, events: mpsc::UnboundedSender<VoiceEvent>) {
        self.account = Some(account);
        self.events = Some(events);
    }

    fn execute(&mut self, action: VoiceAction) {
        match action {
            VoiceAction::Start => {
                if self.worker.as_ref().is_some_and(|w| !w.task.is_finished()) {
                    return;
                }
                let (Some(account), Some(events)) = (self.account.clone(), self.events.clone())
                else {
                    tracing::warn!("vcc voice: Start before the account is known; ignored");
                    return;
                };
                let (tx, rx) = mpsc::unbounded_channel();
                let task = tokio::spawn(work(
                    account,
                    self.audio.clone(),
                    events,
                    rx,
                    self.calls.clone(),
                ));
                self.worker = Some(Worker { orders: tx, task });
            }
            VoiceAction::Stop => {
                self.stop_worker();
                self.emit(VoiceEvent::Registration(RegState::None));
            }
            other => {
                let leg = leg_of(&other);
                let dtmf = matches!(other, VoiceAction::Dtmf { .. });
                let sent = self
                    .worker
                    .as_ref()
                    .is_some_and(|w| w.orders.send(other).is_ok());
                // No running leg: say the call is gone rather than leave it hanging.
                if !sent
                    && !dtmf
                    && let Some(leg) = leg
                {
                    self.emit(VoiceEvent::Ended {
                        leg,
                        reason: EndReason::TransportLost,
                    });
                }
            }
        }
    }

    fn finish(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        self.stop_worker();
        let tasks = std::mem::take(&mut self.stopping);
        Box::pin(async move {
            for t in tasks {
                let _ = t.await;
            }
        })
    }
}

fn leg_of(a: &VoiceAction) -> Option<LegId> {
    match a {
        VoiceAction::Start | VoiceAction::Stop => None,
        VoiceAction::Answer { leg }
        | VoiceAction::Hangup { leg }
        | VoiceAction::Reject { leg, .. }
        | VoiceAction::Dial { leg, .. }
        | VoiceAction::Dtmf { leg, .. } => Some(*leg),
    }
}

/// One call of the worker.
struct LegInfo {
    inbound: bool,
    /// We sent the 200 (inbound): a hang-up is then a BYE, not a 486.
    accepted: bool,
    answered: bool,
    audio: Option<CancellationToken>,
}

fn ua_leg(leg: LegId) -> Leg {
    Leg(leg.0)
}

fn vcc_leg(leg: Leg) -> LegId {
    LegId(leg.0)
}

/// Why an outbound leg failed, from its final code.
fn failure_reason(code: Option<u16>) -> EndReason {
    match code {
        Some(486) | Some(600) => EndReason::Busy,
        Some(408) | Some(480) => EndReason::NoAnswer,
        Some(487) => EndReason::Cancelled,
        None => EndReason::Timeout,
        Some(c) => EndReason::Failed {
            error_code: None,
            sip_code: Some(c),
        },
    }
}

struct Work {
    ua: SipUa,
    audio: AudioConfig,
    events: mpsc::UnboundedSender<VoiceEvent>,
    legs: HashMap<Leg, LegInfo>,
    domain: String,
    calls: Arc<AtomicU64>,
}

async fn work(
    account: VoiceAccount,
    audio: AudioConfig,
    events: mpsc::UnboundedSender<VoiceEvent>,
    mut orders: mpsc::UnboundedReceiver<VoiceAction>,
    calls: Arc<AtomicU64>,
) {
    let (ua_tx, mut ua_rx) = mpsc::unbounded_channel();
    let cfg = sip_config(&account);
    tracing::info!(user = %cfg.user, domain = %account.domain, ws = %account.ws_url,
        "vcc voice: starting the SIP-over-WebSocket leg");
    let ua = match SipUa::start(cfg, account.password.clone(), ua_tx).await {
        Ok(ua) => ua,
        Err(e) => {
            tracing::warn!("vcc voice: cannot start SIP: {e}");
            let _ = events.send(VoiceEvent::Registration(RegState::Failed {
                code: None,
                reason: e.to_string(),
            }));
            // Refuse what comes until stopped.
            while let Some(a) = orders.recv().await {
                if let Some(leg) = leg_of(&a) {
                    let _ = events.send(VoiceEvent::Ended {
                        leg,
                        reason: EndReason::TransportLost,
                    });
                }
            }
            return;
        }
    };
    let mut w = Work {
        ua,
        audio,
        events,
        legs: HashMap::new(),
        domain: account.domain.clone(),
        calls,
    };
    loop {
        tokio::select! {
            o = orders.recv() => match o {
                Some(a) => w.act(a),
                None => break,
            },
            e = ua_rx.recv() => match e {
                Some(e) => w.ua_event(e),
                None => break,
            },
        }
    }
    // Stop: hang up what is live, then un-REGISTER and close.
    let live: Vec<Leg> = w.legs.keys().copied().collect();
    for leg in &live {
        w.hang_up(*leg);
    }
    if !live.is_empty() {
        tokio::time::sleep(BYE_WAIT).await;
    }
    w.ua.stop(UNREGISTER_WAIT).await;
    tracing::info!("vcc voice: SIP leg stopped");
}

impl Work {
    fn emit(&self, e: VoiceEvent) {
        let _ = self.events.send(e);
    }

    fn act(&mut self, a: VoiceAction) {
        match a {
            VoiceAction::Start | VoiceAction::Stop => {}
            VoiceAction::Answer { leg } => {
                let l = ua_leg(leg);
                match self.legs.get_mut(&l) {
                    Some(info) if info.inbound && !info.accepted => {
                        info.accepted = true;
                        self.ua.execute(SipAction::Accept { leg: l });
                    }
                    Some(_) => {}
                    None => self.emit(VoiceEvent::Ended {
                        leg,
                        reason: EndReason::Cancelled,
                    }),
                }
            }
            VoiceAction::Hangup { leg } => {
                if self.legs.contains_key(&ua_leg(leg)) {
                    self.hang_up(ua_leg(leg));
                } else {
                    self.emit(VoiceEvent::Ended {
                        leg,
                        reason: EndReason::LocalHangup,
                    });
                }
            }
            VoiceAction::Reject { leg, code } => {
                let l = ua_leg(leg);
                if let Some(info) = self.legs.remove(&l) {
                    stop_audio(&info);
                    self.ua.execute(SipAction::Reject { leg: l, code });
                }
                self.emit(VoiceEvent::Ended {
                    leg,
                    reason: EndReason::Rejected { code },
                });
            }
            VoiceAction::Dial { leg, number } => {
                let l = ua_leg(leg);
                self.legs.insert(
                    l,
                    LegInfo {
                        inbound: false,
                        accepted: false,
                        answered: false,
                        audio: None,
                    },
                );
                let target = format!("sip:{number}@{}", self.domain);
                self.ua.execute(SipAction::Invite { leg: l, target });
            }
            VoiceAction::Dtmf { leg, digit } => {
                // WebRTC legs have no RFC 4733 path here: SIP INFO, as JsSIP.
                self.ua.execute(SipAction::Dtmf {
                    leg: ua_leg(leg),
                    digit,
                });
            }
        }
    }

    /// BYE, CANCEL or 486, whatever the leg's state needs.
    fn hang_up(&mut self, leg: Leg) {
        let Some(info) = self.legs.remove(&leg) else {
            return;
        };
        stop_audio(&info);
        let action = match (info.inbound, info.answered || info.accepted) {
            (_, true) => SipAction::Bye { leg },
            (true, false) => SipAction::Reject { leg, code: 486 },
            (false, false) => SipAction::Cancel { leg },
        };
        self.ua.execute(action);
        self.emit(VoiceEvent::Ended {
            leg: vcc_leg(leg),
            reason: EndReason::LocalHangup,
        });
    }

    fn ended(&mut self, leg: Leg, reason: EndReason) {
        if let Some(info) = self.legs.remove(&leg) {
            stop_audio(&info);
            self.emit(VoiceEvent::Ended {
                leg: vcc_leg(leg),
                reason,
            });
        }
    }

    fn answered(&mut self, leg: Leg) {
        let Some(info) = self.legs.get_mut(&leg) else {
            return;
        };
        if info.answered {
            return;
        }
        info.answered = true;
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let cancel = CancellationToken::new();
        info.audio = Some(cancel.clone());
        tokio::spawn(pump_call(
            self.ua.clone(),
            leg,
            self.audio.clone(),
            n,
            cancel,
        ));
        self.emit(VoiceEvent::Answered { leg: vcc_leg(leg) });
    }

    fn ua_event(&mut self, e: UaEvent) {
        match e {
            UaEvent::Registration(s) => self.emit(VoiceEvent::Registration(s)),
            UaEvent::Problem(t) => tracing::warn!("vcc voice: {t}"),
            UaEvent::Media(_) => {}
            UaEvent::Call(i) => self.call_input(i),
        }
    }

    fn call_input(&mut self, i: SipInput) {
        match i {
            SipInput::Incoming {
                leg,
                number,
                display_name,
            } => {
                self.legs.insert(
                    leg,
                    LegInfo {
                        inbound: true,
                        accepted: false,
                        answered: false,
                        audio: None,
                    },
                );
                self.ua.execute(SipAction::Ringing { leg });
                self.emit(VoiceEvent::Incoming {
                    leg: vcc_leg(leg),
                    number,
                    display_name,
                });
            }
            SipInput::Progress { .. } => {}
            SipInput::Answered { leg } | SipInput::Confirmed { leg } => self.answered(leg),
            SipInput::Failed { leg, code } => {
                let inbound = self.legs.get(&leg).is_some_and(|l| l.inbound);
                let reason = if inbound {
                    EndReason::TransportLost
                } else {
                    failure_reason(code)
                };
                self.ended(leg, reason);
            }
            SipInput::RemoteCancel { leg } => self.ended(leg, EndReason::Cancelled),
            SipInput::RemoteBye { leg } => self.ended(leg, EndReason::RemoteHangup),
            SipInput::TransportLost => {
                let legs: Vec<Leg> = self.legs.keys().copied().collect();
                for leg in legs {
                    self.ended(leg, EndReason::TransportLost);
                }
            }
            SipInput::Dtmf { leg, digit } => {
                tracing::debug!(?leg, %digit, "vcc voice: DTMF received");
            }
            SipInput::RemoteHold { .. }
            | SipInput::HoldResult { .. }
            | SipInput::TransferProgress { .. } => {}
        }
    }
}

fn stop_audio(info: &LegInfo) {
    if let Some(c) = &info.audio {
        c.cancel();
    }
}

/// Wait for the leg's WebRTC audio, then pump it to and from the device.
async fn pump_call(ua: SipUa, leg: Leg, audio: AudioConfig, n: u64, cancel: CancellationToken) {
    let mut io = None;
    for _ in 0..200 {
        if let Some(x) = ua.take_webrtc_audio(leg) {
            io = Some(x);
            break;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
    }
    let Some(io) = io else {
        tracing::warn!(?leg, "vcc voice: the call has no WebRTC audio");
        return;
    };
    let device = match audio.open(n, SAMPLE_RATE) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!("vcc voice: audio device: {e}; the call goes on without it");
            Box::new(crate::media::NullDevice::new(SAMPLE_RATE))
        }
    };
    pump(io, device, cancel).await;
}

/// Device → peer one 20 ms frame per tick; peer → device as frames arrive.
pub async fn pump(io: AudioIo, mut device: Box<dyn AudioDevice>, cancel: CancellationToken) {
    let AudioIo {
        to_peer,
        mut from_peer,
        mut events,
    } = io;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut frame = vec![0i16; FRAME_SAMPLES];
    let mut device_ok = true;
    let mut events_open = true;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tick.tick() => {
                if device_ok && let Err(e) = device.read(&mut frame) {
                    tracing::warn!("vcc voice: microphone: {e}");
                    device_ok = false;
                }
                if !device_ok {
                    frame.fill(0);
                }
                match to_peer.try_send(frame.clone()) {
                    Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => {}
                    Err(mpsc::error::TrySendError::Closed(_)) => break,
                }
            }
            f = from_peer.recv() => match f {
                Some(f) => {
                    if device_ok && let Err(e) = device.write(&f) {
                        tracing::warn!("vcc voice: speaker: {e}");
                        device_ok = false;
                    }
                }
                None => break,
            },
            e = events.recv(), if events_open => match e {
                Some(e) => tracing::debug!(?e, "vcc voice: media"),
                None => events_open = false,
            },
        }
    }
    if let Err(e) = device.close() {
        tracing::warn!("vcc voice: closing the audio device: {e}");
    }
}
