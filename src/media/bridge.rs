//! Where a call leg's audio goes: its own device, or a three-way call.
//!
//! Every plain-RTP leg's session gets a [`LegDevice`]: an [`AudioDevice`]
//! that passes through to the leg's own device until the UA joins the leg
//! to a [`Conference`]. Then the session reads and writes a mixer port
//! instead, and nothing in the session changes (its rate, its codec, its
//! clock). Leaving the conference hands the leg its own device back.
//!
//! ```text
//!   session 1 ─ LegDevice 1 ─┐ (drives: its tick runs the mix, and its own
//!                            │  device is the agent's microphone and speaker)
//!   session 2 ─ LegDevice 2 ─┼─▶ Conference: Mixer + a small queue per leg
//! ```
//!
//! - **One clock**: the first leg's session drives the mix on its 20 ms
//!   tick (its read is the tick), so the conference adds no timer and no
//!   task. The other legs' sessions tick on their own 20 ms intervals (the
//!   same monotonic clock, another phase): between them sit queues of at
//!   most [`QUEUE_FRAMES`] frames (60 ms); an empty one is a silent frame
//!   (the mix never waits), a full one drops its oldest frame (latency
//!   stays bounded).
//! - **The agent's one device** is the driving leg's own device; the other
//!   legs' devices are parked (not read, not written) until the end.
//! - **Call-waiting beep**: mixed into what the agent hears, never into
//!   what a far end hears ([`LegSwitch::beep`]).
//! - Locks are taken leg first, then conference, everywhere.
//!
//! The UA (`sip::ua::conference`) decides who joins and when; this file
//! only switches where frames go.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use super::device::{AudioDevice, DeviceError, NullDevice};
use super::mixer::{Mixer, Overlay, PortId};
use super::tone;

/// Frames queued between a leg's session and the mix, at most.
pub const QUEUE_FRAMES: usize = 3;

/// The session's side: the device it reads and writes.
pub struct LegDevice {
    leg: Arc<Mutex<LegAudio>>,
    rate: u32,
    scratch: Vec<i16>,
}

/// The UA's side of the same leg: join or leave a conference, beep.
#[derive(Clone)]
pub struct LegSwitch {
    leg: Arc<Mutex<LegAudio>>,
}

struct LegAudio {
    own: Box<dyn AudioDevice>,
    rate: u32,
    /// In a conference: its state, this leg's port, and whether this leg's
    /// tick drives the mix.
    conf: Option<(Arc<Mutex<ConfState>>, PortId, bool)>,
    beep: Overlay,
}

impl LegAudio {
    /// The own device failed: go on without it (the session cannot swap
    /// a device it does not see), and say so in the log.
    fn own_failed(&mut self, e: DeviceError) {
        tracing::warn!(device = %self.own.name(), error = %e.0, "audio device lost during a three-way call");
        self.own = Box::new(NullDevice::new(self.rate));
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain frame buffers behind:
    // nothing to repair, so the audio goes on.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl LegDevice {
    /// Wrap a leg's own device.
    pub fn wrap(own: Box<dyn AudioDevice>) -> (LegDevice, LegSwitch) {
        let rate = own.sample_rate();
        let leg = Arc::new(Mutex::new(LegAudio {
            own,
            rate,
            conf: None,
            beep: Overlay::default(),
        }));
        (
            LegDevice {
                leg: leg.clone(),
                rate,
                scratch: Vec::new(),
            },
            LegSwitch { leg },
        )
    }
}

impl AudioDevice for LegDevice {
    fn name(&self) -> String {
        lock(&self.leg).own.name()
    }

    fn sample_rate(&self) -> u32 {
        self.rate
    }

    fn read(&mut self, frame: &mut [i16]) -> Result<(), DeviceError> {
        let mut leg = lock(&self.leg);
        let Some((conf, port, drives)) = leg.conf.clone() else {
            return leg.own.read(frame);
        };
        if drives {
            let leg = &mut *leg;
            let mut c = lock(&conf);
            c.tick(leg);
        }
        let mut c = lock(&conf);
        match c.queues.get_mut(&port).and_then(|q| q.to_far.pop_front()) {
            Some(f) => {
                let n = f.len().min(frame.len());
                frame[..n].copy_from_slice(&f[..n]);
                frame[n..].fill(0);
            }
            None => frame.fill(0),
        }
        Ok(())
    }

    fn write(&mut self, frame: &[i16]) -> Result<(), DeviceError> {
        let mut leg = lock(&self.leg);
        match leg.conf.clone() {
            Some((conf, port, _)) => {
                if let Some(q) = lock(&conf).queues.get_mut(&port) {
                    push_bounded(&mut q.from_far, frame);
                }
                Ok(())
            }
            None if leg.beep.is_playing() => {
                self.scratch.clear();
                self.scratch.extend_from_slice(frame);
                leg.beep.apply(&mut self.scratch);
                leg.own.write(&self.scratch)
            }
            None => leg.own.write(frame),
        }
    }

    fn close(&mut self) -> Result<(), DeviceError> {
        lock(&self.leg).own.close()
    }

    fn take_recording_stopped(&mut self) -> Option<super::RecordingStopped> {
        lock(&self.leg).own.take_recording_stopped()
    }
}

impl LegSwitch {
    /// The leg's own device's rate.
    pub fn rate(&self) -> u32 {
        lock(&self.leg).rate
    }

    /// Play the call-waiting beep to the agent on this leg: over the leg's
    /// audio on its own device, or over the mix in a conference.
    pub fn beep(&self) {
        let mut leg = lock(&self.leg);
        match &leg.conf {
            Some((conf, _, _)) => {
                let mut c = lock(conf);
                let rate = c.agent_rate;
                c.beep.start(tone::waiting_beep(rate));
            }
            None => {
                let rate = leg.rate;
                leg.beep.start(tone::waiting_beep(rate));
            }
        }
    }

    fn same(&self, other: &LegSwitch) -> bool {
        Arc::ptr_eq(&self.leg, &other.leg)
    }
}

#[derive(Default)]
struct Queues {
    /// Mixed frames for the far end (the mix → the leg's session).
    to_far: VecDeque<Vec<i16>>,
    /// What the far end said (the leg's session → the mix).
    from_far: VecDeque<Vec<i16>>,
}

fn push_bounded(q: &mut VecDeque<Vec<i16>>, frame: &[i16]) {
    while q.len() >= QUEUE_FRAMES {
        q.pop_front();
    }
    q.push_back(frame.to_vec());
}

struct ConfState {
    mixer: Mixer,
    queues: HashMap<PortId, Queues>,
    agent_rate: u32,
    /// The call-waiting beep over what the agent hears.
    beep: Overlay,
    /// The agent's microphone is left out of the mix (the far ends still
    /// hear each other).
    agent_muted: bool,
    mic: Vec<i16>,
    heard: Vec<i16>,
}

impl ConfState {
    /// One 20 ms tick on the driving leg's clock: the agent's device gives
    /// its microphone frame and plays what the agent hears; each leg's
    /// queue gives one frame to the mix (or silence) and gets its mix.
    fn tick(&mut self, agent: &mut LegAudio) {
        let n = (agent.rate / 50) as usize;
        self.mic.clear();
        self.mic.resize(n, 0);
        if let Err(e) = agent.own.read(&mut self.mic) {
            agent.own_failed(e);
            self.mic.fill(0);
        }
        if self.agent_muted {
            self.mic.fill(0);
        }
        let ports: Vec<PortId> = self.mixer.ports().collect();
        for &id in &ports {
            if let Some(f) = self
                .queues
                .get_mut(&id)
                .and_then(|q| q.from_far.pop_front())
            {
                self.mixer.far_frame(id, &f);
            }
        }
        self.heard.clear();
        self.heard.extend_from_slice(self.mixer.mix(&self.mic));
        self.beep.apply(&mut self.heard);
        if let Err(e) = agent.own.write(&self.heard) {
            agent.own_failed(e);
        }
        for id in ports {
            let out = self.mixer.far_output(id);
            if let Some(q) = self.queues.get_mut(&id) {
                push_bounded(&mut q.to_far, out);
            }
        }
    }
}

/// A running three-way call: which legs are in it.
pub struct Conference {
    legs: Vec<(PortId, LegSwitch)>,
    state: Arc<Mutex<ConfState>>,
}

impl Conference {
    /// Join `legs` (at least two; the first one's device becomes the
    /// agent's). `None` for fewer than two legs or one leg given twice.
    pub fn start(legs: Vec<(PortId, LegSwitch)>) -> Option<Conference> {
        let distinct = legs
            .iter()
            .enumerate()
            .all(|(i, (id, s))| legs[..i].iter().all(|(j, t)| j != id && !t.same(s)));
        if legs.len() < 2 || !distinct {
            return None;
        }
        let rates: Vec<(PortId, u32)> = legs.iter().map(|(id, s)| (*id, s.rate())).collect();
        let agent_rate = rates[0].1;
        let state = Arc::new(Mutex::new(ConfState {
            mixer: Mixer::new(agent_rate, &rates),
            queues: rates
                .iter()
                .map(|(id, _)| (*id, Queues::default()))
                .collect(),
            agent_rate,
            beep: Overlay::default(),
            agent_muted: false,
            mic: Vec::new(),
            heard: Vec::new(),
        }));
        for (i, (id, s)) in legs.iter().enumerate() {
            let mut leg = lock(&s.leg);
            // A beep still playing on a leg's own device stops here; the
            // agent hears the mix now.
            leg.beep = Overlay::default();
            leg.conf = Some((state.clone(), *id, i == 0));
        }
        Some(Conference { legs, state })
    }

    /// Mute in a three-way call is the agent's microphone, for every far
    /// end (muting one leg's session would cut that far end off from the
    /// other one too).
    pub fn set_agent_mute(&self, mute: bool) {
        lock(&self.state).agent_muted = mute;
    }

    /// The legs in the call, the agent's device's first.
    pub fn legs(&self) -> impl Iterator<Item = PortId> + '_ {
        self.legs.iter().map(|(id, _)| *id)
    }

    pub fn contains(&self, id: PortId) -> bool {
        self.legs.iter().any(|(i, _)| *i == id)
    }

    /// Every leg goes back to its own device.
    pub fn end(self) {
        for (_, s) in &self.legs {
            lock(&s.leg).conf = None;
        }
    }

    /// `id` left (its call ended): the others go on among themselves when
    /// two or more remain (a new mix, its first leg's device the agent's),
    /// otherwise the one left goes back to its own device.
    pub fn without(self, id: PortId) -> Option<Conference> {
        let rest: Vec<(PortId, LegSwitch)> = self
            .legs
            .iter()
            .filter(|(i, _)| *i != id)
            .cloned()
            .collect();
        self.end();
        Conference::start(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tone::{self, ToneGen};

    /// A device that plays a tone as its microphone and keeps what it was
    /// given to play.
    struct Probe {
        rate: u32,
        mic: ToneGen,
        played: Arc<Mutex<Vec<i16>>>,
    }

    impl AudioDevice for Probe {
        fn name(&self) -> String {
            "probe".into()
        }
        fn sample_rate(&self) -> u32 {
            self.rate
        }
        fn read(&mut self, frame: &mut [i16]) -> Result<(), DeviceError> {
            self.mic.fill(frame);
            Ok(())
        }
        fn write(&mut self, frame: &[i16]) -> Result<(), DeviceError> {
            lock(&self.played).extend_from_slice(frame);
            Ok(())
        }
    }

    fn probe(rate: u32, freq: &'static [f64]) -> (Box<dyn AudioDevice>, Arc<Mutex<Vec<i16>>>) {
        let played = Arc::new(Mutex::new(Vec::new()));
        let d = Probe {
            rate,
            mic: ToneGen::sine(freq, 0.25, rate),
            played: played.clone(),
        };
        (Box::new(d), played)
    }

    fn level(x: &[i16], rate: u32, f: f64) -> f64 {
        tone::dbfs(tone::goertzel_amplitude(x, rate, f))
    }

    /// Two "sessions": each tick reads its device (what goes to the far
    /// end) and writes what the far end said (a tone at its rate).
    struct Leg {
        dev: LegDevice,
        far: ToneGen,
        sent: Vec<i16>,
    }

    impl Leg {
        fn tick(&mut self) {
            let n = (self.dev.sample_rate() / 50) as usize;
            let mut mic = vec![0i16; n];
            self.dev.read(&mut mic).unwrap();
            self.sent.extend_from_slice(&mic);
            let mut heard = vec![0i16; n];
            self.far.fill(&mut heard);
            self.dev.write(&heard).unwrap();
        }
    }

    #[test]
    fn legs_switch_to_the_mix_and_back_to_their_own_devices() {
        // Leg 1: PCMU (8 kHz), its device is the agent's (1000 Hz mic), its
        // far end says 700 Hz (clear of the 425 Hz beep);
        // leg 2: G.722 (16 kHz), its own device says 1500 Hz.
        let (d1, played1) = probe(8000, &[1000.0]);
        let (d2, played2) = probe(16000, &[1500.0]);
        let (dev1, sw1) = LegDevice::wrap(d1);
        let (dev2, sw2) = LegDevice::wrap(d2);
        let mut l1 = Leg {
            dev: dev1,
            far: ToneGen::sine(&[700.0], 0.25, 8000),
            sent: Vec::new(),
        };
        let mut l2 = Leg {
            dev: dev2,
            far: ToneGen::sine(&[880.0], 0.25, 16000),
            sent: Vec::new(),
        };
        // Before: each leg is its own call.
        for _ in 0..25 {
            l1.tick();
            l2.tick();
        }
        assert!(level(&l1.sent, 8000, 1000.0) > -13.0);
        assert!(level(&l2.sent, 16000, 1500.0) > -13.0);
        assert!(level(&lock(&played1), 8000, 700.0) > -13.0);
        let conf = Conference::start(vec![(PortId(1), sw1.clone()), (PortId(2), sw2.clone())])
            .expect("two legs");
        let (s1, s2, p1) = (l1.sent.len(), l2.sent.len(), lock(&played1).len());
        let p2 = lock(&played2).len();
        // During: leg 2 ticks first now and then (another phase).
        for i in 0..50 {
            if i % 3 == 0 {
                l2.tick();
                l1.tick();
            } else {
                l1.tick();
                l2.tick();
            }
        }
        let (to1, to2) = (&l1.sent[s1 + 800..], &l2.sent[s2 + 1600..]);
        let heard = lock(&played1)[p1 + 800..].to_vec();
        assert!(
            level(to1, 8000, 1000.0) > -14.0,
            "far end 1 hears the agent"
        );
        assert!(level(to1, 8000, 880.0) > -14.0, "far end 1 hears far end 2");
        assert!(level(to1, 8000, 700.0) < -40.0, "not itself");
        assert!(
            level(to2, 16000, 1000.0) > -14.0,
            "far end 2 hears the agent"
        );
        assert!(
            level(to2, 16000, 700.0) > -14.0,
            "far end 2 hears far end 1"
        );
        assert!(level(to2, 16000, 1500.0) < -40.0, "not leg 2's parked mic");
        assert!(level(&heard, 8000, 700.0) > -14.0, "the agent hears 1");
        assert!(level(&heard, 8000, 880.0) > -14.0, "the agent hears 2");
        assert_eq!(lock(&played2).len(), p2, "leg 2's own device is parked");
        // A beep now is for the agent: in what it hears, not in what either
        // far end hears.
        let (s1, s2, p1) = (l1.sent.len(), l2.sent.len(), lock(&played1).len());
        sw2.beep();
        for _ in 0..15 {
            l1.tick();
            l2.tick();
        }
        let heard = lock(&played1)[p1..].to_vec();
        assert!(
            level(&heard, 8000, 425.0) > -18.0,
            "the agent hears the beep"
        );
        assert!(level(&l1.sent[s1..], 8000, 425.0) < -40.0);
        assert!(level(&l2.sent[s2..], 16000, 425.0) < -40.0);
        // After: back to their own devices.
        conf.end();
        let (s1, s2, p2) = (l1.sent.len(), l2.sent.len(), lock(&played2).len());
        for _ in 0..25 {
            l1.tick();
            l2.tick();
        }
        assert!(level(&l1.sent[s1..], 8000, 1000.0) > -13.0);
        assert!(level(&l1.sent[s1..], 8000, 880.0) < -40.0);
        assert!(level(&l2.sent[s2..], 16000, 1500.0) > -13.0);
        assert!(level(&lock(&played2)[p2..], 16000, 880.0) > -13.0);
    }

    #[test]
    fn a_leg_that_stops_ticking_is_silence_and_its_queue_stays_bounded() {
        let (d1, played1) = probe(8000, &[1000.0]);
        let (d2, _) = probe(8000, &[1500.0]);
        let (dev1, sw1) = LegDevice::wrap(d1);
        let (_dev2, sw2) = LegDevice::wrap(d2);
        let mut l1 = Leg {
            dev: dev1,
            far: ToneGen::sine(&[440.0], 0.25, 8000),
            sent: Vec::new(),
        };
        let conf = Conference::start(vec![(PortId(1), sw1.clone()), (PortId(2), sw2.clone())])
            .expect("two legs");
        // Leg 2's session never ticks: leg 1 and the agent go on.
        for _ in 0..100 {
            l1.tick();
        }
        assert_eq!(l1.sent.len(), 16000, "no stall");
        assert_eq!(lock(&played1).len(), 16000);
        assert!(level(&l1.sent[800..], 8000, 1000.0) > -14.0);
        let leg2 = lock(&sw2.leg);
        let (c, _, _) = leg2.conf.as_ref().expect("in the conference");
        let c = lock(c);
        let q = c.queues.get(&PortId(2)).expect("queue");
        assert_eq!(q.to_far.len(), QUEUE_FRAMES, "bounded");
        drop(c);
        drop(leg2);
        // Leg 2 leaves: leg 1 is alone, back on its own device.
        assert!(conf.without(PortId(2)).is_none());
        assert!(lock(&sw1.leg).conf.is_none() && lock(&sw2.leg).conf.is_none());
        assert!(Conference::start(vec![(PortId(1), sw1.clone())]).is_none());
        assert!(Conference::start(vec![(PortId(1), sw1.clone()), (PortId(1), sw2)]).is_none());
        assert!(Conference::start(vec![(PortId(1), sw1.clone()), (PortId(2), sw1)]).is_none());
    }

    #[test]
    fn muting_the_agent_in_the_mix_keeps_the_far_ends_talking() {
        let (d1, played1) = probe(8000, &[1000.0]);
        let (d2, _) = probe(8000, &[1500.0]);
        let (dev1, sw1) = LegDevice::wrap(d1);
        let (dev2, sw2) = LegDevice::wrap(d2);
        let mut l1 = Leg {
            dev: dev1,
            far: ToneGen::sine(&[700.0], 0.25, 8000),
            sent: Vec::new(),
        };
        let mut l2 = Leg {
            dev: dev2,
            far: ToneGen::sine(&[880.0], 0.25, 8000),
            sent: Vec::new(),
        };
        let conf = Conference::start(vec![(PortId(1), sw1), (PortId(2), sw2)]).expect("two legs");
        conf.set_agent_mute(true);
        for _ in 0..50 {
            l1.tick();
            l2.tick();
        }
        let (to1, to2) = (&l1.sent[800..], &l2.sent[800..]);
        assert!(
            level(to1, 8000, 1000.0) < -40.0,
            "far end 1 no longer hears the agent"
        );
        assert!(level(to2, 8000, 1000.0) < -40.0, "far end 2 neither");
        assert!(level(to1, 8000, 880.0) > -14.0, "but hears far end 2");
        assert!(level(to2, 8000, 700.0) > -14.0, "and 2 hears 1");
        assert!(
            level(&lock(&played1)[800..], 8000, 880.0) > -14.0,
            "the agent hears"
        );
        conf.set_agent_mute(false);
        let s1 = l1.sent.len();
        for _ in 0..25 {
            l1.tick();
            l2.tick();
        }
        assert!(level(&l1.sent[s1 + 160..], 8000, 1000.0) > -14.0, "unmuted");
    }

    #[test]
    fn a_beep_outside_a_conference_is_over_the_legs_own_audio() {
        let (d, played) = probe(8000, &[1000.0]);
        let (mut dev, sw) = LegDevice::wrap(d);
        let mut far = ToneGen::sine(&[880.0], 0.25, 8000);
        sw.beep();
        for _ in 0..25 {
            let mut mic = [0i16; 160];
            dev.read(&mut mic).unwrap();
            let mut heard = [0i16; 160];
            far.fill(&mut heard);
            dev.write(&heard).unwrap();
        }
        let p = lock(&played).clone();
        assert!(
            level(&p[..2400], 8000, 425.0) > -18.0,
            "beep in the first 300 ms"
        );
        assert!(level(&p[2400..], 8000, 425.0) < -40.0, "once");
        assert!(level(&p, 8000, 880.0) > -14.0, "over the call's audio");
    }
}
