//! Why a SIP leg ended: the one table both SIP accounts (the plain-SIP
//! softphone and the VCC device-1 voice leg) read, so the same wire event
//! never reads as two different things to the agent.
//!
//! | how the leg ended | end reason |
//! |---|---|
//! | our INVITE: no final response at all (Timer B, transport error) | `Timeout` |
//! | our INVITE: 486 Busy Here, 600 Busy Everywhere | `Busy` |
//! | our INVITE: 408 Request Timeout, 480 Temporarily Unavailable | `NoAnswer` |
//! | our INVITE: 487 that we did not cause (no CANCEL of ours) | `NoAnswer` |
//! | our INVITE: any other final non-2xx | `Failed { sip_code }` |
//! | our INVITE: the agent hung up before the answer (our CANCEL) | `Cancelled` |
//! | our INVITE: 487 (or any final) after our CANCEL | no news: already `Cancelled` |
//! | our INVITE: our ring timeout (our CANCEL) | `NoAnswer` |
//! | to us: the agent turned it down (486 / 603 / …) | `Rejected { code }` |
//! | to us: not answered within the inbound ring timeout (480) | `NoAnswer` |
//! | to us: the caller's CANCEL before the answer | `Cancelled` |
//! | to us: our 200 never ACKed (BYE after 64*T1), or the transaction died | `TransportLost` |
//! | either way, up: the agent's BYE | `LocalHangup` |
//! | either way, up: the far end's BYE | `RemoteHangup` |
//! | either way: signalling transport or media path died | `TransportLost` |
//!
//! Transfers (`Transferred`) are ended by the layer that asked for them.

use crate::engine::EndReason;

/// What ended a leg, in SIP terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// A final non-2xx answer to our INVITE, with no CANCEL of ours before
    /// it (`None`: no final answer came at all).
    Refused(Option<u16>),
    /// The agent gave up our INVITE before the answer: we sent CANCEL.
    AgentCancelled,
    /// Our INVITE rang for the whole ring timeout: we sent CANCEL.
    RingTimeout,
    /// The agent turned a call to us down with this final code.
    Rejected(u16),
    /// A call to us rang for the whole inbound ring timeout: we sent 480.
    NotAnswered,
    /// The caller sent CANCEL before we answered.
    CallerCancelled,
    /// Our 200 got no ACK, or the inbound transaction died.
    NoAck,
    /// The agent hung up a call that was up: we sent BYE.
    LocalBye,
    /// The far end sent BYE.
    RemoteBye,
    /// The signalling transport died, or the leg's media path did.
    TransportLost,
}

impl Ending {
    /// The table.
    pub fn reason(self) -> EndReason {
        match self {
            // No final response: Timer B fired or the transport failed
            // (RFC 3261 §17.1.1.2, §8.1.3.1).
            Ending::Refused(None) => EndReason::Timeout,
            // Busy Here / Busy Everywhere (RFC 3261 §21.4.24, §21.6.1).
            Ending::Refused(Some(486 | 600)) => EndReason::Busy,
            // Request Timeout / Temporarily Unavailable: the callee did not
            // pick up in the time the network gave it (§21.4.9, §21.4.18).
            Ending::Refused(Some(408 | 480)) => EndReason::NoAnswer,
            // Request Terminated that we did not ask for. A UAS answers 487
            // to a CANCELled INVITE (§9.2, §15.1.2), and we sent none (a 487
            // after our CANCEL never reaches this table: the leg already
            // ended `Cancelled` when the CANCEL went out). So the network
            // stopped the ringing: a proxy's timer C fired on the branch and
            // CANCELled it (§16.8), its 487 coming back as the best answer
            // (§16.7 step 6), or a PBX gave up ringing on its own. The callee
            // did not answer in time, which is also how the VCC call-out
            // table reads 487 ("the customer did not answer", VCC-PROTOCOL.md §5).
            Ending::Refused(Some(487)) => EndReason::NoAnswer,
            Ending::Refused(Some(code)) => EndReason::Failed {
                error_code: None,
                sip_code: Some(code),
            },
            // The agent's own CANCEL (§9.1).
            Ending::AgentCancelled => EndReason::Cancelled,
            // Our ring timeout, then our CANCEL: nobody answered.
            Ending::RingTimeout => EndReason::NoAnswer,
            Ending::Rejected(code) => EndReason::Rejected { code },
            // 480 after the inbound ring timeout (§21.4.18): a missed call,
            // not one the agent refused.
            Ending::NotAnswered => EndReason::NoAnswer,
            // The caller's CANCEL (§9.2): a missed call.
            Ending::CallerCancelled => EndReason::Cancelled,
            // §13.3.1.4: no ACK within 64*T1 ends the session.
            Ending::NoAck => EndReason::TransportLost,
            Ending::LocalBye => EndReason::LocalHangup,
            Ending::RemoteBye => EndReason::RemoteHangup,
            Ending::TransportLost => EndReason::TransportLost,
        }
    }
}
