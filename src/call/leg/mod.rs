//! The SIP-leg core: one INVITE dialog's states, transitions and deadlines
//! ([`SipLeg`]), the one table of why a leg ended ([`Ending`]), and the words
//! the core and the SIP user agent exchange ([`SipInput`], [`SipAction`]).
//!
//! Both SIP accounts run every leg on it: the plain-SIP softphone
//! (`call::softphone`, which adds call waiting, swap, consult and merge on
//! top) and the VCC device-1 voice leg (`backends::vcc::sip_voice`). So a
//! 487 or a lost ACK reads the same to the agent whichever backend runs.
//! Sans-IO: time is an argument, effects are returned.

mod dialog;
mod end;
mod wire;

pub use dialog::{News, SipLeg, State, Step};
pub use end::Ending;
pub use wire::{Leg, SipAction, SipInput, T1};

#[cfg(test)]
// Tests take a base instant from the clock; the code under test still gets it as an argument.
#[allow(clippy::disallowed_methods)]
mod tests;
