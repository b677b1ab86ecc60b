//! The `[demo]` section and the people at the demo switchboard's consoles.
//! The cast's agents with a console are listed here, below every feature,
//! so `config/` can check `demo.agent` without importing `switchboard`
//! (tests/layers.rs); the switchboard builds its scenario from this list.

use serde::Deserialize;

/// One agent of the demo cast who logs in with a console (not a simulated
/// colleague): the extension (`ipphone`), `user.username`, the full name,
/// `user.role` and the device at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleAgent {
    pub ipphone: &'static str,
    pub username: &'static str,
    pub full_name: &'static str,
    pub role: u8,
    pub device: u8,
}

const fn agent(
    ipphone: &'static str,
    username: &'static str,
    full_name: &'static str,
    role: u8,
    device: u8,
) -> ConsoleAgent {
    ConsoleAgent {
        ipphone,
        username,
        full_name,
        role,
        device,
    }
}

/// The demo switchboard's agents a console can log in as, in cast order.
pub const CONSOLE_AGENTS: [ConsoleAgent; 5] = [
    agent("1001", "an.nguyen", "Nguyễn Văn An", 6, 4),
    agent("1002", "binh.tran", "Trần Thị Bình", 7, 3),
    agent("1003", "chi.le", "Lê Minh Chi", 2, 2),
    agent("1004", "dung.pham", "Phạm Quốc Dũng", 9, 6),
    agent("1005", "em.vo", "Võ Thị Em (desk phone only)", 6, 4),
];

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoConfig {
    /// The switchboard agent (`ipphone`) the demo console logs in as.
    #[serde(default = "default_agent")]
    pub agent: String,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            agent: default_agent(),
        }
    }
}

fn default_agent() -> String {
    "1001".into()
}
