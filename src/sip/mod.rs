//! Our wrapper over rsipstack. No rsipstack type leaves this module.

pub mod admission;
pub mod binding_check;
pub mod config;
mod gate;

pub use config::{
    IcePolicy, IceSettings, MediaMode, SecondCall, SipConfig, Transport, TurnServers,
};
pub mod sdp;
pub mod target;
pub mod tls_probe;
pub mod ua;
