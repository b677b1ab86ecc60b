//! The words the call cores and the SIP user agent speak (`sip::ua`):
//! what the UA reports about a leg ([`SipInput`]) and what it is asked to
//! do on the wire ([`SipAction`]). Shared by every SIP account that runs
//! on [`super::SipLeg`]: the plain-SIP softphone and the VCC voice leg.

use std::time::Duration;

use crate::engine::Quality;

/// Our handle for one call leg (one INVITE dialog).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Leg(pub u64);

/// What the SIP layer tells the call logic.
#[derive(Debug, Clone, PartialEq)]
pub enum SipInput {
    /// A new INVITE arrived (already answered 100 Trying by the stack).
    Incoming {
        leg: Leg,
        number: String,
        display_name: Option<String>,
    },
    /// 180 / 183 on our INVITE.
    Progress {
        leg: Leg,
        code: u16,
    },
    /// 200 OK on our INVITE (ACK sent by the stack).
    Answered {
        leg: Leg,
    },
    /// The ACK for our 200 arrived: the inbound call is up.
    Confirmed {
        leg: Leg,
    },
    /// A final non-2xx on our INVITE; `None` when no response came at all.
    Failed {
        leg: Leg,
        code: Option<u16>,
    },
    /// The caller cancelled before we answered.
    RemoteCancel {
        leg: Leg,
    },
    RemoteBye {
        leg: Leg,
    },
    /// The peer put us on hold (`held`) or took us off it, by re-INVITE.
    RemoteHold {
        leg: Leg,
        held: bool,
    },
    /// The answer to our hold / unhold re-INVITE.
    HoldResult {
        leg: Leg,
        held: bool,
        ok: bool,
    },
    /// NOTIFY sipfrag progress of our REFER (RFC 3515 §2.4.5).
    TransferProgress {
        leg: Leg,
        code: u16,
        done: bool,
    },
    /// The answer to our REFER itself (202, or a refusal; 408: none). It
    /// may cross the first NOTIFY, so it is told apart from it.
    ReferAnswered {
        leg: Leg,
        code: u16,
    },
    Dtmf {
        leg: Leg,
        digit: char,
    },
    /// RTCP figures of the leg's audio.
    Quality {
        leg: Leg,
        quality: Quality,
    },
    /// The signalling transport died: every call is gone.
    TransportLost,
    /// The leg's media path died (WebRTC: ICE disconnected and not back):
    /// hang up rather than sit in a silent call.
    MediaLost {
        leg: Leg,
    },
    /// A REFER on this call (RFC 3515): the far end asks us to call
    /// `target`; `replaces` is the decoded Replaces header of the Refer-To
    /// URI (RFC 3891 §6.1), for an attended transfer. The REFER waits for
    /// `SipAction::AnswerRefer`.
    Referred {
        leg: Leg,
        target: String,
        replaces: Option<String>,
    },
    /// An INVITE with Replaces naming our confirmed dialog on `replaces`
    /// (RFC 3891 §3; the UA matched Call-ID and tags, and answered 481 to
    /// one naming none).
    Replacing {
        leg: Leg,
        replaces: Leg,
        number: String,
        display_name: Option<String>,
    },
}

/// RFC 3261 §17.1.1.1 T1 (500 ms): 64*T1 bounds any transaction.
pub const T1: Duration = Duration::from_millis(500);

/// What the UA must do on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SipAction {
    Invite {
        leg: Leg,
        target: String,
    },
    Ringing {
        leg: Leg,
    },
    Accept {
        leg: Leg,
    },
    Reject {
        leg: Leg,
        code: u16,
    },
    Cancel {
        leg: Leg,
    },
    Bye {
        leg: Leg,
    },
    Hold {
        leg: Leg,
        hold: bool,
    },
    Refer {
        leg: Leg,
        target: String,
    },
    /// Attended transfer (RFC 5589 §7.1): REFER `leg` to `target` with
    /// `Replaces` naming the dialog of the `replaces` leg (RFC 3891).
    AttendedRefer {
        leg: Leg,
        target: String,
        replaces: Leg,
    },
    Dtmf {
        leg: Leg,
        digit: char,
    },
    /// Stop or resume sending the microphone (local, no signalling).
    Mute {
        leg: Leg,
        mute: bool,
    },
    /// A CANCELled INVITE got no final response within 64*T1 (RFC 3261
    /// §9.1): drop its transaction and everything the leg holds.
    Abandon {
        leg: Leg,
    },
    /// Three-way call: mix these legs' audio with the agent's (issue 16).
    Conference {
        legs: Vec<Leg>,
    },
    /// Leave the three-way call: each leg goes back to its own audio.
    EndConference,
    /// Call waiting: a short beep in this (live) leg's audio for the agent, not the ring device.
    WaitingBeep {
        leg: Leg,
    },
    /// The final answer to a REFER we received on `leg` (202: we carry it
    /// out and report in NOTIFYs; otherwise refused).
    AnswerRefer {
        leg: Leg,
        code: u16,
    },
    /// A NOTIFY to the REFER's sender on `leg`: how our referred INVITE is
    /// going (RFC 3515 §2.4.5; `done`: the last one).
    ReferNotify {
        leg: Leg,
        code: u16,
        done: bool,
    },
    /// Our INVITE carrying out a REFER whose Refer-To named a dialog to
    /// replace (RFC 3891, RFC 5589 §7.1).
    InviteReplacing {
        leg: Leg,
        target: String,
        replaces: String,
    },
}

impl SipInput {
    /// The leg this input is about (`None`: the transport, or every leg).
    pub fn leg(&self) -> Option<Leg> {
        match self {
            SipInput::Incoming { leg, .. }
            | SipInput::Progress { leg, .. }
            | SipInput::Answered { leg }
            | SipInput::Confirmed { leg }
            | SipInput::Failed { leg, .. }
            | SipInput::RemoteCancel { leg }
            | SipInput::RemoteBye { leg }
            | SipInput::RemoteHold { leg, .. }
            | SipInput::HoldResult { leg, .. }
            | SipInput::TransferProgress { leg, .. }
            | SipInput::ReferAnswered { leg, .. }
            | SipInput::Dtmf { leg, .. }
            | SipInput::Quality { leg, .. }
            | SipInput::MediaLost { leg }
            | SipInput::Referred { leg, .. }
            | SipInput::Replacing { leg, .. } => Some(*leg),
            SipInput::TransportLost => None,
        }
    }

    /// The leg of one of the dialog's own events (provisional, 200, ACK,
    /// final failure, CANCEL, BYE, lost media), which the leg core decides
    /// ([`super::SipLeg::input`]) the same way for every account; `None`
    /// for the rest, which each account reads in its own way. Every
    /// variant is named here, so a new one must be placed.
    pub fn dialog_leg(&self) -> Option<Leg> {
        match self {
            SipInput::Progress { leg, .. }
            | SipInput::Answered { leg }
            | SipInput::Confirmed { leg }
            | SipInput::Failed { leg, .. }
            | SipInput::RemoteCancel { leg }
            | SipInput::RemoteBye { leg }
            | SipInput::MediaLost { leg } => Some(*leg),
            SipInput::Incoming { .. }
            | SipInput::RemoteHold { .. }
            | SipInput::HoldResult { .. }
            | SipInput::TransferProgress { .. }
            | SipInput::ReferAnswered { .. }
            | SipInput::Dtmf { .. }
            | SipInput::Quality { .. }
            | SipInput::TransportLost
            | SipInput::Referred { .. }
            | SipInput::Replacing { .. } => None,
        }
    }
}
