//! Who lives on the switchboard: agents (with consoles, or simulated
//! colleagues to transfer to), queues, and the customers' numbers.

use std::time::Duration;

use crate::config::demo::CONSOLE_AGENTS;

/// A simulated colleague with no console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bot {
    /// Accepts every transfer offer.
    Accepts,
    /// Refuses every transfer offer.
    Refuses,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSpec {
    /// The extension (`ipphone`, `user.agent_id`).
    pub ipphone: String,
    /// `user.username` (`agentId` on the push socket).
    pub username: String,
    pub full_name: String,
    /// `user.role`: 2 agent, 6 extension, 7 mobile, 9 vendor softphone, …
    pub role: u8,
    /// The device at start.
    pub device: u8,
    /// The mobile number for device 3.
    pub mobile: String,
    /// Devices this agent may switch to; others are refused (`result: 0`).
    pub allowed_devices: Vec<u8>,
    /// Starts On (`AVAILABLE`).
    pub available: bool,
    pub bot: Option<Bot>,
}

impl AgentSpec {
    pub fn new(ipphone: &str, username: &str, full_name: &str, role: u8, device: u8) -> Self {
        Self {
            ipphone: ipphone.into(),
            username: username.into(),
            full_name: full_name.into(),
            role,
            device,
            mobile: String::new(),
            allowed_devices: vec![1, 2, 3, 4, 6],
            available: false,
            bot: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub agents: Vec<AgentSpec>,
    pub queues: Vec<QueueSpec>,
    /// Hotlines customers dial (`line`).
    pub lines: Vec<String>,
    /// IVR choices (`queueDescription`).
    pub ivr: Vec<String>,
    /// Numbers of simulated callers.
    pub callers: Vec<String>,
}

impl Scenario {
    /// The demo's cast: the agents with a console (`config::demo`, which
    /// `demo.agent` is checked against), then two simulated colleagues.
    pub fn demo() -> Scenario {
        let mut agents: Vec<AgentSpec> = CONSOLE_AGENTS
            .iter()
            .map(|a| AgentSpec::new(a.ipphone, a.username, a.full_name, a.role, a.device))
            .collect();
        agents.extend([
            AgentSpec::new(
                "1101",
                "hoa.bot",
                "Hoa (simulated, accepts transfers)",
                2,
                4,
            ),
            AgentSpec::new(
                "1102",
                "khanh.bot",
                "Khánh (simulated, refuses transfers)",
                2,
                4,
            ),
        ]);
        agents[1].mobile = "0912000002".into();
        agents[4].allowed_devices = vec![4];
        agents[5].bot = Some(Bot::Accepts);
        agents[5].available = true;
        agents[6].bot = Some(Bot::Refuses);
        agents[6].available = true;
        Scenario {
            agents,
            queues: vec![
                QueueSpec {
                    id: "q-sales".into(),
                    name: "Bán hàng / Sales".into(),
                },
                QueueSpec {
                    id: "q-support".into(),
                    name: "Hỗ trợ kỹ thuật / Support".into(),
                },
                QueueSpec {
                    id: "q-billing".into(),
                    name: "Cước phí / Billing".into(),
                },
            ],
            lines: vec!["19001234".into(), "02873001234".into()],
            ivr: vec![
                "Phím 1: Bán hàng".into(),
                "Phím 2: Hỗ trợ kỹ thuật".into(),
                "Phím 3: Cước phí".into(),
            ],
            callers: vec![
                "0987654321".into(),
                "0903123456".into(),
                "0345678901".into(),
                "0779001122".into(),
            ],
        }
    }
}

/// The first extension of a generated team ([`Scenario::add_team`]).
pub const TEAM_FIRST_IPPHONE: u32 = 20001;

impl Scenario {
    /// Add `n` generated agents for load runs (`tongdai switchboard
    /// --agents N`): extensions 20001, 20002, …, usernames `team.1`, …,
    /// calls on a desk phone (device 4, the only one allowed), starting Off
    /// so that no simulated caller rings them until they say so.
    pub fn add_team(&mut self, n: u32) {
        for i in 1..=n {
            let mut a = AgentSpec::new(
                &(TEAM_FIRST_IPPHONE + i - 1).to_string(),
                &format!("team.{i}"),
                &format!("Team agent {i} (desk phone)"),
                6,
                4,
            );
            a.allowed_devices = vec![4];
            self.agents.push(a);
        }
    }
}

/// How simulated people take their time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    /// 2032 → 1055 RINGING.
    pub ring_delay: Duration,
    /// RINGING → ANSWER (or → ERROR for the no-answer rows).
    pub answer_delay: Duration,
    /// Numbers ending in 999: ANSWER → the customer hangs up.
    pub talk_time: Duration,
    /// An inbound caller gives up after this (then the agent is NO ANSWER).
    pub caller_patience: Duration,
    /// A simulated desk phone or mobile answers after this (`None`: only
    /// when told through the handle).
    pub desk_answer: Option<Duration>,
    /// A simulated colleague answers a transfer offer after this.
    pub bot_think: Duration,
    /// The server's own keepalive (`11111111`).
    pub ping_interval: Duration,
    /// A transfer offer not answered by the target in this time fails.
    pub offer_timeout: Duration,
    /// A simulated customer calls an idle, available agent this often.
    pub auto_ring: Option<Duration>,
}

impl Timing {
    /// For a person at the keyboard.
    pub fn demo() -> Timing {
        Timing {
            ring_delay: Duration::from_millis(700),
            answer_delay: Duration::from_secs(3),
            talk_time: Duration::from_secs(20),
            caller_patience: Duration::from_secs(30),
            desk_answer: Some(Duration::from_secs(3)),
            bot_think: Duration::from_millis(800),
            ping_interval: Duration::from_secs(25),
            offer_timeout: Duration::from_secs(12),
            auto_ring: Some(Duration::from_secs(20)),
        }
    }

    /// For tests: quick, and nothing happens unless asked.
    pub fn fast() -> Timing {
        Timing {
            ring_delay: Duration::from_millis(20),
            answer_delay: Duration::from_millis(40),
            talk_time: Duration::from_millis(150),
            caller_patience: Duration::from_secs(30),
            desk_answer: None,
            bot_think: Duration::from_millis(30),
            ping_interval: Duration::from_secs(3600),
            offer_timeout: Duration::from_secs(12),
            auto_ring: None,
        }
    }
}

/// What a dialled customer number does (the last three digits decide).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Rings, answers, stays up until someone hangs up.
    Answers,
    /// Rings, answers, then the customer hangs up after `talk_time`.
    AnswersThenHangsUp,
    /// `ERROR` with this `errorCode` and `sipCode`; `rings` first or not.
    Fails {
        error_code: &'static str,
        sip_code: &'static str,
        rings: bool,
    },
}

/// The number plan for call-outs (printed in the banner).
pub fn outcome_for(number: &str) -> Outcome {
    let tail = if number.len() >= 3 {
        &number[number.len() - 3..]
    } else {
        number
    };
    let customer = |sip: &'static str, rings: bool| Outcome::Fails {
        error_code: "IPCC_NOT_CONNECT_CUSTOMER",
        sip_code: sip,
        rings,
    };
    match tail {
        "404" => customer("404", false),
        "486" => customer("486", false),
        "403" => customer("403", false),
        "408" => customer("408", true),
        "487" => customer("487", true),
        "480" => customer("480", true),
        "503" => customer("503", false),
        "786" => Outcome::Fails {
            error_code: "CALLOUT_AGENT_BUSY",
            sip_code: "786",
            rings: false,
        },
        "900" => Outcome::Fails {
            error_code: "IPCC_NOT_CONNECT_AGENT_ID",
            sip_code: "",
            rings: false,
        },
        "901" => Outcome::Fails {
            error_code: "CALLOUT_PERMISSION_DENY",
            sip_code: "",
            rings: false,
        },
        "902" => Outcome::Fails {
            error_code: "ERROR_CALLOUT_CONNECT",
            sip_code: "",
            rings: false,
        },
        "999" => Outcome::AnswersThenHangsUp,
        _ => Outcome::Answers,
    }
}

/// The number plan in words, for the banner.
pub const NUMBER_PLAN: &str = "call-out numbers decide by their last three digits: \
404 / 486 / 403 / 503 fail at once with that SIP code, 408 / 487 / 480 ring then fail, \
786 agent busy, 900 your phone unreachable, 901 no permission, 902 connect error, \
999 answers then the customer hangs up; any other 8-13 digit number answers. \
Internal numbers dialled in SIP from device 1 fail the same way, with 180 Ringing before 408 / 487 / 480; others get 480";

#[cfg(test)]
mod tests {
    use super::*;

    /// `demo.agent` is checked against `CONSOLE_AGENTS`: that list must be
    /// exactly the demo cast's agents who are not simulated.
    #[test]
    fn the_console_agents_are_the_demo_cast_without_its_bots() {
        let people: Vec<String> = Scenario::demo()
            .agents
            .iter()
            .filter(|a| a.bot.is_none())
            .map(|a| a.ipphone.clone())
            .collect();
        let listed: Vec<&str> = CONSOLE_AGENTS.iter().map(|a| a.ipphone).collect();
        assert_eq!(people, listed);
    }
}
