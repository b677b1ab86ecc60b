//! The VCC cloud backend (VCC-PROTOCOL.md): JWT → `thirdParty/login` →
//! `check-partner` → the push WebSocket, with the agent policy of
//! [`crate::call::vcc`] deciding what to send.

pub mod config;
pub mod jwt;
pub mod object_id;
