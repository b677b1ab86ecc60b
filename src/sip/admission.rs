//! Admission of new INVITE dialogs: token buckets per source address and
//! in total, so a flood of unauthenticated INVITEs is refused with 503 and
//! Retry-After (RFC 3261 §21.5.4, §20.33) before it costs a transaction,
//! a dialog, an RTP socket or an event for the call logic.
//!
//! Sans-IO: the caller passes `now`; every table here is bounded.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Inbound calls ringing (or answered and not yet ACKed) at once: a
/// softphone shows a handful; beyond this a new INVITE is answered 486 at
/// once, before a dialog or an RTP port exists for it.
pub const MAX_RINGING_INBOUND: usize = 8;

/// How many new dialogs are let in, and how much is remembered.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// New INVITE dialogs a second from one source address, sustained.
    pub per_source_rate: f64,
    /// … and in one burst.
    pub per_source_burst: f64,
    /// New INVITE dialogs a second from everyone together, sustained.
    pub total_rate: f64,
    pub total_burst: f64,
    /// Sources with a partly spent bucket that are tracked at once; a new
    /// source beyond this is refused until some bucket refills.
    pub max_sources: usize,
    /// An admitted Call-ID is let through again (retransmissions of its
    /// INVITE) for this long: 64*T1, the life of an INVITE server
    /// transaction (RFC 3261 §17.2.1, Timer H).
    pub remember: Duration,
}

impl Default for Limits {
    /// A softphone rings for one person: a few new calls a second is far
    /// above what a PBX sends it, and far below what costs memory.
    fn default() -> Self {
        Limits {
            per_source_rate: 5.0,
            per_source_burst: 10.0,
            total_rate: 10.0,
            total_burst: 20.0,
            max_sources: 256,
            remember: Duration::from_secs(32),
        }
    }
}

/// What to do with an INVITE that would start a dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let it through to the stack.
    Admit,
    /// Answer 503 with `Retry-After: retry_after_s`, statelessly.
    Refuse { retry_after_s: u32 },
}

#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(burst: f64, now: Instant) -> Bucket {
        Bucket {
            tokens: burst,
            at: now,
        }
    }

    fn refill(&mut self, rate: f64, burst: f64, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * rate).min(burst);
        self.at = now;
    }

    /// Whole seconds until one token is there (at least 1: Retry-After is
    /// in seconds, and 0 would invite an immediate retry).
    fn wait_s(&self, rate: f64) -> u32 {
        if rate <= 0.0 {
            return 3600;
        }
        let need = (1.0 - self.tokens).max(0.0);
        ((need / rate).ceil() as u32).clamp(1, 3600)
    }
}

/// The admission state of one UA.
#[derive(Debug)]
pub struct Admission {
    limits: Limits,
    total: Bucket,
    sources: HashMap<IpAddr, Bucket>,
    /// Admitted Call-IDs, oldest first, with when they were admitted…
    admitted: VecDeque<(Instant, String)>,
    /// … and the same as a set, for the lookup.
    admitted_ids: HashSet<String>,
}

impl Admission {
    pub fn new(limits: Limits, now: Instant) -> Admission {
        Admission {
            total: Bucket::full(limits.total_burst, now),
            limits,
            sources: HashMap::new(),
            admitted: VecDeque::new(),
            admitted_ids: HashSet::new(),
        }
    }

    /// An INVITE without a To tag (a new dialog) from `source`.
    pub fn new_invite(&mut self, now: Instant, source: IpAddr, call_id: &str) -> Verdict {
        self.expire(now);
        // A retransmission (or a CANCEL race) of an INVITE we let in must
        // reach its transaction, not be refused behind its back.
        if self.admitted_ids.contains(call_id) {
            return Verdict::Admit;
        }
        let l = &self.limits;
        self.total.refill(l.total_rate, l.total_burst, now);
        let mut src = match self.sources.get(&source) {
            Some(b) => b.clone(),
            None => Bucket::full(l.per_source_burst, now),
        };
        src.refill(l.per_source_rate, l.per_source_burst, now);
        if src.tokens < 1.0 {
            self.sources.insert(source, src.clone());
            return Verdict::Refuse {
                retry_after_s: src.wait_s(l.per_source_rate),
            };
        }
        if self.total.tokens < 1.0 {
            return Verdict::Refuse {
                retry_after_s: self.total.wait_s(l.total_rate),
            };
        }
        if !self.sources.contains_key(&source) && self.sources.len() >= l.max_sources {
            // Every tracked source is still spending: a new one waits.
            return Verdict::Refuse { retry_after_s: 1 };
        }
        src.tokens -= 1.0;
        self.total.tokens -= 1.0;
        self.sources.insert(source, src);
        self.admitted.push_back((now, call_id.to_string()));
        self.admitted_ids.insert(call_id.to_string());
        Verdict::Admit
    }

    /// Forget what no longer matters: Call-IDs past their transaction's
    /// life, and sources whose bucket is full again (the same as unknown).
    fn expire(&mut self, now: Instant) {
        while self
            .admitted
            .front()
            .is_some_and(|(t, _)| now.saturating_duration_since(*t) >= self.limits.remember)
        {
            if let Some((_, id)) = self.admitted.pop_front() {
                self.admitted_ids.remove(&id);
            }
        }
        let (rate, burst) = (self.limits.per_source_rate, self.limits.per_source_burst);
        self.sources.retain(|_, b| {
            let dt = now.saturating_duration_since(b.at).as_secs_f64();
            b.tokens + dt * rate < burst
        });
    }

    /// Entries held now (for tests and diagnostics).
    pub fn tracked(&self) -> (usize, usize) {
        (self.sources.len(), self.admitted.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    fn limits() -> Limits {
        Limits {
            per_source_rate: 2.0,
            per_source_burst: 4.0,
            total_rate: 5.0,
            total_burst: 8.0,
            max_sources: 3,
            remember: Duration::from_secs(32),
        }
    }

    fn admitted(a: &mut Admission, now: Instant, src: IpAddr, n: usize, tag: &str) -> usize {
        (0..n)
            .filter(|i| a.new_invite(now, src, &format!("{tag}-{i}")) == Verdict::Admit)
            .count()
    }

    #[test]
    fn one_source_gets_its_burst_then_503_with_retry_after() {
        let t0 = Instant::now();
        let mut a = Admission::new(limits(), t0);
        assert_eq!(admitted(&mut a, t0, ip(1), 4, "a"), 4);
        assert_eq!(
            a.new_invite(t0, ip(1), "a-5"),
            Verdict::Refuse { retry_after_s: 1 }
        );
        // 2/s: one token back after half a second.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(a.new_invite(t1, ip(1), "a-6"), Verdict::Admit);
        assert!(matches!(
            a.new_invite(t1, ip(1), "a-7"),
            Verdict::Refuse { .. }
        ));
    }

    #[test]
    fn a_flooding_source_does_not_shut_out_the_others() {
        let t0 = Instant::now();
        let mut a = Admission::new(limits(), t0);
        // 1,000 INVITEs a second for 10 s from one address.
        let mut t = t0;
        let mut flood_in = 0;
        for i in 0..10_000 {
            t = t0 + Duration::from_millis(i);
            if a.new_invite(t, ip(1), &format!("f-{i}")) == Verdict::Admit {
                flood_in += 1;
            }
        }
        // Its burst plus its rate, no more.
        assert!(flood_in <= 4 + 2 * 10 + 1, "{flood_in}");
        assert_eq!(a.new_invite(t, ip(2), "honest"), Verdict::Admit);
    }

    #[test]
    fn the_total_bounds_many_sources() {
        let t0 = Instant::now();
        let mut a = Admission::new(
            Limits {
                max_sources: 1000,
                ..limits()
            },
            t0,
        );
        let n = (0..100)
            .filter(|i| a.new_invite(t0, ip(*i as u8), &format!("c-{i}")) == Verdict::Admit)
            .count();
        assert_eq!(n, 8, "the total burst");
        // 5/s in total: one more after 200 ms, Retry-After 1 s before.
        assert_eq!(
            a.new_invite(t0, ip(200), "x"),
            Verdict::Refuse { retry_after_s: 1 }
        );
        let t1 = t0 + Duration::from_millis(200);
        assert_eq!(a.new_invite(t1, ip(201), "y"), Verdict::Admit);
    }

    #[test]
    fn retry_after_says_when_a_slow_bucket_refills() {
        let t0 = Instant::now();
        let mut a = Admission::new(
            Limits {
                per_source_rate: 0.25,
                per_source_burst: 1.0,
                ..limits()
            },
            t0,
        );
        assert_eq!(a.new_invite(t0, ip(1), "a"), Verdict::Admit);
        assert_eq!(
            a.new_invite(t0, ip(1), "b"),
            Verdict::Refuse { retry_after_s: 4 }
        );
        assert_eq!(
            a.new_invite(t0 + Duration::from_secs(3), ip(1), "c"),
            Verdict::Refuse { retry_after_s: 1 }
        );
        assert_eq!(
            a.new_invite(t0 + Duration::from_secs(4), ip(1), "d"),
            Verdict::Admit
        );
    }

    #[test]
    fn a_retransmitted_invite_is_let_through_without_paying() {
        let t0 = Instant::now();
        let mut a = Admission::new(limits(), t0);
        assert_eq!(admitted(&mut a, t0, ip(1), 4, "a"), 4);
        // Timer A retransmissions of an admitted INVITE (RFC 3261 §17.1.1.2).
        for ms in [500, 1500, 3500] {
            assert_eq!(
                a.new_invite(t0 + Duration::from_millis(ms), ip(1), "a-0"),
                Verdict::Admit
            );
        }
        // After 64*T1 it is a stranger again.
        let late = t0 + Duration::from_secs(33);
        assert_eq!(admitted(&mut a, late, ip(1), 4, "b"), 4);
        assert!(matches!(
            a.new_invite(late, ip(1), "a-0"),
            Verdict::Refuse { .. }
        ));
    }

    #[test]
    fn the_tables_stay_bounded_under_a_spoofed_flood() {
        let t0 = Instant::now();
        let mut a = Admission::new(limits(), t0);
        // 100,000 INVITEs from 100,000 addresses over 100 s.
        for i in 0..100_000u32 {
            let t = t0 + Duration::from_millis(u64::from(i));
            a.new_invite(t, IpAddr::from(i.to_be_bytes()), &format!("s-{i}"));
            let (sources, ids) = a.tracked();
            assert!(sources <= 3, "{sources} sources at {i}");
            // At most the total burst plus 32 s at the total rate.
            assert!(ids <= 8 + 5 * 32 + 1, "{ids} call-ids at {i}");
        }
        // Quiet for a while: the source table empties by itself.
        let later = t0 + Duration::from_secs(200);
        assert_eq!(a.new_invite(later, ip(9), "late"), Verdict::Admit);
        assert_eq!(a.tracked(), (1, 1));
    }

    #[test]
    fn a_full_source_table_refuses_newcomers_until_a_bucket_refills() {
        let t0 = Instant::now();
        let mut a = Admission::new(limits(), t0);
        for s in 1..=3 {
            assert_eq!(a.new_invite(t0, ip(s), &format!("c{s}")), Verdict::Admit);
        }
        assert_eq!(
            a.new_invite(t0, ip(4), "c4"),
            Verdict::Refuse { retry_after_s: 1 }
        );
        // One token back in 0.5 s at 2/s: the buckets are full again.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(a.new_invite(t1, ip(4), "c4"), Verdict::Admit);
    }
}
