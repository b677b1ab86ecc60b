//! Backends behind the engine contract: `sip` (a plain SIP account), `vcc`
//! (the VCC cloud) and `demo` (the local switchboard, in-process).

pub mod sip;
pub mod vcc;
