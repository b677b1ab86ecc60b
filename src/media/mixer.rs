//! The three-way call's mixer: sans-IO, one 20 ms frame at a time.
//!
//! ```text
//!   agent mic ─┐                          ┌─▶ far end k hears: agent + every other far end
//!   far end 1 ─┼─▶ [resample to mix rate] ─▶ Σ ┼─▶ the agent hears:  every far end (+ a beep)
//!   far end 2 ─┘                          └─▶ [resample back to each port's rate]
//! ```
//!
//! - **Mix-minus**: each far end hears the sum of everyone but itself (no
//!   echo of its own voice), computed as `total − own` per sample.
//! - **Rates**: each port (the agent's device, each far end's leg) keeps
//!   its own rate (8 kHz for G.711, 16 kHz for G.722 and Opus); the mix
//!   runs at the widest of them, so a wideband far end still hears the
//!   other wideband one in full. Conversions use the project's streaming
//!   [`Resampler`], one per port and direction.
//! - **Clipping**: sums are taken in `i32` and saturated to `i16` at the
//!   end; two loud talkers clip, they never wrap around into noise.
//! - **Missing frames**: a far end that gave no frame this tick (its leg's
//!   tick came late, a lost packet the session did not conceal) counts as
//!   silence; the mix never waits for it.
//!
//! The caller owns the clock: [`crate::media::bridge`] runs one
//! [`Mixer::mix`] per 20 ms tick of the session that drives the agent's
//! device.

// A sans-IO core: no clock reads, no tasks (clippy.toml).
#![deny(clippy::disallowed_methods)]

use super::resample::Resampler;

/// A far end in the mix (the SIP leg's number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortId(pub u64);

/// Frame length: the sessions' ptime.
pub const FRAME_MS: u32 = 20;

fn frame_len(rate: u32) -> usize {
    (u64::from(rate) * u64::from(FRAME_MS) / 1000) as usize
}

/// One side of the mix with its own rate.
#[derive(Debug, Clone)]
struct Port {
    rate: u32,
    to_mix: Resampler,
    from_mix: Resampler,
    /// This tick's input at the mix rate (empty: nothing came: silence).
    input: Vec<i16>,
    /// What it hears, at its own rate, after the last [`Mixer::mix`].
    output: Vec<i16>,
}

impl Port {
    fn new(rate: u32, mix_rate: u32) -> Port {
        Port {
            rate,
            to_mix: Resampler::new(rate, mix_rate),
            from_mix: Resampler::new(mix_rate, rate),
            input: Vec::with_capacity(frame_len(mix_rate)),
            output: Vec::with_capacity(frame_len(rate)),
        }
    }

    fn take_input(&mut self, frame: &[i16], mix_frame: usize) {
        self.input.clear();
        self.to_mix.frame(frame, mix_frame, &mut self.input);
    }

    fn set_output(&mut self, mixed: &[i16]) {
        self.output.clear();
        let want = frame_len(self.rate);
        self.from_mix.frame(mixed, want, &mut self.output);
    }
}

/// The mixer: an agent and any number of far ends.
#[derive(Debug, Clone)]
pub struct Mixer {
    rate: u32,
    agent: Port,
    far: Vec<(PortId, Port)>,
    /// Σ of every input this tick, at the mix rate.
    total: Vec<i32>,
    scratch: Vec<i16>,
}

impl Mixer {
    /// A mixer for an agent device at `agent_rate` and far ends at
    /// `far_rates`; it mixes at the highest of these rates.
    pub fn new(agent_rate: u32, far_rates: &[(PortId, u32)]) -> Mixer {
        let rate = far_rates
            .iter()
            .map(|(_, r)| *r)
            .chain([agent_rate])
            .max()
            .unwrap_or(agent_rate);
        Mixer {
            rate,
            agent: Port::new(agent_rate, rate),
            far: far_rates
                .iter()
                .map(|&(id, r)| (id, Port::new(r, rate)))
                .collect(),
            total: vec![0; frame_len(rate)],
            scratch: Vec::with_capacity(frame_len(rate)),
        }
    }

    /// The rate the mix runs at.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// The far ends, in the order given.
    pub fn ports(&self) -> impl Iterator<Item = PortId> + '_ {
        self.far.iter().map(|(id, _)| *id)
    }

    /// Samples per frame at `id`'s rate (`None`: not in the mix).
    pub fn frame_len(&self, id: PortId) -> Option<usize> {
        self.port(id).map(|p| frame_len(p.rate))
    }

    fn port(&self, id: PortId) -> Option<&Port> {
        self.far.iter().find(|(i, _)| *i == id).map(|(_, p)| p)
    }

    fn port_mut(&mut self, id: PortId) -> Option<&mut Port> {
        self.far.iter_mut().find(|(i, _)| *i == id).map(|(_, p)| p)
    }

    /// This tick's frame from far end `id`, at its rate. A far end that
    /// gives none before [`Mixer::mix`] is silent this tick.
    pub fn far_frame(&mut self, id: PortId, frame: &[i16]) {
        let n = frame_len(self.rate);
        if let Some(p) = self.port_mut(id) {
            p.take_input(frame, n);
        }
    }

    /// Mix one tick: `agent_mic` is the agent's microphone frame (at the
    /// agent's rate); returns what the agent hears (at the same rate).
    /// Afterwards [`Mixer::far_output`] holds what each far end hears.
    pub fn mix(&mut self, agent_mic: &[i16]) -> &[i16] {
        let n = frame_len(self.rate);
        self.agent.take_input(agent_mic, n);
        self.total.clear();
        self.total.resize(n, 0);
        add(&mut self.total, &self.agent.input);
        for (_, p) in &self.far {
            add(&mut self.total, &p.input);
        }
        // The agent hears every far end: the total without its own voice.
        self.scratch.clear();
        self.scratch
            .extend(minus(&self.total, &self.agent.input).map(saturate));
        self.agent.set_output(&self.scratch);
        for (_, p) in &mut self.far {
            self.scratch.clear();
            self.scratch
                .extend(minus(&self.total, &p.input).map(saturate));
            p.set_output(&self.scratch);
            // Consumed: next tick starts silent until a new frame comes.
            p.input.clear();
        }
        &self.agent.output
    }

    /// What far end `id` hears after the last [`Mixer::mix`], at its rate.
    pub fn far_output(&self, id: PortId) -> &[i16] {
        self.port(id).map(|p| p.output.as_slice()).unwrap_or(&[])
    }
}

/// `acc += x` sample by sample (a short or empty `x` adds silence).
fn add(acc: &mut [i32], x: &[i16]) {
    for (a, &s) in acc.iter_mut().zip(x) {
        *a += i32::from(s);
    }
}

/// `total − own`, with an empty (silent) `own` leaving the total.
fn minus<'a>(total: &'a [i32], own: &'a [i16]) -> impl Iterator<Item = i32> + 'a {
    total
        .iter()
        .enumerate()
        .map(move |(i, &t)| t - own.get(i).copied().map_or(0, i32::from))
}

fn saturate(v: i32) -> i16 {
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

/// Add `x` into `frame` with saturation (an overlay such as a beep).
pub fn add_saturating(frame: &mut [i16], x: &[i16]) {
    for (f, &s) in frame.iter_mut().zip(x) {
        *f = f.saturating_add(s);
    }
}

/// A sound played once over what a device plays (the call-waiting beep),
/// at the device's rate, frame by frame.
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    samples: Vec<i16>,
    pos: usize,
}

impl Overlay {
    /// Start `samples` (a beep already playing starts over).
    pub fn start(&mut self, samples: Vec<i16>) {
        self.samples = samples;
        self.pos = 0;
    }

    pub fn is_playing(&self) -> bool {
        self.pos < self.samples.len()
    }

    /// Mix the next `frame.len()` samples of the sound into `frame`.
    pub fn apply(&mut self, frame: &mut [i16]) {
        if !self.is_playing() {
            return;
        }
        let end = (self.pos + frame.len()).min(self.samples.len());
        add_saturating(frame, &self.samples[self.pos..end]);
        self.pos = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tone::{self, ToneGen};

    const A: PortId = PortId(1);
    const B: PortId = PortId(2);

    /// Run `secs` of ticks: the agent says `fa` Hz, far end A `f1`, B `f2`
    /// (each a steady -12 dBFS sine at its port's rate). Returns what the
    /// agent, A and B heard.
    fn run(
        rates: (u32, u32, u32),
        tones: (&'static [f64], &'static [f64], &'static [f64]),
        drop_b_every: Option<usize>,
    ) -> (Vec<i16>, Vec<i16>, Vec<i16>) {
        let (ra, r1, r2) = rates;
        let mut m = Mixer::new(ra, &[(A, r1), (B, r2)]);
        let mut g = (
            ToneGen::sine(tones.0, 0.25, ra),
            ToneGen::sine(tones.1, 0.25, r1),
            ToneGen::sine(tones.2, 0.25, r2),
        );
        let (mut ha, mut h1, mut h2) = (Vec::new(), Vec::new(), Vec::new());
        for tick in 0..50 {
            let mut fa = vec![0i16; frame_len(ra)];
            let mut f1 = vec![0i16; frame_len(r1)];
            let mut f2 = vec![0i16; frame_len(r2)];
            g.0.fill(&mut fa);
            g.1.fill(&mut f1);
            g.2.fill(&mut f2);
            m.far_frame(A, &f1);
            if drop_b_every.is_none_or(|k| tick % k != 0) {
                m.far_frame(B, &f2);
            }
            ha.extend_from_slice(m.mix(&fa));
            h1.extend_from_slice(m.far_output(A));
            h2.extend_from_slice(m.far_output(B));
        }
        (ha, h1, h2)
    }

    /// The level of `freq` in the second half of `x` (dBFS).
    fn level(x: &[i16], rate: u32, freq: f64) -> f64 {
        tone::dbfs(tone::goertzel_amplitude(&x[x.len() / 2..], rate, freq))
    }

    fn hears(who: &str, x: &[i16], rate: u32, yes: &[f64], no: &[f64]) {
        for &f in yes {
            let l = level(x, rate, f);
            assert!((l + 12.0).abs() < 1.5, "{who} should hear {f} Hz: {l:.1}");
        }
        for &f in no {
            let l = level(x, rate, f);
            assert!(l < -40.0, "{who} should not hear {f} Hz: {l:.1}");
        }
    }

    #[test]
    fn each_far_end_hears_the_agent_and_the_other_and_the_agent_hears_both() {
        let (ha, h1, h2) = run((8000, 8000, 8000), (&[1000.0], &[440.0], &[880.0]), None);
        assert_eq!(ha.len(), 8000);
        hears("agent", &ha, 8000, &[440.0, 880.0], &[1000.0]);
        hears("far end 1", &h1, 8000, &[1000.0, 880.0], &[440.0]);
        hears("far end 2", &h2, 8000, &[1000.0, 440.0], &[880.0]);
    }

    #[test]
    fn narrow_and_wideband_legs_mix_at_the_wider_rate() {
        // A PCMU far end (8 kHz) with an Opus one (16 kHz), agent at 8 kHz;
        // B's 5 kHz tone only exists at 16 kHz.
        let (ha, h1, h2) = run((8000, 8000, 16000), (&[1000.0], &[440.0], &[880.0]), None);
        assert_eq!((ha.len(), h1.len(), h2.len()), (8000, 8000, 16000));
        hears("agent", &ha, 8000, &[440.0, 880.0], &[1000.0]);
        hears("far end 1", &h1, 8000, &[1000.0, 880.0], &[440.0]);
        hears("far end 2", &h2, 16000, &[1000.0, 440.0], &[880.0]);
        let m = Mixer::new(8000, &[(A, 8000), (B, 16000)]);
        assert_eq!(m.rate(), 16000);
        let (_, h1, h2) = run(
            (16000, 16000, 16000),
            (&[1000.0], &[5000.0], &[880.0]),
            None,
        );
        hears("wideband far end 2", &h2, 16000, &[5000.0, 1000.0], &[]);
        hears("wideband far end 1", &h1, 16000, &[880.0], &[5000.0]);
    }

    #[test]
    fn a_missing_frame_is_silence_not_a_stall() {
        // B gives a frame only every other tick: every tick still mixes,
        // and what A hears of B (the agent is silent here) is B's frames
        // with silent gaps between.
        let (ha, h1, _) = run((8000, 8000, 8000), (&[], &[440.0], &[880.0]), Some(2));
        assert_eq!(ha.len(), 8000, "one output frame per tick");
        let frames: Vec<f64> = h1
            .chunks(160)
            .map(|f| tone::goertzel_amplitude(f, 8000, 880.0))
            .collect();
        for (i, a) in frames.iter().enumerate().skip(2) {
            if i % 2 == 0 {
                assert!(*a < 0.001, "tick {i}: B gave nothing, A heard {a}");
            } else {
                assert!(*a > 0.15, "tick {i}: B's frame reached A: {a}");
            }
        }
        // A far end that never sends is silence too; the agent goes on.
        let mut m = Mixer::new(8000, &[(A, 8000), (B, 8000)]);
        let out = m.mix(&[100; 160]).to_vec();
        assert_eq!(out, vec![0; 160]);
        assert_eq!(m.far_output(A), &[100; 160][..]);
    }

    #[test]
    fn loud_talkers_clip_they_do_not_wrap() {
        let mut m = Mixer::new(8000, &[(A, 8000), (B, 8000)]);
        m.far_frame(A, &[30000; 160]);
        m.far_frame(B, &[30000; 160]);
        let agent = m.mix(&[-30000; 160]).to_vec();
        assert!(agent.iter().all(|&s| s == i16::MAX), "{:?}", &agent[..4]);
        // A hears agent + B = 0; B likewise.
        assert!(m.far_output(A).iter().all(|&s| s == 0));
        m.far_frame(A, &[-30000; 160]);
        m.far_frame(B, &[-30000; 160]);
        m.mix(&[-30000; 160]);
        assert!(m.far_output(A).iter().all(|&s| s == i16::MIN));
        assert_eq!(saturate(i32::from(i16::MAX) * 3), i16::MAX);
    }

    #[test]
    fn an_overlay_plays_once_over_the_frames() {
        let mut o = Overlay::default();
        let mut f = [10i16; 4];
        o.apply(&mut f);
        assert_eq!(f, [10; 4]);
        o.start(vec![1, 2, 3, 4, 5, 6]);
        o.apply(&mut f);
        assert_eq!(f, [11, 12, 13, 14]);
        let mut g = [i16::MAX; 4];
        o.apply(&mut g);
        assert_eq!(g, [i16::MAX; 4]);
        assert!(!o.is_playing());
        let mut h = [0i16; 4];
        o.apply(&mut h);
        assert_eq!(h, [0; 4]);
    }
}
