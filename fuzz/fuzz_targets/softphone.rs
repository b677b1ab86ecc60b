//! The plain-SIP call logic (src/call/softphone.rs) driven by any sequence
//! of console commands and SIP dialog events, with a fake clock. The SIP
//! events carry what the UA would have read from the wire with its parsing
//! helpers (caller identity, sipfrag, dtmf-relay bodies).
//!
//! Script, one step per line (`<leg>` is one digit):
//!   c<dial>  call out        a accept      r reject     R decline
//!   e end    h hold          m mute        d<digit> send DTMF
//!   (a r R e h m: a leading digit n names call cn, else the selected one)
//!   t<dial>  blind transfer  s shutdown    +<ms> advance the clock
//!   I<leg><name-addr>        incoming INVITE (From / P-Asserted-Identity)
//!   P<leg><code> 18x         A<leg> 200 on our INVITE   C<leg> ACK
//!   F<leg>[code] failure     X<leg> CANCEL   B<leg> BYE
//!   H<leg><0|1> peer (un)holds us   O<leg><0|1><0|1> our hold's answer
//!   N<leg><sipfrag line> NOTIFY     D<leg><dtmf-relay line> INFO
//!   L transport lost
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tongdai::call::softphone::{Input, Leg, Policy, SipInput, Softphone};
use tongdai::engine::{Command, TransferTarget};
use tongdai::sip::{SecondCall, ua};
use tongdai_fuzz::{FakeClock, named, number, small_id, steps};

fn flag(arg: &str, i: usize) -> bool {
    arg.as_bytes().get(i) == Some(&b'1')
}

fuzz_target!(|data: &[u8]| {
    let steps = steps(data);
    // The first byte's low bit picks `[sip] second_call`.
    let second_call = match data.first().map(|b| b & 1) {
        Some(0) => SecondCall::Reject,
        _ => SecondCall::Offer,
    };
    let mut phone = Softphone::new(Policy {
        second_call,
        ring_timeout: Duration::from_secs(30),
        inbound_ring_timeout: Duration::from_secs(60),
    });
    let mut clock = FakeClock::new();
    for (op, arg) in steps.iter().take(256) {
        let (leg_n, rest) = small_id(arg);
        let leg = Leg(leg_n);
        let input = match op {
            'c' => Some(Input::Command(Command::CallOut(arg.clone()))),
            'a' => Some(Input::Command(Command::Accept { call: named(arg) })),
            'r' => Some(Input::Command(Command::Reject {
                call: named(arg),
                decline: false,
            })),
            'R' => Some(Input::Command(Command::Reject {
                call: named(arg),
                decline: true,
            })),
            'e' => Some(Input::Command(Command::End { call: named(arg) })),
            'h' => Some(Input::Command(Command::ToggleHold { call: named(arg) })),
            'm' => Some(Input::Command(Command::ToggleMute { call: named(arg) })),
            'd' => arg.chars().next().map(|c| {
                Input::Command(Command::SendDtmf {
                    call: None,
                    digit: c,
                })
            }),
            't' => Some(Input::Command(Command::Transfer {
                call: None,
                target: TransferTarget::Number(arg.clone()),
            })),
            's' => Some(Input::Command(Command::Shutdown)),
            'w' => Some(Input::Command(Command::Swap { call: named(arg) })),
            'k' => Some(Input::Command(Command::Consult(arg.clone()))),
            'x' => Some(Input::Command(Command::CompleteTransfer)),
            'j' => Some(Input::Command(Command::Merge)),
            '+' => {
                // Fire every timer on the way, as the UA's loop does.
                let end = {
                    let mut c = FakeClock { now: clock.now };
                    c.advance_ms(number(arg).0);
                    c.now
                };
                let mut fired = 0;
                while let Some(t) = phone.poll_timeout() {
                    if t > end || fired > 1_000 {
                        break;
                    }
                    clock.now = clock.now.max(t);
                    phone.handle_timeout(clock.now);
                    // A deadline left in the past would spin the backend's
                    // loop (sleep_until returns at once, forever).
                    assert!(
                        phone.poll_timeout().is_none_or(|t| t > clock.now),
                        "handle_timeout left an expired deadline"
                    );
                    while phone.poll_effect().is_some() {}
                    fired += 1;
                }
                clock.now = end;
                None
            }
            'I' => {
                // What caller_identity falls back to when nothing parses.
                let (number, display_name) =
                    ua::parse_name_addr(rest).unwrap_or(("unknown".into(), None));
                Some(Input::Sip(SipInput::Incoming {
                    leg,
                    number,
                    display_name,
                }))
            }
            'P' => Some(Input::Sip(SipInput::Progress {
                leg,
                code: number(rest).0.min(u64::from(u16::MAX)) as u16,
            })),
            'A' => Some(Input::Sip(SipInput::Answered { leg })),
            'C' => Some(Input::Sip(SipInput::Confirmed { leg })),
            'F' => {
                let (code, _) = number(rest);
                let code = (!rest.is_empty()).then(|| code.min(u64::from(u16::MAX)) as u16);
                Some(Input::Sip(SipInput::Failed { leg, code }))
            }
            'X' => Some(Input::Sip(SipInput::RemoteCancel { leg })),
            'B' => Some(Input::Sip(SipInput::RemoteBye { leg })),
            'H' => Some(Input::Sip(SipInput::RemoteHold {
                leg,
                held: flag(rest, 0),
            })),
            'O' => Some(Input::Sip(SipInput::HoldResult {
                leg,
                held: flag(rest, 0),
                ok: flag(rest, 1),
            })),
            'N' => ua::parse_sipfrag(rest).map(|code| {
                Input::Sip(SipInput::TransferProgress {
                    leg,
                    code,
                    done: code >= 200,
                })
            }),
            'Q' => ua::parse_sipfrag(rest)
                .map(|code| Input::Sip(SipInput::ReferAnswered { leg, code })),
            'D' => {
                ua::parse_dtmf_relay(rest).map(|digit| Input::Sip(SipInput::Dtmf { leg, digit }))
            }
            'L' => Some(Input::Sip(SipInput::TransportLost)),
            _ => None,
        };
        if let Some(input) = input {
            phone.handle(clock.now, input);
        }
        // The UA drains every effect after each input.
        let mut n = 0;
        while phone.poll_effect().is_some() {
            n += 1;
            assert!(n < 10_000, "effects never run out");
        }
    }
});
