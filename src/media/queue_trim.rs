//! Keeps a sound card's queue short: the delay between our 20 ms frames
//! and the card's own callbacks.
//!
//! The session hands frames to the card on its clock, the card takes them
//! on its own; a queue sits between them (the speaker ring, the microphone
//! backlog). Whenever one side runs late once (a busy machine, a tick
//! that fired just before the card's period), the queue comes out of it a
//! frame longer, and nothing ever shortens it again: the delay only grows
//! (this is where most of the 70–97 ms a direction that issue 17 measured
//! came from).
//!
//! [`QueueTrim`] watches the queue's lowest level over three seconds. What
//! stayed in the queue that whole time beyond [`SLACK_MS`] is delay
//! nobody needs, and is removed from the audio itself, inaudibly: with
//! [`tsm::accelerate`] (whole pitch periods, cross-faded) when there is at
//! least a pitch period's choice to remove, or in silence for smaller
//! amounts, a frame at a time until the excess is gone; the watch then
//! starts over. Sans-IO: the caller reports
//! levels and passes the frames.

use super::tsm;

/// What the queue keeps at its lowest: our tick's jitter against the
/// card's period on a loaded machine.
pub const SLACK_MS: u32 = 6;
/// Frames (3 s) over which the lowest level is taken before acting: longer
/// than the usual gap between two late ticks of a loaded machine, so the
/// slack those need is kept.
const WINDOW: u32 = 150;
/// Under this much excess, voiced audio is left alone (only silence is
/// cut): a range of lengths this wide holds a whole pitch period of most
/// voices (100 Hz and up) and of any tone.
const VOICED_MIN_MS: u32 = 10;
/// The most one frame gives up (a frame keeps at least a seam).
const MAX_CUT_MS: u32 = 15;

#[derive(Debug, Clone)]
pub struct QueueTrim {
    rate: u32,
    low: usize,
    seen: u32,
    /// Excess found by the last full window, still to remove.
    excess: usize,
    removed: u64,
}

impl QueueTrim {
    /// For frames and levels at `rate`.
    pub fn new(rate: u32) -> QueueTrim {
        QueueTrim {
            rate,
            low: usize::MAX,
            seen: 0,
            excess: 0,
            removed: 0,
        }
    }

    /// The queue's lowest level (samples at the frames' rate) since the
    /// last report; call once a frame.
    pub fn observe(&mut self, low: usize) {
        self.low = self.low.min(low);
        self.seen += 1;
        if self.seen >= WINDOW {
            self.excess = self.low.saturating_sub(tsm::samples(self.rate, SLACK_MS));
            self.low = usize::MAX;
            self.seen = 0;
        }
    }

    /// Samples removed so far.
    pub fn removed(&self) -> u64 {
        self.removed
    }

    /// How many samples [`QueueTrim::trim`] wants to remove, at most, from
    /// the next frame (0: none); a caller that must gather the audio
    /// first (the microphone backlog) asks this.
    pub fn wanted(&self) -> usize {
        self.excess.min(tsm::samples(self.rate, MAX_CUT_MS))
    }

    /// Shortens `pcm` (a frame on its way into the queue, or a frame plus
    /// the extra it may lose, out of it) by part of the excess, if it can
    /// be done unheard; returns the samples removed.
    pub fn trim(&mut self, pcm: &mut Vec<i16>) -> usize {
        let want = self.wanted();
        if want == 0 {
            return 0;
        }
        let seam = tsm::samples(self.rate, 5);
        if pcm.len() < want + seam {
            return 0;
        }
        let voiced_ok = want >= tsm::samples(self.rate, VOICED_MIN_MS);
        let removed = if voiced_ok {
            tsm::accelerate(pcm, self.rate, 1..=want).samples
        } else if tsm::is_silent(&pcm[..want + seam]) {
            tsm::accelerate(pcm, self.rate, want..=want).samples
        } else {
            0
        };
        if removed > 0 {
            // The rest of the excess goes with the next frames; the
            // levels seen in this window predate the cut: measure anew.
            self.excess -= removed.min(self.excess);
            self.low = usize::MAX;
            self.seen = 0;
            self.removed += removed as u64;
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{phase, tone};

    /// A card that takes 20 ms every 20 ms from a queue that our ticks
    /// fill 15 ms after each of its callbacks. The call starts with
    /// `start` frames already queued (the card started late), and one
    /// tick in `every` runs 10 ms late, past the card's callback. Returns
    /// what the card played and the queue's level 20 s in.
    fn play(trim: bool, start: usize, every: usize) -> (Vec<i16>, usize) {
        let (rate, f, frames) = (8000, 160, 1500);
        let src = tone::sine(440.0, 0.5, rate, (frames * 20) as u32);
        let mut q = std::collections::VecDeque::new();
        let mut t = QueueTrim::new(rate);
        let mut heard = Vec::new();
        let tick_at = |n: usize| 20 * n + 15 + if n % every == every - 1 { 10 } else { 0 };
        let mut n = 0;
        let mut level_at_20_s = 0;
        let push = |n: usize, q: &mut std::collections::VecDeque<i16>, t: &mut QueueTrim| {
            let mut frame = src[n * f..(n + 1) * f].to_vec();
            if trim {
                t.trim(&mut frame);
            }
            q.extend(frame);
        };
        while n < start {
            push(n, &mut q, &mut t);
            n += 1;
        }
        for ms in 0..frames * 20 {
            while n < frames && tick_at(n - start) <= ms {
                push(n, &mut q, &mut t);
                n += 1;
            }
            if ms % 20 == 0 && ms > 0 {
                for _ in 0..f {
                    heard.push(q.pop_front().unwrap_or(0));
                }
                t.observe(q.len());
                if ms == 20_000 {
                    level_at_20_s = q.len();
                }
            }
        }
        (heard, level_at_20_s)
    }

    fn jumps(x: &[i16]) -> usize {
        phase::cuts(x, 8000, 440.0, 20.0, 0.5, 0.0, 20.0)
            .into_iter()
            .filter(|c| matches!(c, phase::Cut::Jump { .. }))
            .count()
    }

    #[test]
    fn a_queue_that_started_long_is_brought_back_without_a_cut() {
        // Five frames queued before the card started: 100 ms for good.
        let (heard, level) = play(false, 5, usize::MAX);
        assert!(
            level >= 160 * 5,
            "without trim the queue stays long: {level}"
        );
        assert_eq!(jumps(&heard), 0);
        let (heard, level) = play(true, 5, usize::MAX);
        assert!(
            level <= tsm::samples(8000, SLACK_MS + VOICED_MIN_MS),
            "trimmed queue: {level} samples"
        );
        assert_eq!(jumps(&heard), 0, "the trim is heard");
        assert_eq!(
            QueueTrim::new(8000).wanted(),
            0,
            "a fresh trim wants nothing"
        );
    }

    #[test]
    fn a_late_tick_now_and_then_keeps_the_frame_it_needs() {
        // One tick in 100 (every 2 s) misses the card: the first one
        // starves it (a dropout in both runs); the frame it leaves in the
        // queue is then needed, and the trim must not take it (each time
        // it did, the next late tick would starve the card again).
        let (heard, _) = play(false, 0, 100);
        let (heard_t, _) = play(true, 0, 100);
        let dropouts = |x: &[i16]| phase::cuts(x, 8000, 440.0, 20.0, 0.5, 0.0, 20.0).len();
        assert_eq!(dropouts(&heard_t), dropouts(&heard));
    }

    #[test]
    fn silence_is_cut_exactly_and_voice_only_by_whole_periods() {
        let mut t = QueueTrim::new(8000);
        for _ in 0..WINDOW {
            t.observe(160);
        }
        // 20 ms seen at the lowest, 6 kept: 14 ms = 112 samples to cut.
        assert_eq!(t.wanted(), 112);
        let mut quiet = vec![3i16; 160];
        assert_eq!(t.trim(&mut quiet), 112);
        assert_eq!(quiet.len(), 48);
        assert_eq!(t.wanted(), 0);
        // 6.5 ms: too little for a voiced splice, a tone frame is left
        // alone; silence is cut exactly.
        for _ in 0..WINDOW {
            t.observe(100);
        }
        assert_eq!(t.wanted(), 52);
        let mut tonef = tone::sine(440.0, 0.5, 8000, 20);
        assert_eq!(t.trim(&mut tonef), 0);
        assert_eq!(tonef.len(), 160);
        let mut quiet = vec![3i16; 160];
        assert_eq!(t.trim(&mut quiet), 52);
        assert_eq!(t.wanted(), 0);
    }
}
