//! The agent's call logic, sans-IO: time is an argument, effects are returned.

// A sans-IO core: no clock reads, no tasks (clippy.toml).
#![deny(clippy::disallowed_methods)]

pub mod book;
pub mod errors;
pub mod leg;
pub mod softphone;
pub mod vcc;
