//! The three-way call and the call-waiting beep on plain RTP legs.
//!
//! Each leg's session plays through a [`LegDevice`] (see
//! [`crate::media::bridge`]); this keeps the UA's side of each, and the
//! running [`Conference`] if any. The call core decides (it unholds both
//! legs before it asks for `Conference`); this only moves audio:
//!
//! - `Conference { legs }`: the legs' sessions switch to the mix; the
//!   first leg's device is the agent's one device;
//! - `EndConference`, or a leg of it ending: each remaining leg goes back
//!   to its own device (three or more legs go on without the one that left);
//! - `WaitingBeep { leg }`: a beep for the agent over that leg's audio;
//! - `Mute { leg }` on a leg in the mix mutes the agent's microphone in the
//!   mix (muting that leg's stream would cut its far end off from the other
//!   one too); a leg leaving the mix gets its own mute state back.
//!
//! WebRTC legs whose audio the UA pumps (`webrtc_audio`) join the same
//! way; a leg whose frames the embedder pumps itself is not mixed.

use std::collections::{HashMap, HashSet};

use crate::media::bridge::{Conference, LegSwitch};
use crate::media::mixer::PortId;

use super::{Leg, SipUa, UaEvent};
use crate::engine::{Event, Info, Notice};

#[derive(Default)]
pub(super) struct Mixing {
    switches: HashMap<Leg, LegSwitch>,
    conference: Option<Conference>,
    /// The legs the call core asked to mute.
    muted: HashSet<Leg>,
}

impl SipUa {
    fn mixing(&self) -> std::sync::MutexGuard<'_, Mixing> {
        self.inner.mixing.lock().expect("mixing lock")
    }

    /// Mute as the call core asked, wherever each leg's audio goes now:
    /// a leg in the mix never mutes its own stream; the agent's voice
    /// leaves the mix while any leg in it is muted.
    fn apply_mutes(&self, m: &Mixing) {
        let media = self.inner.media.lock().expect("media lock");
        for leg in m.switches.keys() {
            let mixed = m
                .conference
                .as_ref()
                .is_some_and(|c| c.contains(PortId(leg.0)));
            if let Some((h, _)) = media.get(leg) {
                h.set_mute(!mixed && m.muted.contains(leg));
            }
        }
        if let Some(c) = &m.conference {
            c.set_agent_mute(c.legs().any(|p| m.muted.contains(&Leg(p.0))));
        }
    }

    pub(super) fn mixing_set_mute(&self, leg: Leg, mute: bool) {
        let mut m = self.mixing();
        if mute {
            m.muted.insert(leg);
        } else {
            m.muted.remove(&leg);
        }
        self.apply_mutes(&m);
    }

    /// A leg's audio started on `switch`'s device.
    pub(super) fn mixing_add(&self, leg: Leg, switch: LegSwitch) {
        self.mixing().switches.insert(leg, switch);
    }

    /// A leg's audio stops: it leaves the conference first, so the others
    /// never wait on a device that is closing.
    pub(super) fn mixing_remove(&self, leg: Leg) {
        let mut m = self.mixing();
        m.switches.remove(&leg);
        m.muted.remove(&leg);
        if let Some(c) = m.conference.take() {
            m.conference = if c.contains(PortId(leg.0)) {
                tracing::debug!(leg = leg.0, "a leg left the three-way call");
                c.without(PortId(leg.0))
            } else {
                Some(c)
            };
        }
        self.apply_mutes(&m);
    }

    pub(super) fn conference(&self, legs: &[Leg]) {
        let mut m = self.mixing();
        // A new merge replaces any mix in progress.
        if let Some(c) = m.conference.take() {
            c.end();
        }
        let members: Vec<(PortId, LegSwitch)> = legs
            .iter()
            .filter_map(|l| m.switches.get(l).map(|s| (PortId(l.0), s.clone())))
            .collect();
        let complete = members.len() == legs.len();
        m.conference = if complete {
            Conference::start(members)
        } else {
            None
        };
        self.apply_mutes(&m);
        match &m.conference {
            Some(c) => {
                tracing::debug!(legs = ?c.legs().map(|p| p.0).collect::<Vec<_>>(), "three-way call mixes")
            }
            None => {
                // A WebRTC leg, or one whose audio did not start: the agent
                // is told; each call keeps its own audio.
                drop(m);
                tracing::warn!(?legs, "three-way call: not every leg has RTP audio");
                self.emit(UaEvent::Media(Event::Notice(Notice::Info(
                    Info::ConferenceUnavailable,
                ))));
            }
        }
    }

    pub(super) fn end_conference(&self) {
        let mut m = self.mixing();
        if let Some(c) = m.conference.take() {
            tracing::debug!("three-way call ends: each leg back to its own audio");
            c.end();
        }
        self.apply_mutes(&m);
    }

    pub(super) fn waiting_beep(&self, leg: Leg) {
        if let Some(s) = self.mixing().switches.get(&leg) {
            s.beep();
        }
    }
}
