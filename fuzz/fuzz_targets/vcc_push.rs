//! Push-socket frames (src/vcc_wire.rs) decoded and fed, with
//! console commands and voice-leg events, into the VCC policy
//! (src/call/vcc/ `handle(now, input)`) on a fake clock.
//!
//! Script, one step per line:
//!   {…}        a push frame from the server (also decoded as a client
//!              frame, the switchboard's side of the same codec)
//!   n connect  v claim voice  y availability  c<dial> call out  a accept
//!   r reject   R decline      e end  h hold   m mute   d<digit> DTMF
//!   D<code><phone> change device   l list agents   s shutdown
//!   ta<agent> / tq<queue> / tn<number> transfer    o<0|1> answer an offer
//!   b<role digit><extension> bootstrapped   f<why> bootstrap failed
//!   u push opened   x<why> push closed      +<ms> advance the clock
//!   I<leg><name-addr> voice incoming  A<leg> answered  E<leg><reason digit> ended
//!   G<0..4> registration state   U<why> voice unavailable
//! The first byte's low bit picks the SDK generation (older / newer).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tongdai::call::vcc::{Input, LegId, PolicyConfig, VccPolicy, VoiceEvent};
use tongdai::config::vcc::Generation;
use tongdai::engine::{
    Command, Device, EndReason, InitFailure, InitStep, RegState, TransferTarget,
};
use tongdai::sip::ua;
use tongdai::vcc_wire::{ClientMsg, Decoded, ObjectIds, ServerMsg};
use tongdai_fuzz::{FakeClock, named, number, small_id, steps};

fn end_reason(d: u64) -> EndReason {
    match d {
        0 => EndReason::LocalHangup,
        1 => EndReason::RemoteHangup,
        2 => EndReason::Cancelled,
        3 => EndReason::Busy,
        4 => EndReason::NoAnswer,
        5 => EndReason::Rejected { code: 486 },
        6 => EndReason::Failed {
            error_code: None,
            sip_code: Some(503),
        },
        7 => EndReason::Timeout,
        _ => EndReason::TransportLost,
    }
}

fn reg_state(d: u64) -> RegState {
    match d {
        0 => RegState::None,
        1 => RegState::Registering,
        2 => RegState::Registered { expires: 600 },
        3 => RegState::Failed {
            code: Some(403),
            reason: "Forbidden".into(),
        },
        _ => RegState::Retrying {
            attempt: 2,
            retry_in_s: 4,
        },
    }
}

fuzz_target!(|data: &[u8]| {
    let ids = ObjectIds::default();
    let generation = match data.first().map(|b| b & 1) {
        Some(1) => Generation::Newer,
        _ => Generation::Older,
    };
    let mut clock = FakeClock::new();
    let mut policy = VccPolicy::new(
        PolicyConfig {
            generation,
            ..PolicyConfig::default()
        },
        clock.now,
    );
    for (op, arg) in steps(data).iter().take(256) {
        let (id, rest) = small_id(arg);
        let leg = LegId(id);
        let cmd = |c| Some(Input::Command(c));
        let input = match op {
            '{' => {
                let frame = format!("{{{arg}");
                let _ = ClientMsg::decode(&ids, &frame);
                match ServerMsg::decode(&ids, &frame) {
                    Ok(Decoded::Msg(m)) => {
                        // The console answers with frames built from what it
                        // decoded: encoding must hold for any decoded value.
                        let _ = m.encode(&ids);
                        Some(Input::Push(m))
                    }
                    _ => None,
                }
            }
            'n' => cmd(Command::Connect),
            'v' => cmd(Command::ClaimVoice),
            'y' => cmd(Command::ToggleAvailability),
            'c' => cmd(Command::CallOut(arg.clone())),
            'a' => cmd(Command::Accept { call: named(arg) }),
            'r' => cmd(Command::Reject {
                call: named(arg),
                decline: false,
            }),
            'R' => cmd(Command::Reject {
                call: named(arg),
                decline: true,
            }),
            'e' => cmd(Command::End { call: named(arg) }),
            'h' => cmd(Command::ToggleHold { call: named(arg) }),
            'm' => cmd(Command::ToggleMute { call: named(arg) }),
            'd' => arg.chars().next().and_then(|c| {
                cmd(Command::SendDtmf {
                    call: None,
                    digit: c,
                })
            }),
            'D' => {
                let (code, phone) = number(arg);
                cmd(Command::ChangeDevice(Device::from_code(
                    code.min(255) as u8,
                    phone,
                )))
            }
            'l' => cmd(Command::ListTransferAgents),
            't' => {
                let target = arg.get(1..).unwrap_or("").to_string();
                match arg.chars().next() {
                    Some('a') => cmd(Command::Transfer {
                        call: None,
                        target: TransferTarget::Agent(target),
                    }),
                    Some('q') => cmd(Command::Transfer {
                        call: None,
                        target: TransferTarget::Queue(target),
                    }),
                    _ => cmd(Command::Transfer {
                        call: None,
                        target: TransferTarget::Number(target),
                    }),
                }
            }
            'o' => cmd(Command::AnswerTransferOffer(arg.starts_with('1'))),
            's' => cmd(Command::Shutdown),
            'b' => Some(Input::Bootstrapped {
                extension: rest.to_string(),
                role: id as u8,
            }),
            'f' => Some(Input::BootstrapFailed(InitFailure::new(
                InitStep::Refused,
                arg.clone(),
            ))),
            'u' => Some(Input::PushOpened),
            'x' => Some(Input::PushClosed {
                reason: arg.clone(),
            }),
            '+' => {
                // Fire every timer on the way, as the backend's loop does.
                let end = {
                    let mut c = FakeClock { now: clock.now };
                    c.advance_ms(number(arg).0);
                    c.now
                };
                let mut fired = 0;
                while let Some(t) = policy.poll_timeout() {
                    if t > end || fired > 1_000 {
                        break;
                    }
                    clock.now = clock.now.max(t);
                    policy.handle_timeout(clock.now);
                    // A deadline left in the past would spin the backend's
                    // loop (sleep_until returns at once, forever).
                    assert!(
                        policy.poll_timeout().is_none_or(|t| t > clock.now),
                        "handle_timeout left an expired deadline"
                    );
                    while policy.poll_effect().is_some() {}
                    fired += 1;
                }
                clock.now = end;
                None
            }
            'I' => {
                let (number, display_name) =
                    ua::parse_name_addr(rest).unwrap_or(("unknown".into(), None));
                Some(Input::Voice(VoiceEvent::Incoming {
                    leg,
                    number,
                    display_name,
                }))
            }
            'A' => Some(Input::Voice(VoiceEvent::Answered { leg })),
            'E' => Some(Input::Voice(VoiceEvent::Ended {
                leg,
                reason: end_reason(small_id(rest).0),
            })),
            'G' => Some(Input::Voice(VoiceEvent::Registration(reg_state(id)))),
            'U' => Some(Input::Voice(VoiceEvent::Unavailable(arg.clone()))),
            _ => None,
        };
        if let Some(input) = input {
            policy.handle(clock.now, input);
        }
        let mut n = 0;
        while policy.poll_effect().is_some() {
            n += 1;
            assert!(n < 10_000, "effects never run out");
        }
        if policy.is_finished() {
            break;
        }
    }
});
