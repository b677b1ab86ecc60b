//! Which call-progress sound to play, decided from the engine's events:
//! sans-IO (`now` is an argument, no device, no clock), so every rule is
//! tested with a fake clock. [`super::alert_player`] does the playing.
//!
//! | event                                       | sound                          |
//! |---------------------------------------------|--------------------------------|
//! | `Ringing` (not our call-out's agent leg), no call up | ringtone on the **ring** device until answered, rejected, cancelled or ended |
//! | `Ringing` while a call is up                | nothing (see below)            |
//! | `CalloutStarted` (the far end rings), no call up | ringback on the **output** device until answered or ended |
//! | speaker audio while ringback plays          | stop: early media owns the output |
//! | `CalloutFailed`, or `Ended(Busy)`           | busy tone for [`BUSY_FOR`], then stop |
//! | `Accepted` / `CustomerAnswered`             | stop: the call's media session owns the output |
//! | `Ended` (other reasons), `Disconnected`     | stop                           |
//!
//! A second ring during a call plays **nothing**: the agent is talking
//! through the headset, and the ring device is by default that same
//! headset; on a separate desk speaker a ringtone would be picked up by the
//! headset microphone and heard by the customer. The console shows the
//! second call (popup, status line), so nothing is lost by keeping quiet.
//! If the call in progress ends (hang-up) while the second one still rings,
//! the ringtone starts then.
//!
//! Which calls are up and which ring is read from a call book
//! (`call::book`) fed the same events, so "a call is up" and "another call
//! still rings" are facts, not guesses from end reasons.

// A sans-IO core: no clock reads, no tasks (clippy.toml).
#![deny(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use super::tone::{self, Cadence};
use crate::call::book::CallBook;
use crate::engine::{CallEvent, EndReason, Event};

/// How long a failed call-out's busy tone plays.
pub const BUSY_FOR: Duration = Duration::from_secs(3);
/// A ring with no end event (a lost message) stops by itself after this.
pub const RING_AT_MOST: Duration = Duration::from_secs(180);
/// Speaker level (0–1, [`tone::meter`]) above which audio from the far end
/// counts as early media: -48 dBFS, well above a silent stream's 0.
pub const EARLY_MEDIA_LEVEL: f32 = 0.2;

/// Which device a sound goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// `[audio] ring` (default: the output device).
    Ring,
    /// `[audio] output`: what the agent hears in calls.
    Output,
}

impl Sink {
    /// As the config names it.
    pub fn label(self) -> &'static str {
        match self {
            Sink::Ring => "ring",
            Sink::Output => "output",
        }
    }
}

/// The sounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alert {
    /// An incoming call.
    Ringtone,
    /// Our call-out rings at the far end.
    Ringback,
    /// Our call-out failed.
    Busy,
}

impl Alert {
    pub fn cadence(self) -> Cadence {
        match self {
            Alert::Ringtone => tone::RINGTONE,
            Alert::Ringback => tone::RINGBACK,
            Alert::Busy => tone::BUSY,
        }
    }

    pub fn sink(self) -> Sink {
        match self {
            Alert::Ringtone => Sink::Ring,
            Alert::Ringback | Alert::Busy => Sink::Output,
        }
    }

    /// The file stem for `[audio] device = "file"` (`<record_dir>/ring-<n>.wav`).
    pub fn stem(self) -> &'static str {
        match self {
            Alert::Ringtone => "ring",
            Alert::Ringback => "ringback",
            Alert::Busy => "busy",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertEffect {
    /// Stop whatever plays and start this (from the start of its cadence).
    Play(Alert),
    /// Stop and release the device.
    Stop,
}

/// The decision state.
#[derive(Debug, Default)]
pub struct AlertPolicy {
    playing: Option<(Alert, Option<Instant>)>,
    /// Every live call: an answered one owns the output with its media.
    book: CallBook<Instant>,
}

impl AlertPolicy {
    pub fn new() -> AlertPolicy {
        AlertPolicy::default()
    }

    /// What plays now.
    pub fn playing(&self) -> Option<Alert> {
        self.playing.map(|(a, _)| a)
    }

    /// When [`AlertPolicy::on_timeout`] has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.playing.and_then(|(_, until)| until)
    }

    /// Time passed: a busy tone (or a forgotten ring) runs out.
    pub fn on_timeout(&mut self, now: Instant) -> Vec<AlertEffect> {
        match self.poll_timeout() {
            Some(t) if now >= t => self.stop(),
            _ => Vec::new(),
        }
    }

    pub fn handle(&mut self, now: Instant, e: &Event) -> Vec<AlertEffect> {
        self.book.apply(now, e);
        match e {
            Event::Call { event, .. } => {
                // A call's media owns the output (a ring now is a waiting
                // call, which the screen shows).
                let media = self.book.media_up();
                match event {
                    CallEvent::Ringing(info) if !info.agent_leg && !media => {
                        self.play(now, Alert::Ringtone)
                    }
                    CallEvent::CalloutStarted(_) if !media => self.play(now, Alert::Ringback),
                    CallEvent::Accepted | CallEvent::CustomerAnswered => self.stop(),
                    CallEvent::CalloutFailed { .. } if !media => self.play(now, Alert::Busy),
                    CallEvent::Ended(reason) => self.ended(now, reason),
                    _ => Vec::new(),
                }
            }
            Event::AudioLevel { speaker, .. }
                if *speaker >= EARLY_MEDIA_LEVEL && self.playing() == Some(Alert::Ringback) =>
            {
                self.stop()
            }
            Event::Disconnected | Event::ShutdownComplete => {
                self.book.clear();
                self.stop()
            }
            _ => Vec::new(),
        }
    }

    /// A call left the book (already removed from it).
    fn ended(&mut self, now: Instant, reason: &EndReason) -> Vec<AlertEffect> {
        let calls = self.book.calls();
        if calls.iter().any(|c| c.media_up) {
            // A waiting call went away; the call in progress goes on.
            return Vec::new();
        }
        if calls.iter().any(|c| c.is_ringing_here()) {
            // The call in progress ended and another one still rings.
            return self.play(now, Alert::Ringtone);
        }
        match reason {
            // CalloutFailed came first and started it: let it run out.
            EndReason::Busy | EndReason::Failed { .. } | EndReason::NoAnswer
                if self.playing() == Some(Alert::Busy) =>
            {
                Vec::new()
            }
            EndReason::Busy => self.play(now, Alert::Busy),
            _ => self.stop(),
        }
    }

    fn play(&mut self, now: Instant, a: Alert) -> Vec<AlertEffect> {
        let until = match a {
            Alert::Busy => Some(now + BUSY_FOR),
            Alert::Ringtone | Alert::Ringback => Some(now + RING_AT_MOST),
        };
        if self.playing() == Some(a) && a != Alert::Busy {
            // A repeated ring (a 180 after a 183, a retransmitted event)
            // keeps the cadence going rather than restarting it.
            return Vec::new();
        }
        self.playing = Some((a, until));
        vec![AlertEffect::Play(a)]
    }

    fn stop(&mut self) -> Vec<AlertEffect> {
        match self.playing.take() {
            Some(_) => vec![AlertEffect::Stop],
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
// Tests take a base instant from the clock; the code under test still gets it as an argument.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use crate::engine::{CallId, Direction, RingInfo};

    fn ring(agent_leg: bool) -> Event {
        Event::Call {
            call: CallId(1),
            event: CallEvent::Ringing(RingInfo {
                phone: "0912345678".into(),
                display_name: None,
                line: None,
                queue: None,
                direction: Direction::Inbound,
                agent_leg,
            }),
        }
    }

    /// Another inbound call, `id`.
    fn ring_of(id: u64) -> Event {
        match ring(false) {
            Event::Call { event, .. } => Event::Call {
                call: CallId(id),
                event,
            },
            e => e,
        }
    }

    const PLAY_RING: AlertEffect = AlertEffect::Play(Alert::Ringtone);

    #[test]
    fn a_ring_plays_the_ringtone_on_the_ring_device_until_answered() {
        let t0 = Instant::now();
        let mut p = AlertPolicy::new();
        assert_eq!(p.handle(t0, &Event::Ready), vec![]);
        assert_eq!(p.handle(t0, &ring(false)), vec![PLAY_RING]);
        assert_eq!(Alert::Ringtone.sink(), Sink::Ring);
        // Nothing runs out while it rings (only the 3-minute safety bound).
        assert_eq!(p.poll_timeout(), Some(t0 + RING_AT_MOST));
        assert_eq!(p.on_timeout(t0 + Duration::from_secs(60)), vec![]);
        assert_eq!(p.playing(), Some(Alert::Ringtone));
        assert_eq!(
            p.handle(
                t0 + Duration::from_secs(2),
                &Event::Call {
                    call: CallId(1),
                    event: CallEvent::Accepted
                }
            ),
            vec![AlertEffect::Stop]
        );
        assert_eq!(p.playing(), None);
        assert_eq!(p.poll_timeout(), None);
        // Ended after the call: nothing to stop.
        assert_eq!(
            p.handle(
                t0,
                &Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::RemoteHangup)
                }
            ),
            vec![]
        );
    }

    #[test]
    fn the_caller_cancels_or_we_reject_and_the_ringtone_stops() {
        let t0 = Instant::now();
        for reason in [
            EndReason::Cancelled,
            EndReason::Rejected { code: 486 },
            EndReason::AnsweredElsewhere,
        ] {
            let mut p = AlertPolicy::new();
            assert_eq!(p.handle(t0, &ring(false)), vec![PLAY_RING]);
            assert_eq!(
                p.handle(
                    t0,
                    &Event::Call {
                        call: CallId(1),
                        event: CallEvent::Ended(reason.clone())
                    }
                ),
                vec![AlertEffect::Stop],
                "{reason:?}"
            );
            assert_eq!(p.playing(), None);
        }
    }

    #[test]
    fn a_forgotten_ring_stops_after_three_minutes() {
        let t0 = Instant::now();
        let mut p = AlertPolicy::new();
        p.handle(t0, &ring(false));
        assert_eq!(
            p.on_timeout(t0 + RING_AT_MOST - Duration::from_millis(1)),
            vec![]
        );
        assert_eq!(p.on_timeout(t0 + RING_AT_MOST), vec![AlertEffect::Stop]);
    }

    #[test]
    fn our_call_out_agent_leg_does_not_ring() {
        let t0 = Instant::now();
        let mut p = AlertPolicy::new();
        assert_eq!(p.handle(t0, &ring(true)), vec![]);
        assert_eq!(p.playing(), None);
    }

    #[test]
    fn a_call_out_ringing_at_the_far_end_plays_ringback_until_answered() {
        let t0 = Instant::now();
        let mut p = AlertPolicy::new();
        assert_eq!(
            p.handle(
                t0,
                &Event::Call {
                    call: CallId(1),
                    event: CallEvent::Dialing("0912".into())
                }
            ),
            vec![]
        );
        assert_eq!(
            p.handle(
                t0,
                &Event::Call {
                    call: CallId(1),
                    event: CallEvent::CalloutStarted("0912".into())
                }
            ),
            vec![AlertEffect::Play(Alert::Ringback)]
        );
        assert_eq!(Alert::Ringback.sink(), Sink::Output);
        // A second progress (183 after 180) does not restart the cadence.
        assert_eq!(
            p.handle(
                t0,
                &Event::Call {
                    call: CallId(1),
                    event: CallEvent::CalloutStarted("0912".into())
                }
            ),
            vec![]
        );
        // Silence from a media stream is not early media.
        assert_eq!(
            p.handle(
                t0,
                &Event::AudioLevel {
                    mic: 0.5,
                    speaker: 0.0
                }
            ),
            vec![]
        );
        assert_eq!(
            p.handle(
                t0,
                &Event::Call {
                    call: CallId(1),
                    event: CallEvent::CustomerAnswered
                }
            ),
            vec![AlertEffect::Stop]
        );
        assert_eq!(
            p.handle(
                t0,
                &Event::Call {
                    call: CallId(1),
                    event: CallEvent::Accepted
                }
            ),
            vec![]
        );
        assert_eq!(p.playing(), None);
    }

    #[test]
    fn early_media_from_the_far_end_stops_our_ringback() {
        let t0 = Instant::now();
        let mut p = AlertPolicy::new();
        p.handle(
            t0,
            &Event::Call {
                call: CallId(1),
                event: CallEvent::CalloutStarted("0912".into()),
            },
        );
        assert_eq!(
            p.handle(
                t0,
                &Event::AudioLevel {
                    mic: 0.0,
                    speaker: 0.6
                }
            ),
            vec![AlertEffect::Stop]
        );
    }

    #[test]
    fn we_cancel_our_call_out_and_the_ringback_stops() {
        let t0 = Instant::now();
        let mut p = AlertPolicy::new();
        p.handle(
            t0,
            &Event::Call {
                call: CallId(1),
                event: CallEvent::CalloutStarted("0912".into()),
            },
        );
        assert_eq!(
            p.handle(
                t0,
                &Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::Cancelled)
                }
            ),
            vec![AlertEffect::Stop]
        );
    }

    #[test]
    fn busy_486_plays_the_busy_tone_for_three_seconds_then_stops() {
        let t0 = Instant::now();
        let mut p = AlertPolicy::new();
        p.handle(
            t0,
            &Event::Call {
                call: CallId(1),
                event: CallEvent::Dialing("0912".into()),
            },
        );
        p.handle(
            t0,
            &Event::Call {
                call: CallId(1),
                event: CallEvent::CalloutStarted("0912".into()),
            },
        );
        let t1 = t0 + Duration::from_secs(4);
        assert_eq!(
            p.handle(
                t1,
                &Event::Call {
                    call: CallId(1),
                    event: CallEvent::CalloutFailed {
                        error_code: None,
                        sip_code: Some(486),
                        internal: None,
                    }
                }
            ),
            vec![AlertEffect::Play(Alert::Busy)]
        );
        assert_eq!(Alert::Busy.sink(), Sink::Output);
        // The Ended that follows keeps it going.
        assert_eq!(
            p.handle(
                t1,
                &Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::Busy)
                }
            ),
            vec![]
        );
        assert_eq!(p.poll_timeout(), Some(t1 + BUSY_FOR));
        assert_eq!(p.on_timeout(t1 + Duration::from_millis(2999)), vec![]);
        assert_eq!(p.playing(), Some(Alert::Busy));
        assert_eq!(p.on_timeout(t1 + BUSY_FOR), vec![AlertEffect::Stop]);
        assert_eq!(p.playing(), None);
        assert_eq!(p.poll_timeout(), None);
    }

    #[test]
    fn a_busy_end_without_a_callout_error_still_sounds_busy() {
        let t0 = Instant::now();
        let mut p = AlertPolicy::new();
        p.handle(
            t0,
            &Event::Call {
                call: CallId(1),
                event: CallEvent::Dialing("0912".into()),
            },
        );
        assert_eq!(
            p.handle(
                t0,
                &Event::Call {
                    call: CallId(1),
                    event: CallEvent::Ended(EndReason::Busy)
                }
            ),
            vec![AlertEffect::Play(Alert::Busy)]
        );
        assert_eq!(p.on_timeout(t0 + BUSY_FOR), vec![AlertEffect::Stop]);
    }

    #[test]
    fn a_second_ring_during_a_call_is_silent_and_rings_when_the_first_call_ends() {
        let t0 = Instant::now();
        let mut p = AlertPolicy::new();
        let on = |id: u64, event: CallEvent| Event::Call {
            call: CallId(id),
            event,
        };
        p.handle(t0, &ring(false));
        p.handle(t0, &on(1, CallEvent::Accepted));
        // The second call: no sound over the conversation.
        assert_eq!(p.handle(t0, &ring_of(2)), vec![]);
        assert_eq!(p.playing(), None);
        // Its caller gives up: still nothing, and the first call goes on.
        assert_eq!(
            p.handle(t0, &on(2, CallEvent::Ended(EndReason::Cancelled))),
            vec![]
        );
        assert_eq!(p.handle(t0, &ring_of(3)), vec![], "still in the call");
        // The first call hangs up while the third still rings: ring now.
        assert_eq!(
            p.handle(t0, &on(1, CallEvent::Ended(EndReason::RemoteHangup))),
            vec![PLAY_RING]
        );
        assert_eq!(
            p.handle(t0, &on(3, CallEvent::Accepted)),
            vec![AlertEffect::Stop]
        );
    }

    #[test]
    fn no_ringback_or_busy_while_a_call_owns_the_output() {
        // VCC call-out: the agent leg is answered first, then the customer
        // rings (the platform plays its own progress in that call).
        let t0 = Instant::now();
        let mut p = AlertPolicy::new();
        p.handle(t0, &ring(true));
        p.handle(
            t0,
            &Event::Call {
                call: CallId(1),
                event: CallEvent::Accepted,
            },
        );
        assert_eq!(
            p.handle(
                t0,
                &Event::Call {
                    call: CallId(1),
                    event: CallEvent::CalloutStarted("0912".into())
                }
            ),
            vec![]
        );
        assert_eq!(
            p.handle(
                t0,
                &Event::Call {
                    call: CallId(1),
                    event: CallEvent::CalloutFailed {
                        error_code: Some("IPCC".into()),
                        sip_code: Some(486),
                        internal: None,
                    }
                }
            ),
            vec![]
        );
        assert_eq!(p.playing(), None);
    }

    #[test]
    fn a_lost_connection_stops_everything() {
        let t0 = Instant::now();
        let mut p = AlertPolicy::new();
        p.handle(t0, &ring(false));
        assert_eq!(p.handle(t0, &Event::Disconnected), vec![AlertEffect::Stop]);
        // And a new ring after reconnecting rings again.
        assert_eq!(p.handle(t0, &ring(false)), vec![PLAY_RING]);
    }
}
