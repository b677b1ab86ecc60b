//! The `[sip]` settings live in `config/sip.rs`, below every feature, so
//! `config/` imports no feature module (tests/layers.rs); old paths
//! (`crate::sip::config::…`) keep working through this re-export.

pub use crate::config::sip::*;
