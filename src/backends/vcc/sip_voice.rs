//! The device-1 voice leg for real (VCC-PROTOCOL.md §4): SIP over
//! WebSocket to `account.sip_socket` as `sip:{agent_id}@{sip_server_url}`,
//! WebRTC media, as JsSIP does in the web embed.
//!
//! The policy (`call::vcc`) decides *when*; this executes its
//! [`VoiceAction`]s on a [`SipUa`] and reports [`VoiceEvent`]s back.
//!
//! ```text
//!  Start ─▶ worker task: SipUa::start (REGISTER over WS) ── Incoming / Dial legs
//!  Stop  ─▶ worker: hang up its legs, un-REGISTER, close
//! ```
//!
//! Each answered leg's audio is pumped to and from `[audio]` by the UA
//! itself (`sip::ua::webrtc_audio`), as for a plain SIP account.
//!
//! Every leg runs on the SIP-leg core ([`crate::call::leg`]), as the plain
//! SIP account's do: the same dialog states, deadlines and end reasons, so
//! a 487 or a lost ACK reads the same to the agent on either backend. This
//! worker only owns the clock (the legs' deadlines) and the UA.
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
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::voice::{VoiceAccount, VoiceLeg};
use crate::call::leg::{Leg, News, SipAction, SipInput, SipLeg, Step};
use crate::call::vcc::{LegId, VoiceAction, VoiceEvent};
use crate::engine::{EndReason, RegState};
use crate::media::AudioConfig;
use crate::sip::ua::{SipUa, UaEvent};
use crate::sip::{IceSettings, MediaMode, SecondCall, SipConfig, Transport};

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
    /// `[vcc]`'s STUN/TURN settings for the WebRTC media.
    ice: IceSettings,
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
            ice: IceSettings::default(),
        }
    }

    /// The WebRTC media's STUN and TURN servers (`[vcc]`'s keys, as in
    /// `[sip]`).
    pub fn with_ice(mut self, ice: IceSettings) -> SipVoiceLeg {
        self.ice = ice;
        self
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

/// The UA's account for a VCC voice leg, with `[vcc]`'s ICE settings.
pub fn sip_config(account: &VoiceAccount, ice: &IceSettings) -> SipConfig {
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
        tls_cert_file: None,
        tls_key_file: None,
        stun_servers: ice.stun_servers.clone(),
        turn_servers: ice.turn_servers.clone(),
        turn_user: ice.turn_user.clone(),
        turn_password_file: ice.turn_password_file.clone(),
        ice_policy: ice.ice_policy,
        second_call: SecondCall::Reject,
        ring_timeout_s: 60,
        inbound_ring_timeout_s: 60,
        keepalive_s: 30,
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
                    self.ice.clone(),
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

fn ua_leg(leg: LegId) -> Leg {
    Leg(leg.0)
}

fn vcc_leg(leg: Leg) -> LegId {
    LegId(leg.0)
}

struct Work {
    ua: SipUa,
    events: mpsc::UnboundedSender<VoiceEvent>,
    /// The calls of this registration, on the leg core; a CANCELled one
    /// stays until its INVITE transaction is over.
    legs: HashMap<Leg, SipLeg>,
    domain: String,
    /// Our INVITE is CANCELled after this; a call to us gets 480 after
    /// `inbound_ring` (`[sip]`'s ring timeouts, as for a plain SIP account).
    ring: Duration,
    inbound_ring: Duration,
}

async fn work(
    account: VoiceAccount,
    ice: IceSettings,
    audio: AudioConfig,
    events: mpsc::UnboundedSender<VoiceEvent>,
    mut orders: mpsc::UnboundedReceiver<VoiceAction>,
    calls: Arc<AtomicU64>,
) {
    let (ua_tx, mut ua_rx) = mpsc::unbounded_channel();
    let cfg = sip_config(&account, &ice);
    let ring = Duration::from_secs(cfg.ring_timeout_s.into());
    let inbound_ring = Duration::from_secs(cfg.inbound_ring_timeout_s.into());
    tracing::info!(user = %cfg.user, domain = %account.domain, ws = %account.ws_url,
        "vcc voice: starting the SIP-over-WebSocket leg");
    // TURN settings are checked here first so a mistake names `vcc.` keys.
    let started = match ice.turn("vcc") {
        Ok(_) => SipUa::start(cfg, account.password.clone(), ua_tx)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    let ua = match started {
        Ok(ua) => ua,
        Err(e) => {
            tracing::warn!("vcc voice: cannot start SIP: {e}");
            let _ = events.send(VoiceEvent::Registration(RegState::Failed {
                code: None,
                reason: e,
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
    // The UA pumps each answered leg's audio to and from `[audio]`.
    ua.set_audio(audio);
    ua.number_calls_with(calls);
    let mut w = Work {
        ua,
        events,
        legs: HashMap::new(),
        domain: account.domain.clone(),
        ring,
        inbound_ring,
    };
    loop {
        let deadline = w.poll_timeout();
        let timer = async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            o = orders.recv() => match o {
                Some(a) => w.act(Instant::now(), a),
                None => break,
            },
            e = ua_rx.recv() => match e {
                Some(e) => w.ua_event(Instant::now(), e),
                None => break,
            },
            () = timer => w.handle_timeout(Instant::now()),
        }
    }
    // Stop: hang up what is live, then un-REGISTER and close.
    let now = Instant::now();
    let live: Vec<Leg> = w.legs.keys().copied().collect();
    for leg in &live {
        w.step(*leg, |s| s.hang_up(now));
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

    /// The earliest of the legs' deadlines.
    fn poll_timeout(&self) -> Option<Instant> {
        self.legs.values().filter_map(SipLeg::deadline).min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<Leg> = self
            .legs
            .values()
            .filter(|s| s.deadline().is_some_and(|d| d <= now))
            .map(SipLeg::leg)
            .collect();
        for leg in due {
            self.step(leg, |s| s.timeout(now));
        }
    }

    /// Run one transition of a leg: its wire action goes to the UA, its
    /// news to the policy, and a leg that is over is forgotten.
    fn step(&mut self, leg: Leg, f: impl FnOnce(&mut SipLeg) -> Step) {
        let Some(s) = self.legs.get_mut(&leg) else {
            return;
        };
        let step = f(s);
        if s.is_over() {
            self.legs.remove(&leg);
        }
        if let Some(a) = step.wire {
            self.ua.execute(a);
        }
        let leg = vcc_leg(leg);
        match step.news {
            // The policy hears of the platform's progress on push (1055).
            None | Some(News::Early) => {}
            Some(News::Answered | News::Confirmed) => self.emit(VoiceEvent::Answered { leg }),
            Some(News::Failed { code, reason }) => {
                self.emit(VoiceEvent::Failed { leg, code, reason })
            }
            Some(News::Ended(reason)) => self.emit(VoiceEvent::Ended { leg, reason }),
        }
    }

    fn act(&mut self, now: Instant, a: VoiceAction) {
        match a {
            VoiceAction::Start | VoiceAction::Stop => {}
            VoiceAction::Answer { leg } => {
                if self.legs.contains_key(&ua_leg(leg)) {
                    self.step(ua_leg(leg), |s| s.answer(now));
                } else {
                    // The caller is gone already.
                    self.emit(VoiceEvent::Ended {
                        leg,
                        reason: EndReason::Cancelled,
                    });
                }
            }
            VoiceAction::Hangup { leg } => {
                if self.legs.contains_key(&ua_leg(leg)) {
                    self.step(ua_leg(leg), |s| s.hang_up(now));
                } else {
                    self.emit(VoiceEvent::Ended {
                        leg,
                        reason: EndReason::LocalHangup,
                    });
                }
            }
            VoiceAction::Reject { leg, code } => {
                if self.legs.contains_key(&ua_leg(leg)) {
                    self.step(ua_leg(leg), |s| s.reject(now, code));
                } else {
                    self.emit(VoiceEvent::Ended {
                        leg,
                        reason: EndReason::Rejected { code },
                    });
                }
            }
            VoiceAction::Dial { leg, number } => {
                let l = ua_leg(leg);
                let target = format!("sip:{number}@{}", self.domain);
                let (s, step) = SipLeg::dial(l, target, now, Some(self.ring));
                self.legs.insert(l, s);
                self.step(l, |_| step);
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

    fn ua_event(&mut self, now: Instant, e: UaEvent) {
        match e {
            UaEvent::Registration(s) => self.emit(VoiceEvent::Registration(s)),
            UaEvent::Problem(t) => tracing::warn!("vcc voice: {t}"),
            // Levels and call quality are the plain softphone's; the
            // agent still reads what went wrong with the audio.
            UaEvent::Media(crate::engine::Event::Notice(crate::engine::Notice::Info(i))) => {
                self.emit(VoiceEvent::AudioInfo(i))
            }
            UaEvent::Media(_) => {}
            UaEvent::Call(i) => self.call_input(now, i),
        }
    }

    fn call_input(&mut self, now: Instant, i: SipInput) {
        match i {
            SipInput::Incoming {
                leg,
                number,
                display_name,
            } => {
                let (s, step) = SipLeg::incoming(leg, now, Some(self.inbound_ring));
                self.legs.insert(leg, s);
                self.step(leg, |_| step);
                self.emit(VoiceEvent::Incoming {
                    leg: vcc_leg(leg),
                    number,
                    display_name,
                });
            }
            SipInput::TransportLost => {
                let legs: Vec<Leg> = self.legs.keys().copied().collect();
                for leg in legs {
                    self.step(leg, SipLeg::transport_lost);
                }
            }
            SipInput::Dtmf { leg, digit } => {
                tracing::debug!(?leg, %digit, "vcc voice: DTMF received");
            }
            // The platform moves calls itself (its own transfer frames): a
            // REFER or a Replaces on the voice leg is not taken.
            SipInput::Referred { leg, .. } => {
                self.ua.execute(SipAction::AnswerRefer { leg, code: 603 });
            }
            SipInput::Replacing { leg, .. } => {
                self.ua.execute(SipAction::Reject { leg, code: 481 });
            }
            // Hold, mute and transfer are push requests on VCC, never SIP
            // (VCC-PROTOCOL.md §4): nothing of the sort to follow here.
            SipInput::RemoteHold { .. }
            | SipInput::HoldResult { .. }
            | SipInput::Quality { .. }
            | SipInput::TransferProgress { .. }
            | SipInput::ReferAnswered { .. } => {}
            // The dialog's own events: the leg core decides.
            _ => {
                if let Some(leg) = i.dialog_leg() {
                    self.step(leg, |s| s.input(now, &i));
                }
            }
        }
    }
}
