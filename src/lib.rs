//! tongdai: a keyboard-only terminal call console for VCC call centers and
//! plain SIP PBXs. See DESIGN.md in the shared docs for the shape.

pub mod app;
pub mod backends;
pub mod call;
pub mod config;
pub mod control;
pub mod crm;
pub mod engine;
pub mod history;
pub mod media;
pub mod popup_feed;
pub mod private_fs;
pub mod resident;
pub mod sanitize;
pub mod secret;
pub mod sip;
pub mod store;
pub mod switchboard;
pub mod vcc_wire;
pub mod webrtc_media;
