//! An adaptive jitter buffer as a sans-IO core: `push(now, packet)` when a
//! packet arrives, `pop(now)` once per device frame; `now` is always an
//! argument, so any arrival pattern replays deterministically in a test.
//!
//! ```text
//!            push(now, pkt)                         pop(now), every 20 ms
//!   network ───────────────▶ [ ts-ordered packets ] ──────────────────────▶ Frame
//!                              ▲ cursor: next timestamp to play            │ Concealed (loss / stretch)
//!   Priming ──(first packet waited `margin`)──▶ Playing ──(PLC exhausted)──▶ Idle
//!      ▲                                                                   │
//!      └────────────(a packet beyond the cursor: new talk spurt)───────────┘
//! ```
//!
//! The controlled quantity is the *slack* of a packet: how long it waits
//! between arrival and playout. Every pop measures the projected slack of
//! the newest packet held. A margin, derived from the RFC 3550 §A.8
//! interarrival jitter `J` (`margin = max(min_margin, 2·J)`), sets the band
//! the slack is kept in:
//!
//! - **grow fast**: a slack under `margin/2` or a late packet stretches
//!   playout by whole frames, and the margin rises at once with `J`: the
//!   frame at hand is handed out as [`Pop::Expand`], to be played over two
//!   frames' time by repeating pitch periods ([`super::tsm`]); only when
//!   there is no frame to stretch (an underrun) is a concealed frame played
//!   while the cursor stays;
//! - **shrink slowly**: only when the smallest slack over a whole window
//!   (1 s) stayed above `margin + frame` does the buffer give up a frame's
//!   time: two frames are handed out as [`Pop::Accelerate`], to be played
//!   in about one frame's time by removing pitch periods (or silence).
//!   The margin decays towards `2·J` with a time constant of seconds.
//!
//! Neither is heard as a cut: a dropped or repeated 20 ms frame shifts the
//! phase of voiced sound (a tone: 72° at 440 Hz); a removed or repeated
//! pitch period does not (`tsm` tests, and the replay in
//! [`super::playout`]).
//!
//! Priming waits the same margin the band keeps on a clean link
//! (`initial_margin = min_margin`, 10 ms), so the slack it sets up, anywhere
//! in `margin .. margin + frame` by the phase of arrivals against pops,
//! stays inside the band: a clean link never drops or stretches (the added
//! delay stays 10–30 ms and the target at 30 ms). A larger initial margin
//! that then decayed moved the band under that slack within seconds, and
//! the shrink rule dropped a frame; that was the cut heard 1–3 s into
//! calls. J counts from playout on (a burst queued before it is not
//! jitter), and such a burst is skipped before the first frame is heard. Reordering within the slack costs nothing; duplicates
//! are dropped; a missing packet is concealed in its slot when its time
//! comes (the caller does the PLC, see [`super::codec::Plc`]); a packet
//! arriving after its slot is dropped as late and grows the buffer; clock
//! drift shows up as slowly rising or falling slack and is absorbed by the
//! same two rules.

// A sans-IO core: no clock reads, no tasks (clippy.toml).
#![deny(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::rtp::{InterarrivalJitter, RtpPacket};

#[derive(Debug, Clone)]
pub struct JitterConfig {
    pub clock_rate: u32,
    /// Nominal samples per packet (160 = 20 ms at 8 kHz).
    pub frame_samples: u32,
    /// Slack margin before any jitter is measured (target = margin + frame).
    pub initial_margin: Duration,
    /// The smallest margin (covers scheduler noise on a clean link).
    pub min_margin: Duration,
    /// The most audio held; the oldest is dropped beyond it.
    pub max_delay: Duration,
    /// Pops per shrink decision.
    pub shrink_window: u32,
    /// A timestamp jump larger than this restarts the timeline.
    pub resync: Duration,
    /// Consecutive concealed frames before the output goes idle (empty).
    pub max_conceal: u32,
}

impl Default for JitterConfig {
    fn default() -> Self {
        JitterConfig {
            clock_rate: 8000,
            frame_samples: 160,
            // Priming waits the margin the buffer keeps on a clean link:
            // a larger start that then decays moves the band under the
            // slack priming set, and the shrink rule drops a frame.
            initial_margin: Duration::from_millis(10),
            // Twice the slack noise of a clean loopback (±2 ms transit,
            // ±2 ms of our own tick): the near-miss rule (slack < margin/2)
            // must not fire on it at any arrival/pop phase.
            min_margin: Duration::from_millis(10),
            max_delay: Duration::from_millis(500),
            shrink_window: 50,
            resync: Duration::from_secs(2),
            max_conceal: 5,
        }
    }
}

/// A packet's payload, ready to decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub marker: bool,
    pub samples: u32,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pop {
    /// The next frame of the stream.
    Frame(Frame),
    /// Shrink: the next two frames, to be played in about one frame's
    /// time (time-scale compression, [`super::tsm::accelerate`]).
    Accelerate(Frame, Frame),
    /// Grow: the next frame, to be played over about two frames' time
    /// ([`super::tsm::expand`]); the next pop is due a frame later.
    Expand(Frame),
    /// Play `samples` of concealment: a lost packet, or a stretch while
    /// the buffer grows.
    Concealed { samples: u32 },
    /// Nothing to play (not started, or the stream paused): silence.
    Empty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    Duplicate,
    /// Arrived after its playout slot; dropped.
    Late,
    /// A new source or a timeline jump restarted the buffer.
    Restarted,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct JitterStats {
    pub received: u64,
    pub duplicates: u64,
    pub late: u64,
    /// Slots concealed because their packet never came in time.
    pub lost: u64,
    /// Concealed frames played to grow the buffer (underruns included).
    pub stretched: u64,
    /// Frames handed out to be stretched over two frames' time.
    pub expanded: u64,
    /// Pairs of frames handed out to be played in one frame's time.
    pub accelerated: u64,
    pub underruns: u64,
    /// Frames dropped unheard: on overflow (over `max_delay` held).
    pub dropped: u64,
    /// Stale packets skipped before playout began (a burst queued at the
    /// start of a talk spurt; never heard, so no cut).
    pub skipped: u64,
    pub restarts: u64,
    pub played: u64,
    /// RFC 3550 §A.8 interarrival jitter.
    pub jitter_ms: f64,
    /// Current target delay (`margin + frame`).
    pub target_ms: f64,
    /// Mean wait of played frames between arrival and playout.
    pub mean_delay_ms: f64,
    pub max_delay_ms: f64,
}

#[derive(Debug, Clone)]
struct Entry {
    arrival: Instant,
    frame: Frame,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Priming { since: Instant },
    Playing,
    Idle,
}

pub struct JitterBuffer {
    cfg: JitterConfig,
    packets: BTreeMap<i64, Entry>,
    ssrc: Option<u32>,
    /// Last raw timestamp and its extended value (wrap-around unfolding).
    unwrap: Option<(u32, i64)>,
    cursor: i64,
    phase: Option<Phase>,
    epoch: Option<Instant>,
    jitter: InterarrivalJitter,
    margin_ms: f64,
    pending_stretch: u32,
    conceal_run: u32,
    /// Frames concealed at the current cursor because nothing had arrived.
    underrun_at_cursor: u32,
    nominal: u32,
    window_pops: u32,
    window_min_slack: f64,
    window_grew: bool,
    delay_sum_ms: f64,
    stats: JitterStats,
    /// The last pop concealed a lost packet (not a stretch or underrun).
    lost_slot: bool,
    /// Nothing played yet from this source (see `skip_stale`).
    fresh: bool,
}

impl JitterBuffer {
    pub fn new(cfg: JitterConfig) -> JitterBuffer {
        let margin_ms = ms(cfg.initial_margin);
        let nominal = cfg.frame_samples;
        let mut jb = JitterBuffer {
            cfg,
            packets: BTreeMap::new(),
            ssrc: None,
            unwrap: None,
            cursor: 0,
            phase: None,
            epoch: None,
            jitter: InterarrivalJitter::default(),
            margin_ms,
            pending_stretch: 0,
            conceal_run: 0,
            underrun_at_cursor: 0,
            nominal,
            window_pops: 0,
            window_min_slack: f64::INFINITY,
            window_grew: false,
            delay_sum_ms: 0.0,
            stats: JitterStats::default(),
            lost_slot: false,
            fresh: true,
        };
        jb.stats.target_ms = jb.target_ms();
        jb
    }

    pub fn stats(&self) -> JitterStats {
        let mut s = self.stats.clone();
        s.jitter_ms = self.jitter_ms();
        s.target_ms = self.target_ms();
        s.mean_delay_ms = if s.played > 0 {
            self.delay_sum_ms / s.played as f64
        } else {
            0.0
        };
        s
    }

    /// The delay the buffer aims at: the slack band's upper edge.
    pub fn target_ms(&self) -> f64 {
        self.margin_ms + self.frame_ms(self.nominal)
    }

    pub fn jitter_ms(&self) -> f64 {
        self.jitter.units() * 1000.0 / f64::from(self.cfg.clock_rate)
    }

    /// Audio held from the cursor on, in ms.
    pub fn buffered_ms(&self) -> f64 {
        self.packets
            .values()
            .map(|e| self.frame_ms(e.frame.samples))
            .sum()
    }

    /// Forget the stream (a new source, or hold): keeps the margin learned.
    pub fn reset(&mut self) {
        self.packets.clear();
        self.ssrc = None;
        self.unwrap = None;
        self.phase = None;
        self.jitter.reset();
        self.pending_stretch = 0;
        self.conceal_run = 0;
        self.underrun_at_cursor = 0;
        self.fresh = true;
        self.reset_window();
    }

    fn frame_ms(&self, samples: u32) -> f64 {
        f64::from(samples) * 1000.0 / f64::from(self.cfg.clock_rate)
    }

    fn samples_of(&self, d: Duration) -> i64 {
        (d.as_secs_f64() * f64::from(self.cfg.clock_rate)) as i64
    }

    fn reset_window(&mut self) {
        self.window_pops = 0;
        self.window_min_slack = f64::INFINITY;
        self.window_grew = false;
    }

    fn extend(&mut self, ts: u32) -> i64 {
        let ext = match self.unwrap {
            None => i64::from(ts),
            Some((last, last_ext)) => last_ext + i64::from(ts.wrapping_sub(last) as i32),
        };
        // Keep the reference at the highest timestamp seen.
        if self.unwrap.is_none_or(|(_, e)| ext > e) {
            self.unwrap = Some((ts, ext));
        }
        ext
    }

    /// A packet arrived at `now`, carrying `samples` of audio.
    pub fn push(&mut self, now: Instant, packet: &RtpPacket<'_>, samples: u32) -> Pushed {
        let h = packet.header;
        let mut restarted = false;
        if self.ssrc.is_some_and(|s| s != h.ssrc) {
            self.reset();
            self.stats.restarts += 1;
            restarted = true;
        }
        self.ssrc = Some(h.ssrc);
        let epoch = *self.epoch.get_or_insert(now);
        let mut ext = self.extend(h.timestamp);
        if self.phase.is_some() && (ext - self.cursor).abs() > self.samples_of(self.cfg.resync) {
            // The sender restarted its timeline: start over from here.
            self.reset();
            self.ssrc = Some(h.ssrc);
            ext = self.extend(h.timestamp);
            self.stats.restarts += 1;
            restarted = true;
        }
        match self.phase {
            Some(Phase::Idle) if ext >= self.cursor => {
                // The stream resumes after a pause: prime again from here.
                self.phase = Some(Phase::Priming { since: now });
                self.cursor = ext;
            }
            Some(Phase::Playing | Phase::Idle) if ext < self.cursor => {
                self.stats.late += 1;
                self.jitter
                    .update(arrival_units(now, epoch, self.cfg.clock_rate), h.timestamp);
                // It missed its slot: grow by a frame at once (a lasting
                // change in delay also raises J, hence the margin).
                self.pending_stretch = self.pending_stretch.max(1);
                self.grow_margin();
                return Pushed::Late;
            }
            _ => {}
        }
        if self.packets.contains_key(&ext) {
            self.stats.duplicates += 1;
            return Pushed::Duplicate;
        }
        self.stats.received += 1;
        // Packets queued before playout began (the peer started sending
        // before we read the socket) arrive as a burst that says nothing
        // about the network: J counts from playout on.
        if self.phase == Some(Phase::Playing) {
            self.jitter
                .update(arrival_units(now, epoch, self.cfg.clock_rate), h.timestamp);
            self.grow_margin();
        }
        if samples > 0 {
            self.nominal = samples;
        }
        match self.phase {
            None => {
                self.phase = Some(Phase::Priming { since: now });
                self.cursor = ext;
            }
            // An earlier packet of the spurt overtook the first: start from it.
            Some(Phase::Priming { .. }) if ext < self.cursor => self.cursor = ext,
            _ => {}
        }
        self.packets.insert(
            ext,
            Entry {
                arrival: now,
                frame: Frame {
                    payload_type: h.payload_type,
                    sequence: h.sequence,
                    timestamp: h.timestamp,
                    marker: h.marker,
                    samples: samples.max(1),
                    payload: packet.payload.to_vec(),
                },
            },
        );
        // Overflow: hold at most max_delay of audio.
        let max = self.samples_of(self.cfg.max_delay);
        while let (Some((&first, _)), Some((&last, e))) = (
            self.packets.first_key_value(),
            self.packets.last_key_value(),
        ) {
            if last + i64::from(e.frame.samples) - first <= max {
                break;
            }
            if let Some(old) = self.packets.remove(&first) {
                self.cursor = self.cursor.max(first + i64::from(old.frame.samples));
            }
            self.stats.dropped += 1;
        }
        if restarted {
            Pushed::Restarted
        } else {
            Pushed::Queued
        }
    }

    fn grow_margin(&mut self) {
        let want = (2.0 * self.jitter_ms()).max(ms(self.cfg.min_margin));
        if want > self.margin_ms {
            self.margin_ms = want;
        }
    }

    /// The next frame to play at `now` (called once per device frame).
    pub fn pop(&mut self, now: Instant) -> Pop {
        self.lost_slot = false;
        let frame_ms = self.frame_ms(self.nominal);
        // The margin decays towards 2·J with a ~2 s time constant.
        let want = (2.0 * self.jitter_ms()).max(ms(self.cfg.min_margin));
        if want < self.margin_ms {
            self.margin_ms -= (self.margin_ms - want) * (frame_ms / 2000.0);
        }
        match self.phase {
            None | Some(Phase::Idle) => return Pop::Empty,
            Some(Phase::Priming { since }) => {
                if ms(now.saturating_duration_since(since)) + 1e-9 < self.margin_ms {
                    return Pop::Empty;
                }
                if self.fresh {
                    self.fresh = false;
                    self.skip_stale(now, frame_ms);
                }
                if let Some((&first, _)) = self.packets.first_key_value() {
                    self.cursor = first;
                }
                self.phase = Some(Phase::Playing);
                self.conceal_run = 0;
                self.reset_window();
            }
            Some(Phase::Playing) => {}
        }
        if self.packets.is_empty() {
            return self.underrun();
        }
        if self.pending_stretch > 0 {
            self.pending_stretch -= 1;
            self.window_grew = true;
            if let Some(entry) = self.packets.remove(&self.cursor) {
                // The frame at the cursor is here: stretch it.
                self.stats.expanded += 1;
                self.underrun_at_cursor = 0;
                self.cursor += i64::from(entry.frame.samples);
                self.played(now, &entry);
                return Pop::Expand(entry.frame);
            }
            self.stats.stretched += 1;
            return self.conceal();
        }
        // Shrink, slowly: one frame per window in which every slack stayed
        // above the band; every fifth of a window when far above it.
        self.window_pops += 1;
        let excess = self.window_min_slack - (self.margin_ms + frame_ms);
        let window = if excess > 3.0 * frame_ms {
            (self.cfg.shrink_window / 5).max(1)
        } else {
            self.cfg.shrink_window
        };
        let mut drop_one = false;
        if self.window_pops >= window {
            drop_one = excess > 0.0 && !self.window_grew;
            self.reset_window();
        }
        let Some((&first, _)) = self.packets.first_key_value() else {
            return self.underrun();
        };
        if first > self.cursor {
            self.stats.lost += 1;
            self.lost_slot = true;
            let step = i64::from(self.nominal);
            if self.underrun_at_cursor > 0 {
                // Concealment already filled this slot while we waited for
                // it: the packet is lost, and what follows plays now.
                let covered = i64::from(self.underrun_at_cursor) * step;
                self.underrun_at_cursor = 0;
                self.cursor = (self.cursor + covered).min(first);
                if self.cursor < first {
                    self.cursor = (self.cursor + step).min(first);
                    return self.conceal();
                }
            } else {
                // The packet for this slot is missing: conceal it, move on.
                self.cursor = (self.cursor + step).min(first);
                return self.conceal();
            }
        }
        let Some(entry) = self.packets.remove(&first) else {
            return self.underrun();
        };
        self.cursor = first + i64::from(entry.frame.samples);
        self.underrun_at_cursor = 0;
        self.played(now, &entry);
        if drop_one && let Some(next) = self.packets.remove(&self.cursor) {
            // Shrink: this frame and the next in one frame's time.
            self.stats.accelerated += 1;
            self.cursor += i64::from(next.frame.samples);
            self.played(now, &next);
            return Pop::Accelerate(entry.frame, next.frame);
        }
        // Grow fast: this frame came too close to its deadline. (The played
        // frame's own slack, not the newest packet's: a lost packet at the
        // head of the stream must not read as a delay.) It is stretched
        // itself; further frames of growth come from the next pops.
        let slack = ms(now.saturating_duration_since(entry.arrival));
        if slack + 1e-9 < self.margin_ms / 2.0 && self.pending_stretch == 0 {
            let frames = ((self.margin_ms - slack) / frame_ms).ceil().max(1.0) as u32;
            self.pending_stretch = frames - 1;
            self.stats.expanded += 1;
            self.window_grew = true;
            return Pop::Expand(entry.frame);
        }
        Pop::Frame(entry.frame)
    }

    /// Book-keeping for a frame handed out at `now`: its wait (slack).
    fn played(&mut self, now: Instant, entry: &Entry) {
        let slack = ms(now.saturating_duration_since(entry.arrival));
        self.window_min_slack = self.window_min_slack.min(slack);
        self.delay_sum_ms += slack;
        if slack > self.stats.max_delay_ms {
            self.stats.max_delay_ms = slack;
        }
        self.stats.played += 1;
        self.conceal_run = 0;
    }

    /// Before the first frame of a source is played: a burst queued before playout
    /// (the peer sent before we read the socket) would hold far more than
    /// the band. Start at the packet that leaves the newest one the slack
    /// the band wants; what is skipped was never heard, unlike a shrink.
    fn skip_stale(&mut self, now: Instant, frame_ms: f64) {
        let Some((&last, newest)) = self.packets.last_key_value() else {
            return;
        };
        let waited = ms(now.saturating_duration_since(newest.arrival));
        // Played `ahead` pops from now, the newest packet waits
        // `waited + ahead·frame`: keep that under the band's top.
        let ahead = ((self.margin_ms + frame_ms - waited) / frame_ms)
            .ceil()
            .max(1.0) as i64
            - 1;
        let keep_from = last - ahead * i64::from(self.nominal);
        while let Some((&first, _)) = self.packets.first_key_value() {
            if first >= keep_from {
                break;
            }
            self.packets.remove(&first);
            self.stats.skipped += 1;
        }
    }

    /// After a pop that concealed a lost packet: the payload of the packet
    /// right after it, when it is already here (Opus rebuilds the lost
    /// frame from that packet's in-band FEC, RFC 6716 §2.1.7).
    pub fn next_payload(&self) -> Option<&[u8]> {
        if !self.lost_slot {
            return None;
        }
        let (&first, e) = self.packets.first_key_value()?;
        (first == self.cursor && !e.frame.payload.is_empty()).then_some(e.frame.payload.as_slice())
    }

    fn underrun(&mut self) -> Pop {
        self.stats.underruns += 1;
        self.window_grew = true;
        if self.conceal_run >= self.cfg.max_conceal {
            self.phase = Some(Phase::Idle);
            return Pop::Empty;
        }
        self.stats.stretched += 1;
        self.underrun_at_cursor += 1;
        self.conceal()
    }

    fn conceal(&mut self) -> Pop {
        self.conceal_run += 1;
        Pop::Concealed {
            samples: self.nominal,
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn arrival_units(now: Instant, epoch: Instant, rate: u32) -> f64 {
    now.saturating_duration_since(epoch).as_secs_f64() * f64::from(rate)
}
#[cfg(test)]
// Tests take a base instant from the clock; the code under test still gets it as an argument.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use crate::media::rtp::RtpHeader;

    /// One scripted arrival: which packet (by index), when, from which source.
    #[derive(Clone, Copy)]
    struct Arrival {
        index: u32,
        at_us: u64,
        ssrc: u32,
    }

    /// What the listener heard, pop by pop.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Heard {
        Frame(u32),
        /// Two frames in one frame's time (a shrink).
        Accelerated(u32, u32),
        /// One frame over two frames' time (a grow).
        Expanded(u32),
        /// No pop: the frame expanded at the pop before still plays.
        Held,
        Concealed,
        Empty,
    }

    struct Run {
        heard: Vec<Heard>,
        stats: JitterStats,
        /// (time of pop in ms, target_ms) samples.
        targets: Vec<(u64, f64)>,
    }

    const TS0: u32 = 0xFFFF_F000; // wraps during every run

    /// Replays `arrivals` against pops every 20 ms (at `phase_us` offset)
    /// until `end_ms`. Arrivals at the same instant as a pop come first.
    fn run(cfg: JitterConfig, arrivals: Vec<Arrival>, phase_us: u64, end_ms: u64) -> Run {
        let pops: Vec<u64> = (0..)
            .map(|k| phase_us + k * 20_000)
            .take_while(|&t| t <= end_ms * 1000)
            .collect();
        run_at(cfg, arrivals, &pops)
    }

    /// Replays `arrivals` against pops at the given times (ascending).
    fn run_at(cfg: JitterConfig, mut arrivals: Vec<Arrival>, pops: &[u64]) -> Run {
        let t0 = Instant::now();
        let at = |us: u64| t0 + Duration::from_micros(us);
        arrivals.sort_by_key(|a| a.at_us);
        let mut jb = JitterBuffer::new(cfg);
        let mut heard = Vec::new();
        let mut targets = Vec::new();
        let mut next = 0;
        let mut held = false;
        for &pop_us in pops {
            while next < arrivals.len() && arrivals[next].at_us <= pop_us {
                let a = arrivals[next];
                let payload = a.index.to_be_bytes();
                let p = RtpPacket {
                    header: RtpHeader {
                        marker: a.index == 0,
                        payload_type: 0,
                        sequence: a.index as u16,
                        timestamp: TS0.wrapping_add(a.index * 160),
                        ssrc: a.ssrc,
                    },
                    payload: &payload,
                };
                jb.push(at(a.at_us), &p, 160);
                next += 1;
            }
            targets.push((pop_us / 1000, jb.target_ms()));
            if std::mem::take(&mut held) {
                // The session plays the second half of an expanded frame.
                heard.push(Heard::Held);
                continue;
            }
            let index = |f: &Frame| u32::from_be_bytes(f.payload[..4].try_into().unwrap());
            let pop = jb.pop(at(pop_us));
            held = matches!(pop, Pop::Expand(_));
            heard.push(match pop {
                Pop::Frame(f) => Heard::Frame(index(&f)),
                Pop::Accelerate(a, b) => Heard::Accelerated(index(&a), index(&b)),
                Pop::Expand(f) => Heard::Expanded(index(&f)),
                Pop::Concealed { .. } => Heard::Concealed,
                Pop::Empty => Heard::Empty,
            });
        }
        Run {
            heard,
            stats: jb.stats(),
            targets,
        }
    }

    /// Packets sent every 20 ms from t=0, each with `delay_us(i)` of transit.
    fn stream(n: u32, delay_us: impl Fn(u32) -> u64) -> Vec<Arrival> {
        (0..n)
            .map(|i| Arrival {
                index: i,
                at_us: u64::from(i) * 20_000 + delay_us(i),
                ssrc: 7,
            })
            .collect()
    }

    /// Every frame handed out, in order.
    fn frames(h: &[Heard]) -> Vec<u32> {
        h.iter()
            .flat_map(|x| match *x {
                Heard::Frame(i) | Heard::Expanded(i) => vec![i],
                Heard::Accelerated(a, b) => vec![a, b],
                Heard::Concealed | Heard::Empty | Heard::Held => vec![],
            })
            .collect()
    }

    /// Time-scale changes (shrinks and grows by a frame's time).
    fn adjusted(h: &[Heard]) -> usize {
        h.iter()
            .filter(|x| matches!(x, Heard::Accelerated(..) | Heard::Expanded(_)))
            .count()
    }

    /// Concealed frames while the stream played (the tail after the last
    /// packet, when the sender simply stopped, does not count).
    fn concealed(h: &[Heard]) -> usize {
        let end = h
            .iter()
            .rposition(|x| !matches!(x, Heard::Concealed | Heard::Empty | Heard::Held))
            .unwrap_or(0);
        h[..end].iter().filter(|x| **x == Heard::Concealed).count()
    }

    /// Every played frame in order, and every packet of `expected` either
    /// played or accounted for by a shrink drop.
    fn check_played(r: &Run, expected: impl Iterator<Item = u32>) {
        let f = frames(&r.heard);
        assert!(f.windows(2).all(|w| w[0] < w[1]), "out of order: {f:?}");
        let expected: Vec<u32> = expected.collect();
        assert!(f.iter().all(|i| expected.contains(i)));
        assert_eq!(
            (expected.len() - f.len()) as u64,
            r.stats.dropped,
            "unplayed frames beyond the shrink drops: {:?}",
            r.stats
        );
    }

    /// A deterministic pseudo-random sequence (xorshift).
    fn rng(seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    #[test]
    fn clean_link_starts_at_the_target_it_keeps() {
        let r = run(
            JitterConfig::default(),
            stream(500, |_| 3_000),
            7_000,
            10_100,
        );
        // min margin + frame, from the first pop to the last: the band
        // priming placed the slack in never moves, so nothing is dropped.
        for (t, target) in &r.targets {
            assert!((target - 30.0).abs() < 1e-6, "target {target} at {t} ms");
        }
        check_played(&r, 0..500);
        assert_eq!(r.stats.dropped, 0, "{:?}", r.stats);
        assert_eq!(concealed(&r.heard), 0, "{:?}", r.stats);
        assert_eq!(r.stats.lost + r.stats.late + r.stats.duplicates, 0);
        assert!(r.stats.mean_delay_ms <= 30.0, "{:?}", r.stats);
    }

    #[test]
    fn clean_link_with_arrivals_just_before_the_pop() {
        // Worst phase: each packet lands 0.5 ms before it is needed.
        let r = run(JitterConfig::default(), stream(300, |_| 19_500), 0, 6_100);
        check_played(&r, 0..300);
        assert_eq!(r.stats.dropped, 0, "{:?}", r.stats);
        assert_eq!(concealed(&r.heard), 0, "{:?}", r.stats);
    }

    #[test]
    fn reordering_is_absorbed() {
        // Every 10th packet is overtaken by its successor (by 2 ms).
        let arr = stream(300, |i| if i % 10 == 5 { 24_000 } else { 2_000 });
        let r = run(JitterConfig::default(), arr, 10_000, 6_200);
        check_played(&r, 0..300);
        assert_eq!(r.stats.late + r.stats.lost, 0, "{:?}", r.stats);
        // At most one early stretch, when the first overtaken packet came
        // too close to its deadline; none after that.
        assert!(events(&r.heard) <= 1, "{:?}", r.stats);
        assert_eq!(events(&r.heard[100..]), 0, "{:?}", r.stats);
    }

    #[test]
    fn duplicates_are_dropped() {
        let mut arr = stream(200, |_| 2_000);
        arr.extend(stream(200, |_| 6_000));
        let r = run(JitterConfig::default(), arr, 10_000, 4_100);
        check_played(&r, 0..200);
        assert_eq!(concealed(&r.heard), 0, "{:?}", r.stats);
        assert_eq!(r.stats.duplicates, 200);
    }

    #[test]
    fn each_lost_packet_is_concealed_in_its_slot() {
        let arr: Vec<Arrival> = stream(400, |_| 2_000)
            .into_iter()
            .filter(|a| a.index % 20 != 13)
            .collect();
        let r = run(JitterConfig::default(), arr, 10_000, 8_100);
        check_played(&r, (0..400).filter(|i| i % 20 != 13));
        assert_eq!(r.stats.lost, 20);
        // The concealment sits exactly where the missing packet was.
        let pos = r.heard.iter().position(|h| *h == Heard::Frame(12)).unwrap();
        assert_eq!(r.heard[pos + 1], Heard::Concealed);
        assert_eq!(r.heard[pos + 2], Heard::Frame(14));
        // Nothing else was concealed.
        assert_eq!(concealed(&r.heard), 20, "{:?}", r.stats);
    }

    #[test]
    fn a_late_packet_is_dropped_and_grows_the_buffer() {
        let arr = stream(300, |i| if i == 100 { 150_000 } else { 2_000 });
        let r = run(JitterConfig::default(), arr, 10_000, 6_100);
        assert_eq!(r.stats.late, 1);
        assert_eq!(r.stats.lost, 1);
        check_played(&r, (0..300).filter(|i| *i != 100));
        // The buffer grew right after the late arrival (a stretch).
        assert!(r.stats.stretched + r.stats.expanded >= 1, "{:?}", r.stats);
    }

    #[test]
    fn grows_with_jitter_then_shrinks_slowly() {
        // 20 s: 4 s clean, 8 s of 0–60 ms uniform jitter, 8 s clean again.
        let mut rand = rng(0x9E37_79B9_7F4A_7C15);
        let delays: Vec<u64> = (0..1000u32)
            .map(|i| {
                if (200..600).contains(&i) {
                    rand() % 60_000
                } else {
                    1_000
                }
            })
            .collect();
        let arr = stream(1000, |i| delays[i as usize]);
        let r = run(JitterConfig::default(), arr, 10_000, 20_500);
        let target_at = |s: u64| r.targets.iter().find(|(t, _)| *t >= s * 1000).unwrap().1;
        assert!(target_at(3) <= 30.0 + 1e-6, "clean: {}", target_at(3));
        assert!(target_at(8) >= 50.0, "jittery: {}", target_at(8));
        // Shrinks slowly: still well above the clean figure shortly after.
        let after = target_at(12) + 0.0;
        assert!(target_at(12) > 35.0 && after <= target_at(8) + 30.0);
        assert!(target_at(20) < 32.0, "shrunk back: {}", target_at(20));
        // Under jitter, concealment stays rare after the first second of it.
        let jittery: Vec<Heard> = r.heard[260..600].to_vec();
        let c = concealed(&jittery);
        assert!(
            c * 100 <= 3 * jittery.len(),
            "{c} concealed of {}: {:?}",
            jittery.len(),
            r.stats
        );
        // And every packet that was played came out in order.
        let f = frames(&r.heard);
        assert!(f.windows(2).all(|w| w[0] < w[1]));
        assert!(f.len() >= 970, "{} played, {:?}", f.len(), r.stats);
    }

    #[test]
    fn a_burst_after_an_outage_is_played_then_the_delay_drains() {
        // Packets 100–109 are held by the network and released together.
        let arr = stream(600, |i| {
            if (100..110).contains(&i) {
                2_000 + (110 - u64::from(i)) * 20_000
            } else {
                2_000
            }
        });
        let r = run(JitterConfig::default(), arr, 10_000, 12_100);
        let f = frames(&r.heard);
        assert!(f.windows(2).all(|w| w[0] < w[1]));
        // Most of the burst is played rather than thrown away.
        assert!(
            (100..110).filter(|i| f.contains(i)).count() >= 8,
            "{:?}",
            r.stats
        );
        // The extra delay drains within a few seconds, by time-scale
        // compression: every frame is handed out.
        assert!(r.stats.accelerated >= 3, "{:?}", r.stats);
        assert_eq!(r.stats.dropped, 0, "{:?}", r.stats);
        let tail = &r.heard[r.heard.len() - 100..];
        assert_eq!(concealed(tail), 0);
        check_played(&r, 0..600);
    }

    /// A uniform offset in `-max_us..=max_us` from a pseudo-random source.
    fn jitter_us(rand: &mut impl FnMut() -> u64, max_us: u64) -> i64 {
        (rand() % (2 * max_us + 1)) as i64 - max_us as i64
    }

    /// Discontinuities and adjustments: a frame dropped, a frame concealed
    /// in between, or a time-scale change (inaudible, but on a clean link
    /// there should be none either).
    fn events(h: &[Heard]) -> usize {
        let f = frames(h);
        f.windows(2).filter(|w| w[1] != w[0] + 1).count() + concealed(h) + adjusted(h)
    }

    /// After the first `warm_up` pops: every packet played once, in order,
    /// with nothing dropped and nothing concealed in between.
    fn assert_seamless(r: &Run, warm_up: usize, what: &str) {
        let tail = &r.heard[warm_up..];
        let f = frames(tail);
        assert!(
            f.windows(2).all(|w| w[1] == w[0] + 1),
            "{what}: a frame was dropped after warm-up: {:?}",
            r.stats
        );
        assert_eq!(
            concealed(tail),
            0,
            "{what}: a frame was concealed after warm-up: {:?}",
            r.stats
        );
        assert_eq!(
            adjusted(tail),
            0,
            "{what}: the delay changed after warm-up: {:?}",
            r.stats
        );
    }

    /// The loopback as measured: packets every 20 ms with ±2 ms of transit
    /// jitter, pops every 20 ms with ±2 ms of their own, at every relative
    /// phase. After half a second nothing may be dropped or repeated: the
    /// issue heard two 20 ms cuts at about 2 s and 3 s into every call
    /// (the margin decaying from its initial value made the shrink rule
    /// drop a frame, then the grow rule stretch one).
    #[test]
    fn clean_link_with_small_jitter_never_drops_or_conceals_after_warm_up() {
        for seed in 1..=4u64 {
            for phase_ms in 0..20u64 {
                let mut rand = rng(0xA5A5_5A5A_1234_5678 ^ (seed << 32) ^ phase_ms);
                let n = 1000u32; // 20 s
                let arrivals: Vec<Arrival> = (0..n)
                    .map(|i| Arrival {
                        index: i,
                        at_us: (i64::from(i) * 20_000 + 3_000 + jitter_us(&mut rand, 2_000)) as u64,
                        ssrc: 7,
                    })
                    .collect();
                let pops: Vec<u64> = (0..1000u64)
                    .map(|k| {
                        (k as i64 * 20_000
                            + 3_000
                            + phase_ms as i64 * 1000
                            + jitter_us(&mut rand, 2_000)) as u64
                    })
                    .collect();
                let r = run_at(JitterConfig::default(), arrivals, &pops);
                if std::env::var("JB_DIAG").is_ok() {
                    let ev: Vec<String> = r
                        .heard
                        .windows(2)
                        .enumerate()
                        .filter_map(|(k, w)| match w {
                            [Heard::Frame(a), Heard::Frame(b)] if *b != a + 1 => {
                                Some(format!("drop@{}ms", k * 20))
                            }
                            [_, Heard::Concealed] => Some(format!("conc@{}ms", k * 20)),
                            [_, Heard::Accelerated(..)] => Some(format!("accel@{}ms", k * 20)),
                            [_, Heard::Expanded(_)] => Some(format!("expand@{}ms", k * 20)),
                            _ => None,
                        })
                        .collect();
                    eprintln!(
                        "seed {seed} phase {phase_ms}: {ev:?} mean {:.1}",
                        r.stats.mean_delay_ms
                    );
                    continue;
                }
                assert_seamless(&r, 25, &format!("seed {seed}, phase {phase_ms} ms"));
                assert!(r.stats.mean_delay_ms < 45.0, "{:?}", r.stats);
            }
        }
    }

    /// The peer starts sending before we read the socket: the first
    /// 200 ms of packets are read in one burst. That says nothing about
    /// the network and must not inflate the margin (a stretch now, a drop
    /// when it decays).
    #[test]
    fn a_burst_queued_before_playout_costs_no_frame() {
        for phase_ms in 0..20u64 {
            let arr = stream(500, |i| {
                if i < 10 {
                    203_000 - u64::from(i) * 20_000
                } else {
                    3_000
                }
            });
            let r = run(JitterConfig::default(), arr, phase_ms * 1000, 10_000);
            assert_seamless(&r, 25, &format!("phase {phase_ms} ms"));
            assert_eq!(
                r.stats.stretched + r.stats.dropped + r.stats.accelerated + r.stats.expanded,
                0,
                "{:?}",
                r.stats
            );
        }
    }

    /// A slow (debug) build: every 200 ms our task is held up for
    /// `stall` ms. The pop that fell due in the stall runs at its end, and
    /// the packets that came in meanwhile are read just before it (the
    /// session drains its socket before popping), stamped at the stall's
    /// end, so they look closer to their deadline than they were. The
    /// buffer may grow once for that (a stretch: with a stall of 15 ms
    /// every 200 ms the slack really does touch half the margin), but it
    /// must settle: at most one event after warm-up, none in the last 10 s.
    #[test]
    fn our_own_stalls_settle_after_at_most_one_event() {
        for stall_ms in [3u64, 8, 15, 30, 45] {
            for phase_ms in (0..20u64).step_by(3) {
                let mut rand = rng(0x5EED ^ (stall_ms << 8) ^ phase_ms);
                let dues: Vec<u64> = (0..750u64)
                    .map(|k| k * 20_000 + 3_000 + phase_ms * 1000)
                    .collect();
                let pops: Vec<u64> = (0..750u64)
                    .map(|k| {
                        let due = k * 20_000 + 3_000 + phase_ms * 1000;
                        // The stall starts 4 ms before every 10th pop.
                        let start = (k / 10) * 200_000 + 3_000 + phase_ms * 1000;
                        let end = start + stall_ms * 1000;
                        let begun = start.saturating_sub(4_000);
                        if due >= begun && due < end { end } else { due }
                    })
                    .collect();
                let stalled = |t: u64| {
                    dues.iter()
                        .step_by(10)
                        .map(|&due| (due.saturating_sub(4_000), due + stall_ms * 1000))
                        .find(|&(b, e)| t >= b && t < e)
                        .map(|(_, e)| e)
                };
                let arrivals: Vec<Arrival> = (0..750u32)
                    .map(|i| {
                        let t =
                            (i64::from(i) * 20_000 + 3_000 + jitter_us(&mut rand, 2_000)) as u64;
                        Arrival {
                            index: i,
                            at_us: stalled(t).unwrap_or(t),
                            ssrc: 7,
                        }
                    })
                    .collect();
                let r = run_at(JitterConfig::default(), arrivals, &pops);
                let what = format!("stall {stall_ms} ms, phase {phase_ms} ms");
                assert!(events(&r.heard[25..]) <= 1, "{what}: {:?}", r.stats);
                assert_seamless(&r, 250, &what);
            }
        }
    }

    fn drift(ppm: i64) -> Run {
        // The sender's clock runs `ppm` fast (negative: slow): 60 s of packets.
        let n = 3000u32;
        let period = 20_000.0 * (1.0 - ppm as f64 / 1e6);
        let arr = (0..n)
            .map(|i| Arrival {
                index: i,
                at_us: (f64::from(i) * period) as u64 + 2_000,
                ssrc: 7,
            })
            .collect();
        run(JitterConfig::default(), arr, 10_000, 59_000)
    }

    #[test]
    fn clock_drift_fast_sender_is_absorbed_by_accelerating() {
        let r = drift(10_000); // 1 % fast: a frame gained every 2 s
        assert!(r.stats.accelerated >= 20, "{:?}", r.stats);
        assert_eq!(r.stats.dropped, 0, "{:?}", r.stats);
        let f = frames(&r.heard);
        assert!(f.windows(2).all(|w| w[1] == w[0] + 1), "{:?}", r.stats);
        assert!(r.stats.max_delay_ms < 80.0, "{:?}", r.stats);
        assert!(r.stats.mean_delay_ms < 40.0, "{:?}", r.stats);
        assert_eq!(r.stats.lost, 0);
    }

    #[test]
    fn clock_drift_slow_sender_is_absorbed_by_expanding() {
        let r = drift(-10_000);
        let grown = r.stats.stretched + r.stats.expanded;
        assert!((20..=40).contains(&grown), "{:?}", r.stats);
        // Grown by stretching frames that were there, not by concealment.
        assert_eq!(r.stats.stretched, 0, "{:?}", r.stats);
        assert!(r.stats.mean_delay_ms < 40.0, "{:?}", r.stats);
        let f = frames(&r.heard);
        assert!(f.len() > 2900);
        assert!(f.iter().enumerate().all(|(k, &i)| k as u32 == i));
        assert!(r.stats.accelerated <= 1, "{:?}", r.stats);
        assert_eq!(r.stats.dropped, 0, "{:?}", r.stats);
    }

    #[test]
    fn a_pause_then_a_jump_reprimes_instead_of_concealing() {
        // 2 s of audio, 3 s of silence (no packets; timestamps keep running), 2 s more.
        let arr = stream(350, |_| 1_000)
            .into_iter()
            .filter(|a| !(100..250).contains(&a.index))
            .collect();
        let r = run(JitterConfig::default(), arr, 10_000, 7_100);
        check_played(&r, (0..350).filter(|i| !(100..250).contains(i)));
        assert!(
            concealed(&r.heard) <= JitterConfig::default().max_conceal as usize,
            "{:?}",
            r.stats
        );
        assert_eq!(r.stats.lost, 0);
    }

    #[test]
    fn a_new_source_restarts_the_buffer() {
        let mut arr = stream(100, |_| 1_000);
        arr.extend((0..100).map(|i| Arrival {
            index: 1000 + i,
            at_us: 2_000_000 + u64::from(i) * 20_000,
            ssrc: 9,
        }));
        let r = run(JitterConfig::default(), arr, 10_000, 4_100);
        // The old source's last packet may be cut off by the switch.
        let f = frames(&r.heard);
        assert!(f.windows(2).all(|w| w[0] < w[1]));
        assert!(f.len() as u64 + r.stats.dropped >= 199, "{:?}", r.stats);
        assert_eq!(r.stats.restarts, 1);
        assert!(f.contains(&1000));
    }

    /// Opus: a 48 kHz clock, 960 ticks a packet. Times and margins come out
    /// in ms as at 8 kHz, a lost packet is one concealed slot, and after it
    /// the next packet's payload is offered for FEC (a stretch gets none).
    #[test]
    fn runs_on_a_48k_clock_and_offers_the_next_packet_after_a_loss() {
        let cfg = JitterConfig {
            clock_rate: 48_000,
            frame_samples: 960,
            ..JitterConfig::default()
        };
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(cfg);
        let mut heard = Vec::new();
        let mut fec = Vec::new();
        let ts0: u32 = 0xFFFF_0000;
        let mut held = false;
        for i in 0u32..60 {
            let now = t0 + Duration::from_millis(u64::from(i) * 20);
            // Packet 30 is lost; every third packet arrives 8 ms late.
            if i != 30 {
                let late = if i % 3 == 0 { 8 } else { 0 };
                let payload = i.to_be_bytes();
                let p = RtpPacket {
                    header: RtpHeader {
                        marker: i == 0,
                        payload_type: 111,
                        sequence: i as u16,
                        timestamp: ts0.wrapping_add(i * 960),
                        ssrc: 7,
                    },
                    payload: &payload,
                };
                jb.push(now + Duration::from_millis(late), &p, 960);
            }
            if std::mem::take(&mut held) {
                // The expanded frame still plays: no pop this tick.
                continue;
            }
            let pop = jb.pop(now + Duration::from_millis(10));
            held = matches!(pop, Pop::Expand(_));
            match pop {
                Pop::Frame(f) | Pop::Expand(f) => {
                    assert_eq!(f.samples, 960);
                    heard.push(u32::from_be_bytes(f.payload[..4].try_into().unwrap()));
                }
                Pop::Accelerate(a, b) => {
                    for f in [a, b] {
                        heard.push(u32::from_be_bytes(f.payload[..4].try_into().unwrap()));
                    }
                }
                Pop::Concealed { samples } => {
                    assert_eq!(samples, 960);
                    if let Some(p) = jb.next_payload() {
                        fec.push(u32::from_be_bytes(p[..4].try_into().unwrap()));
                    }
                }
                Pop::Empty => {}
            }
        }
        let played: Vec<u32> = heard.iter().copied().filter(|&i| i > 25).take(5).collect();
        assert_eq!(played, vec![26, 27, 28, 29, 31], "{heard:?}");
        assert_eq!(fec, vec![31], "the packet after the lost one, once");
        let s = jb.stats();
        assert_eq!(s.lost, 1, "{s:?}");
        assert_eq!(s.late, 0, "{s:?}");
        // 8 ms of jitter every third packet: J is a few ms, not 6× that.
        assert!(s.jitter_ms > 1.0 && s.jitter_ms < 8.0, "{s:?}");
        assert!(s.target_ms < 60.0, "{s:?}");
    }
}
