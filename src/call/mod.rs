//! The agent's call logic, sans-IO: time is an argument, effects are returned.

pub mod errors;
pub mod softphone;
pub mod vcc;
