//! Does the registrar still know us? The policy of the binding check of a
//! UDP account (sans-IO: it only judges answers; `ua::probe` sends them).
//!
//! A UDP account has no connection whose loss tells it that the registrar
//! restarted. A registrar that keeps its bindings in memory (Kamailio's
//! usrloc without a database, many small PBXs) forgets them, and every call
//! to us then fails with 404 until our next refresh, minutes later. So the
//! UA sends OPTIONS to its own address of record through the registrar
//! (RFC 3261 §11: OPTIONS may be addressed to a user; the proxy routes it
//! by the location service to our registered Contact, §16.5):
//!
//! - 2xx: the binding works end to end (the same path an INVITE takes, and
//!   a NAT binding on it is refreshed, the aim of RFC 5626 §4.4's
//!   keep-alives);
//! - 404, 410, 480, 408 or no answer at all (Timer F): the binding or the
//!   path to us is gone, so register again now instead of at the refresh
//!   (RFC 5626 §4.4.1 re-registers in the same way when a flow fails);
//! - anything else (403, 405, 503, …) says nothing about the binding.
//!
//! Not every registrar routes OPTIONS to bindings: some answer it
//! themselves for any user, some refuse it. The check counts only once it
//! has worked: the first probe goes right after each successful REGISTER,
//! when the binding is known to exist. If that one does not come back with
//! a 2xx, the check says nothing on this server and stops until the next
//! registration, so a registrar that answers 404 to every OPTIONS never
//! makes us re-register in a loop.

/// What to do after one probe's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Probe again after the interval.
    Keep,
    /// The registrar lost our binding (or cannot reach us): register now.
    Reregister,
    /// This registrar does not route OPTIONS to our binding: the check
    /// proves nothing here; stop until the next registration.
    Useless,
}

/// The state of the check over one registration.
#[derive(Debug, Default, Clone, Copy)]
pub struct BindingCheck {
    /// A probe came back 2xx since the last REGISTER.
    proven: bool,
}

impl BindingCheck {
    /// A REGISTER succeeded: the next answer calibrates the check again.
    pub fn registered(&mut self) {
        self.proven = false;
    }

    /// One probe's final status (`None`: no answer, the transaction timed
    /// out or could not be sent).
    pub fn answer(&mut self, status: Option<u16>) -> Step {
        let ok = status.is_some_and(|s| (200..300).contains(&s));
        if !self.proven {
            if ok {
                self.proven = true;
                return Step::Keep;
            }
            return Step::Useless;
        }
        match status {
            Some(s) if (200..300).contains(&s) => Step::Keep,
            None | Some(404 | 408 | 410 | 480) => Step::Reregister,
            Some(_) => Step::Keep,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proven_check_re_registers_on_404_480_410_408_and_silence() {
        for lost in [Some(404), Some(480), Some(410), Some(408), None] {
            let mut c = BindingCheck::default();
            c.registered();
            assert_eq!(c.answer(Some(200)), Step::Keep);
            assert_eq!(c.answer(Some(200)), Step::Keep);
            assert_eq!(c.answer(lost), Step::Reregister, "{lost:?}");
        }
    }

    #[test]
    fn answers_that_say_nothing_about_the_binding_keep_probing() {
        let mut c = BindingCheck::default();
        assert_eq!(c.answer(Some(200)), Step::Keep);
        for other in [403, 405, 483, 500, 503, 604] {
            assert_eq!(c.answer(Some(other)), Step::Keep, "{other}");
        }
    }

    #[test]
    fn a_registrar_that_never_routes_options_to_us_stops_the_check() {
        // Right after a successful REGISTER the binding exists: a 404 then
        // is this server's way with OPTIONS, not a lost binding.
        for first in [Some(404), Some(405), None] {
            let mut c = BindingCheck::default();
            c.registered();
            assert_eq!(c.answer(first), Step::Useless, "{first:?}");
        }
    }

    #[test]
    fn each_registration_calibrates_again() {
        let mut c = BindingCheck::default();
        assert_eq!(c.answer(Some(200)), Step::Keep);
        c.registered();
        assert_eq!(c.answer(Some(404)), Step::Useless);
    }
}
