//! What the engine tells the agent, typed: the console renders every one
//! in the agent's language (`app::i18n`), so no English sentence travels
//! inside an event. Texts that come from outside (a platform or PBX
//! message, an OS error) travel as `detail` and are shown labelled as such.

use serde::{Deserialize, Serialize};

/// Why a request cannot be done now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotNow {
    NotConnected,
    VoiceAlreadyHere,
    /// The voice channel is on another console or tab.
    VoiceElsewhere,
    AvailabilityPending,
    NoRinging,
    NoOffer,
    NotInCall,
    AlreadyInCall,
    /// A plain SIP account: hold or end the call first.
    HoldOrEndFirst,
    /// DTMF digits are 0–9, *, #, A–D.
    DtmfDigits,
    /// The call is on another device: DTMF is sent from that phone.
    DtmfOnPhone,
    /// Internal numbers are dialled from the phone unless on device 1.
    InternalFromPhone,
    /// Device 1 but the console's audio is not available.
    ConsoleAudioUnavailable,
    /// Device 2–4: the call is answered on that phone.
    AnswerOnPhone,
    ResumeBeforeEnd,
    ResumeBeforeMute,
    /// The platform has not answered the last hold / mute request.
    RequestPending,
    RingingNoHold,
    RingingNoMute,
    /// The VCC platform mutes inbound calls only.
    MuteInboundOnly,
    DevicePending,
    DeviceDuringCall,
    /// Only an answered call can be transferred.
    TransferNeedsAnswer,
    /// The VCC platform transfers to an agent or a queue, not a number.
    TransferAgentOrQueue,
    /// A plain SIP account has no call-center control plane.
    NoControlPlane,
    /// The VCC platform calls numbers and extensions, not `sip:` addresses.
    NumbersOnly,
    /// Swap, consult, merge: the call-center platform does not offer them.
    PlatformLacks,
    /// Swap needs a held call to go back to.
    NothingToSwap,
    /// Complete or cancel needs a consult call and the call it serves.
    NoConsult,
    /// Two calls are up: end one first.
    TwoCallsUp,
    /// Merge needs two answered calls.
    NeedTwoCalls,
}

/// Something worth a line on the notice bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "info", rename_all = "snake_case")]
pub enum Info {
    /// End was pressed before the platform named the call.
    EndingWhenNamed,
    /// The platform did not give the voice channel to this console.
    VoiceNotGiven,
    /// A supervisor ended our call.
    SupervisorEnded { agent: String },
    /// The voice channel is on another console or tab (claim it here).
    VoiceInUseElsewhere,
    /// The voice channel moved away; it can be taken back.
    VoiceMovedAway,
    /// After a reconnect the platform no longer gave this console the voice
    /// channel it held (the old socket still counted): taking it back.
    VoiceRetaken,
    /// The voice channel moved away and this (newer SDK) session ended.
    VoiceMovedSessionEnded,
    /// A ring on device 1 while the console's audio is not available.
    RingsWithoutAudio,
    /// The console's audio is not available (`detail`: the system's words).
    VoiceUnavailable { detail: String },
    /// A second call was refused with 486.
    BusySecondCall { number: String },
    /// A third call was refused with 486: two calls are up already.
    BusyThirdCall { number: String },
    /// The REFER of a transfer was refused (`code`): both calls stay as they were.
    TransferRefused { code: u16 },
    /// The far end did not honour Replaces (`code`): the consult call is
    /// ended and the customer is sent to the colleague's number instead.
    ReplacesFallback { code: u16 },
    /// The far end transferred this call (a REFER we took): calling `target`.
    Referred { target: String },
    /// A transfer handed our call to a new far end (INVITE with Replaces).
    CallReplaced { number: String },
    /// A three-way call could not mix: a leg has no RTP audio here (a
    /// WebRTC leg, or its audio did not start).
    ConferenceUnavailable,
    /// The other party put the call on hold / resumed it.
    RemoteHold { held: bool },
    /// The PBX refused our hold / resume.
    HoldRefused { held: bool },
    /// A provisional answer to our REFER.
    TransferProgress { code: u16 },
    /// The audio device went away mid-call.
    AudioDeviceLost { detail: String },
    /// A call's recording (or a call sound's, `[audio] device = "file"`)
    /// stopped: the disk is full or the file cannot grow. The call goes on.
    RecordingStopped { file: String, disk_full: bool },
    /// The call history cannot be recorded.
    HistoryOff { detail: String },
    /// Ringtone / ringback cannot be played.
    SoundsOff { detail: String },
    /// The ring (or output) device for call sounds cannot be opened.
    SoundDeviceFailed { ring: bool, detail: String },
    /// The ring (or output) device went away mid-ring: calls show on screen only.
    SoundDeviceLost { ring: bool, detail: String },
    /// The desk phone (device 2 or 4) picked the call up.
    AnsweredOnDeskPhone,
    /// The mobile the calls are forwarded to (device 3) picked it up.
    AnsweredOnMobile,
    /// A UA-level problem reported by the SIP stack (`detail` verbatim).
    SipProblem { detail: String },
}

/// How a transfer turned out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "detail", rename_all = "snake_case")]
pub enum TransferDetail {
    /// The offer to us was not answered in time and was refused.
    OfferTimedOut,
    /// We accepted / refused an offer.
    YouAccepted,
    YouRefused,
    /// Our transfer to an agent: `status` is the platform's when it failed.
    ToAgent {
        agent: String,
    },
    ToAgentFailed {
        agent: String,
        status: String,
    },
    /// The other agent answered our offer.
    OtherAccepted,
    OtherRefused,
    ToQueue,
    ToQueueFailed {
        status: String,
    },
    /// A SIP REFER's final answer.
    Sip {
        code: u16,
    },
}

/// Why the engine could not start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitStep {
    /// The credentials (access key, password) cannot be read or used.
    Credentials,
    /// The platform cannot be reached.
    Unreachable,
    /// The platform refused the login (`detail`: its message).
    Refused,
    /// The platform answered with an HTTP error.
    HttpStatus { status: u16 },
    /// The platform's answer is not what the protocol expects.
    BadReply,
    /// The push socket closed before login.
    PushClosed,
    /// The account's configuration is wrong.
    Config,
    /// Something local could not start (HTTP client, SIP stack).
    Start,
}

/// `csInitError`: what failed, and the platform's or system's own words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitFailure {
    pub step: InitStep,
    pub detail: String,
}

impl InitFailure {
    pub fn new(step: InitStep, detail: impl Into<String>) -> InitFailure {
        InitFailure {
            step,
            detail: detail.into(),
        }
    }
}
