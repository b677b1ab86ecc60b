//! The simulated call center: one task owns every agent, console
//! connection, call and timer, and answers push frames the way the VCC
//! platform does (VCC-PROTOCOL.md §2, §6).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::log::EventLog;
use super::scenario::{AgentSpec, Outcome, Scenario, Timing};
use super::sip::{SipMsg, SipNote};
use crate::backends::vcc::jwt;
use crate::secret::Secret;
use crate::vcc_wire::ObjectIds;

mod agents;
mod calls;
mod controls;
mod sip_leg;
mod timers;
mod transfers;
mod wire;

pub(crate) type ConnId = u64;

pub(crate) enum WsOut {
    Text(String),
    Close(String),
}

pub(crate) enum WorldMsg {
    Open {
        conn: ConnId,
        tx: mpsc::UnboundedSender<WsOut>,
    },
    Frame {
        conn: ConnId,
        text: String,
    },
    Gone {
        conn: ConnId,
    },
    Control(Control),
    /// From the SIP side (device-1 phones).
    Sip(SipNote),
}

/// What a test or the demo can make happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// A customer calls `agent` (or the first idle, available agent).
    Ring {
        agent: Option<String>,
        caller: Option<String>,
        line: Option<String>,
        queue: Option<String>,
    },
    /// The agent's desk phone or mobile picks up the ringing call.
    AnswerOnPhone { agent: String },
    /// The customer (or colleague) on the agent's call hangs up.
    CustomerHangup { agent: String },
    /// A supervisor ends the agent's call.
    SupervisorHangup { agent: String, supervisor: String },
    /// Colleague `from` calls `agent` internally.
    InternalRing { agent: String, from: String },
    /// Simulated colleague `from` offers one of its calls to `to`.
    TransferFromColleague { from: String, to: String },
    /// Close every push connection of `agent` (a network drop).
    DropConnections { agent: String },
    /// As `DropConnections`, but the platform does not notice at once: the
    /// dropped connection still counts as the voice holder, so the agent's
    /// next login is told it does not hold voice (until it claims it).
    DropConnectionsUnnoticed { agent: String },
    /// Send `11111111` to every connection now.
    Ping,
    /// Set every agent's status (`AVAILABLE`, `NOT AVAILABLE`, …) and tell
    /// every logged-in console at once with 1020: the whole team switched
    /// by a supervisor, and the fan-out figure of `benches/consoles.sh`.
    StatusAll { status: String },
}

/// What the HTTP side and the world share.
pub(crate) struct Shared {
    pub domain: String,
    pub key: Secret,
    pub utc_offset_min: i32,
    pub agents: Vec<AgentSpec>,
    /// `token3C` handed out by newer discovery → extension.
    pub token3c: std::sync::Mutex<HashMap<String, String>>,
    /// Refuse this many `thirdParty/login` calls (to exercise the retry).
    pub refuse_logins: AtomicU32,
    pub log: EventLog,
    /// `host:port` the switchboard listens on.
    pub addr: String,
}

impl Shared {
    /// The extension a JWT names, if it is valid and the agent exists.
    pub fn check_jwt(&self, token: &str) -> Result<String, String> {
        let claims = jwt::verify(&self.key, token, SystemTime::now(), self.utc_offset_min)
            .map_err(|e| e.to_string())?;
        if self.agents.iter().any(|a| a.ipphone == claims.ipphone) {
            Ok(claims.ipphone)
        } else {
            Err(format!("no agent with ipphone {}", claims.ipphone))
        }
    }

    pub fn agent(&self, ipphone: &str) -> Option<&AgentSpec> {
        self.agents.iter().find(|a| a.ipphone == ipphone)
    }
}

struct Agent {
    spec: AgentSpec,
    status: String,
    device: u8,
    mobile: String,
    voice: Option<ConnId>,
    call: Option<String>,
}

struct Conn {
    tx: mpsc::UnboundedSender<WsOut>,
    agent: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Inbound,
    Outbound,
    Internal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CState {
    Starting,
    Ringing,
    Talking,
}

struct Call {
    id: String,
    agent: String,
    kind: Kind,
    customer: String,
    line: String,
    queue: String,
    state: CState,
    held: bool,
    muted: bool,
    /// The extension the platform named for this call (`removeAgentId`).
    leg_ext: String,
    outcome: Outcome,
    /// A transfer offered to this agent, waiting for an answer.
    transfer_to: Option<String>,
    /// The agent's device-1 phone has (or is being rung for) a SIP leg.
    sip_leg: bool,
}

enum Timer {
    CustomerRinging(String),
    CustomerAnswers(String),
    CalloutFails(String),
    CustomerHangsUp(String),
    CallerGivesUp(String),
    DeskAnswer(String),
    OfferExpired(String),
    BotReply(String),
    Ping,
    AutoRing,
}

pub(crate) struct World {
    shared: Arc<Shared>,
    ids: ObjectIds,
    timing: Timing,
    scenario: Scenario,
    agents: BTreeMap<String, Agent>,
    conns: HashMap<ConnId, Conn>,
    calls: HashMap<String, Call>,
    timers: Vec<(Instant, Timer)>,
    next_call: u64,
    turn: usize,
    sip: mpsc::UnboundedSender<SipMsg>,
    /// Agents with a device-1 SIP registration.
    sip_registered: std::collections::HashSet<String>,
    /// Dropped connections whose going the platform has not noticed: they
    /// keep the voice channel they held.
    unnoticed: std::collections::HashSet<ConnId>,
}

fn status_word(available: bool) -> String {
    if available {
        "AVAILABLE".into()
    } else {
        "NOT AVAILABLE".into()
    }
}

impl World {
    pub(crate) fn new(
        shared: Arc<Shared>,
        scenario: Scenario,
        timing: Timing,
        sip: mpsc::UnboundedSender<SipMsg>,
    ) -> World {
        let agents = scenario
            .agents
            .iter()
            .map(|s| {
                (
                    s.ipphone.clone(),
                    Agent {
                        spec: s.clone(),
                        status: status_word(s.available),
                        device: s.device,
                        mobile: s.mobile.clone(),
                        voice: None,
                        call: None,
                    },
                )
            })
            .collect();
        World {
            shared,
            ids: ObjectIds::default(),
            timing,
            scenario,
            agents,
            conns: HashMap::new(),
            calls: HashMap::new(),
            timers: Vec::new(),
            next_call: 1,
            turn: 0,
            sip,
            sip_registered: Default::default(),
            unnoticed: Default::default(),
        }
    }

    pub(crate) async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<WorldMsg>,
        cancel: CancellationToken,
    ) {
        let now = Instant::now();
        self.timers
            .push((now + self.timing.ping_interval, Timer::Ping));
        if let Some(every) = self.timing.auto_ring {
            // The first customer comes soon after start, so a newcomer
            // sees a ring (and its popup) within seconds of `tongdai demo`.
            let first = every.min(Duration::from_secs(10));
            self.timers.push((now + first, Timer::AutoRing));
        }
        loop {
            let next = self.timers.iter().map(|t| t.0).min();
            let sleep = async {
                match next {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => break,
                m = rx.recv() => match m {
                    None => break,
                    Some(m) => self.handle(m),
                },
                _ = sleep => self.fire(Instant::now()),
            }
        }
        for c in self.conns.values() {
            let _ =
                c.tx.send(WsOut::Close("the switchboard is shutting down".into()));
        }
    }

    fn log(&self) -> &EventLog {
        &self.shared.log
    }

    fn after(&mut self, d: Duration, t: Timer) {
        self.timers.push((Instant::now() + d, t));
    }

    fn new_call_id(&mut self, prefix: &str) -> String {
        let n = self.next_call;
        self.next_call += 1;
        format!("{prefix}-{n}")
    }

    fn pick<'a>(&mut self, list: &'a [String], fallback: &'a str) -> &'a str {
        self.turn += 1;
        if list.is_empty() {
            fallback
        } else {
            &list[self.turn % list.len()]
        }
    }
}
