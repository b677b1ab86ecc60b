//! Device 1 for real: the VCC engine with `SipVoiceLeg` (SIP over WebSocket,
//! WebRTC media, a file audio device whose microphone says 1000 Hz) against
//! the switchboard's SIP side on 127.0.0.1, whose customers say 440 Hz.
//! WebRTC between two of our own processes needs no network namespace:
//! both ends offer loopback host candidates.

mod common;
mod vcc_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tongdai::app::AppState;
use tongdai::app::Msg;
use tongdai::app::i18n::notice_text;
use tongdai::app::update::update;
use tongdai::backends::vcc::{Generation, SipVoiceLeg};
use tongdai::call::errors::Lang;
use tongdai::engine::{CallEvent, CallId};
use tongdai::engine::{Command, Device, EndReason, Event, RegState};
use tongdai::media::tone::{detect_tone, sine};
use tongdai::media::{AudioConfig, DeviceKind};
use tongdai::sip::IcePolicy;
use tongdai::switchboard::{Control, LogEntry, Switchboard};
use vcc_support::*;

const MIC_HZ: f64 = 1000.0;
const CUSTOMER_HZ: f64 = 440.0;
const RATE: u32 = 48_000;

fn detail<'a>(e: &'a LogEntry, k: &str) -> &'a Value {
    e.detail.get(k).unwrap_or(&Value::Null)
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "tongdai-vccvoice-{tag}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&d).expect("tempdir");
    d
}

/// A file audio device: the microphone says 1000 Hz, calls are recorded in `dir`.
fn audio(dir: &Path) -> AudioConfig {
    let mic = dir.join("mic.wav");
    tongdai::media::device::write_wav(&mic, RATE, &sine(MIC_HZ, 0.3, RATE, 2000)).expect("mic wav");
    AudioConfig {
        device: DeviceKind::File,
        mic_wav: Some(mic),
        record_dir: Some(dir.to_path_buf()),
        input: None,
        output: None,
        ring: None,
    }
}

fn console(sb: &Switchboard, ipphone: &str, dir: &Path) -> Console {
    let cfg = sb.client_config(ipphone, Generation::Older);
    Console::start_with_leg(
        cfg,
        sb.access_key(),
        ipphone,
        Box::new(SipVoiceLeg::new(audio(dir))),
    )
}

/// Started, ready, moved to device 1 and registered over SIP.
async fn on_device_1(sb: &Switchboard, ipphone: &str, dir: &Path) -> Console {
    let mut c = console(sb, ipphone, dir);
    c.expect("Ready", |e| *e == Event::Ready).await;
    c.expect("voice here", |e| *e == Event::VoiceChannel(true))
        .await;
    c.send(Command::ChangeDevice(Device::Console));
    c.expect("device 1", |e| *e == Event::DeviceType(Device::Console))
        .await;
    c.expect("registered", |e| {
        matches!(e, Event::Registration(RegState::Registered { .. }))
    })
    .await;
    log_wait(sb, "sip_register", |e| {
        e.is_note("sip_register") && e.agent.as_deref() == Some(ipphone)
    })
    .await;
    c
}

/// The strongest tone in the last `ms` of `x`, and its purity.
fn tone_of(x: &[i16], ms: usize) -> (f64, f64) {
    let n = RATE as usize * ms / 1000;
    let tail = &x[x.len().saturating_sub(n)..];
    let d = detect_tone(tail, RATE, 200.0, 2000.0);
    (d.freq, d.purity)
}

/// Wait until the switchboard's customer has heard `ms` of audio.
async fn heard(sb: &Switchboard, agent: &str, ms: usize) -> Vec<i16> {
    let want = RATE as usize * ms / 1000;
    for _ in 0..100 {
        let h = sb.heard(agent);
        if h.len() >= want {
            return h;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the customer heard only {} samples; log:\n{}",
        sb.heard(agent).len(),
        sb.log().to_jsonl()
    );
}

/// Our recording of call `n` once it is closed and long enough.
async fn recording(dir: &Path, n: u64, ms: usize) -> Vec<i16> {
    let path = dir.join(format!("call-{n}-heard.wav"));
    let want = RATE as usize * ms / 1000;
    for _ in 0..100 {
        if let Ok(x) = tongdai::media::device::read_wav(&path, RATE)
            && x.len() >= want
        {
            return x;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no recording of {ms} ms at {}", path.display());
}

fn assert_tone(what: &str, x: &[i16], hz: f64) {
    let (f, purity) = tone_of(x, 500);
    assert!(
        (f - hz).abs() < 15.0 && purity > 0.5,
        "{what}: strongest tone {f} Hz (purity {purity:.2}), expected {hz} Hz"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_1_inbound_rings_from_the_invite_audio_both_ways_end_by_bye() {
    let sb = switchboard().await;
    let dir = tempdir("in");
    let mut c = on_device_1(&sb, "1003", &dir).await;

    sb.ring("1003", "0987654321", "19001234", "Sales");
    let ring = c
        .expect("ringing", |e| {
            matches!(e.call_event(), Some(CallEvent::Ringing(_)))
        })
        .await;
    let Some(CallEvent::Ringing(info)) = ring.call_event().cloned() else {
        unreachable!()
    };
    assert_eq!(info.phone, "0987654321");
    assert!(!info.agent_leg);
    log_wait(&sb, "INVITE sent", |e| {
        e.is_note("sip_invite") && detail(e, "webrtc") == true
    })
    .await;
    log_wait(&sb, "180 from the phone", |e| e.is_note("sip_ringing")).await;

    c.send(Command::Accept { call: None });
    c.expect("accepted", |e| e.call_event() == Some(&CallEvent::Accepted))
        .await;
    log_wait(&sb, "answered on the console", |e| {
        e.is_note("answered_on_console")
    })
    .await;

    // Our 1000 Hz reaches the customer.
    let h = heard(&sb, "1003", 1000).await;
    assert_tone("the customer hears the agent", &h, MIC_HZ);

    c.send(Command::SendDtmf {
        call: None,
        digit: '5',
    });
    log_wait(&sb, "DTMF by INFO", |e| {
        e.is_note("sip_dtmf") && detail(e, "digit") == "5"
    })
    .await;

    c.send(Command::End { call: None });
    c.expect("ended", |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::LocalHangup))
    })
    .await;
    log_wait(&sb, "BYE from the agent", |e| {
        e.is_note("sip_bye") && detail(e, "from") == "agent"
    })
    .await;
    log_wait(&sb, "call_end", |e| e.is_note("call_end")).await;

    // The customer's 440 Hz is in our recording.
    let r = recording(&dir, 1, 1000).await;
    assert_tone("the agent hears the customer", &r, CUSTOMER_HZ);
    assert!(c.shutdown().await);
}

/// `[vcc]`'s TURN keys reach the voice leg: with `ice_policy = "relay"`
/// the console offers only a relay candidate from a real coturn, so the
/// call's audio, checked by tone both ways, can only flow through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_1_through_a_turn_relay_only() {
    if let Some(why) = common::turn::missing() {
        assert!(
            std::env::var("CI").map_or(true, |v| v.is_empty() || v == "false"),
            "cannot run the TURN test under CI: {why}"
        );
        eprintln!("SKIP device_1_through_a_turn_relay_only: {why}");
        return;
    }
    let dir = tempdir("turn");
    let port = 40_000 + (std::process::id() % 5_000) as u16;
    let turn = common::turn::coturn(
        "127.0.0.1",
        port,
        (49500, 49600),
        "agent1003",
        "vcc-turn-pw-7",
        &dir,
        true,
    )
    .expect("coturn");
    let sb = switchboard().await;
    let mut cfg = sb.client_config("1003", Generation::Older);
    cfg.turn_servers = vec![format!("turn:127.0.0.1:{port}?transport=udp")];
    cfg.turn_user = Some("agent1003".into());
    cfg.turn_password_file = Some(common::write_secret(&dir, "vcc-turn-pw-7"));
    cfg.ice_policy = IcePolicy::Relay;
    let leg = SipVoiceLeg::new(audio(&dir)).with_ice(cfg.ice());
    let mut c = Console::start_with_leg(cfg, sb.access_key(), "1003", Box::new(leg));
    c.expect("Ready", |e| *e == Event::Ready).await;
    c.expect("voice here", |e| *e == Event::VoiceChannel(true))
        .await;
    c.send(Command::ChangeDevice(Device::Console));
    c.expect("registered", |e| {
        matches!(e, Event::Registration(RegState::Registered { .. }))
    })
    .await;

    sb.ring("1003", "0987654321", "19001234", "Sales");
    c.expect("ringing", |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    c.send(Command::Accept { call: None });
    c.expect("accepted", |e| e.call_event() == Some(&CallEvent::Accepted))
        .await;
    let h = heard(&sb, "1003", 1000).await;
    assert_tone("the customer hears the agent through the relay", &h, MIC_HZ);
    c.send(Command::End { call: None });
    c.expect("ended", |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::LocalHangup))
    })
    .await;
    let r = recording(&dir, 1, 1000).await;
    assert_tone(
        "the agent hears the customer through the relay",
        &r,
        CUSTOMER_HZ,
    );
    assert!(
        turn.allocations() >= 1,
        "no TURN allocation: {}",
        std::fs::read_to_string(&turn.log).unwrap_or_default()
    );
    assert!(c.shutdown().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_1_callout_agent_leg_auto_answered_with_audio_customer_hangs_up() {
    let sb = switchboard().await;
    let dir = tempdir("out");
    let mut c = on_device_1(&sb, "1003", &dir).await;

    c.send(Command::CallOut("0912345678".into()));
    // The platform first calls the agent's own phone: auto-answered.
    let ring = c
        .expect("agent leg", |e| {
            matches!(e.call_event(), Some(CallEvent::Ringing(_)))
        })
        .await;
    assert!(
        matches!(ring.call_event(), Some(CallEvent::Ringing(i)) if i.agent_leg),
        "{ring:?}"
    );
    log_wait(&sb, "agent leg answered", |e| {
        e.is_note("agent_leg_answered")
    })
    .await;
    c.expect("customer answered", |e| {
        e.call_event() == Some(&CallEvent::CustomerAnswered)
    })
    .await;
    // 1055 RINGING and ANSWER went out as before.
    for status in ["RINGING", "ANSWER"] {
        log_wait(&sb, status, |e| {
            e.kind == "out" && e.object_id == Some(1055) && detail(e, "status") == status
        })
        .await;
    }
    assert!(
        !c.seen.contains(&Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted
        }),
        "no Accepted on a call-out: {:?}",
        c.seen
    );

    let h = heard(&sb, "1003", 1000).await;
    assert_tone("the customer hears the agent", &h, MIC_HZ);

    sb.control(Control::CustomerHangup {
        agent: "1003".into(),
    });
    c.expect("ended", |e| {
        matches!(e.call_event(), Some(CallEvent::Ended(_)))
    })
    .await;
    log_wait(&sb, "BYE to the agent", |e| {
        e.is_note("sip_bye") && detail(e, "from") == "switchboard"
    })
    .await;
    let r = recording(&dir, 1, 1000).await;
    assert_tone("the agent hears the customer", &r, CUSTOMER_HZ);
    assert!(c.shutdown().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voice_moved_away_stops_the_first_registration() {
    let sb = switchboard().await;
    let dir = tempdir("move");
    let mut a = on_device_1(&sb, "1003", &dir).await;
    let mut b = console(&sb, "1003", &dir);
    b.expect("B ready", |e| *e == Event::Ready).await;
    b.expect("voice elsewhere", |e| *e == Event::VoiceChannel(false))
        .await;

    b.send(Command::ClaimVoice);
    b.expect("B has voice", |e| *e == Event::VoiceChannel(true))
        .await;
    a.expect("A lost voice", |e| *e == Event::VoiceChannel(false))
        .await;
    a.expect("A not registered", |e| {
        *e == Event::Registration(RegState::None)
    })
    .await;
    let unreg = log_wait(&sb, "A un-REGISTERs", |e| {
        e.is_note("sip_unregister") && e.agent.as_deref() == Some("1003")
    })
    .await;
    // B is on device 1 too (the agent's device): it registers its own Contact.
    b.expect("B registered", |e| {
        matches!(e, Event::Registration(RegState::Registered { .. }))
    })
    .await;
    let regs: Vec<LogEntry> = sb
        .log()
        .entries()
        .into_iter()
        .filter(|e| e.is_note("sip_register"))
        .collect();
    assert_eq!(regs.len(), 2, "{}", sb.log().to_jsonl());
    assert_ne!(detail(&regs[0], "contact"), detail(&regs[1], "contact"));
    assert_eq!(detail(&unreg, "contact"), detail(&regs[0], "contact"));

    // Calls now ring on B's phone.
    sb.ring("1003", "0987654321", "19001234", "Q");
    b.expect("B rings", |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    b.send(Command::Accept { call: None });
    b.expect("B accepted", |e| {
        e.call_event() == Some(&CallEvent::Accepted)
    })
    .await;
    sb.control(Control::CustomerHangup {
        agent: "1003".into(),
    });
    b.expect("B ended", |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::RemoteHangup))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_unregisters_and_hands_the_device_back() {
    let sb = switchboard().await;
    let dir = tempdir("exit");
    // 1001 is role 6 (extension): its default device is 4.
    let mut c = on_device_1(&sb, "1001", &dir).await;
    assert!(c.shutdown().await);
    let unreg = log_wait(&sb, "un-REGISTER", |e| {
        e.is_note("sip_unregister") && e.agent.as_deref() == Some("1001")
    })
    .await;
    assert_eq!(detail(&unreg, "bindings_left"), 0);
    log_wait(&sb, "device back to 4", |e| {
        e.is_note("device_change") && detail(e, "to") == 4 && detail(e, "result") == 1
    })
    .await;
    // Both within the exit: the SDK, too, sends its un-REGISTER and the
    // device reset without waiting for either answer.
    let log = sb.log().entries();
    let last_note = log
        .iter()
        .rposition(|e| e.is_note("sip_unregister"))
        .expect("un-REGISTER logged");
    assert!(
        log[last_note..].iter().all(|e| !e.is_note("sip_register")),
        "{}",
        sb.log().to_jsonl()
    );
}

/// One agent as `tongdai demo` runs it (the switchboard's own backend,
/// the history tee), on device 1, calling out `n` times to numbers that
/// fail (…486 busy, …404 unreachable). Returns the history file.
async fn failing_callouts(sb: &Switchboard, ipphone: &str, dir: &Path, n: usize) -> PathBuf {
    let store = dir.join(format!("history-{ipphone}.sqlite3"));
    let backend = sb.backend_with_audio(ipphone, AudioConfig::default());
    let mut c = Console::start_backend(backend, ipphone, Some(&store));
    c.expect("Ready", |e| *e == Event::Ready).await;
    c.expect("voice here", |e| *e == Event::VoiceChannel(true))
        .await;
    c.send(Command::ChangeDevice(Device::Console));
    c.expect("registered", |e| {
        matches!(e, Event::Registration(RegState::Registered { .. }))
    })
    .await;
    for i in 0..n {
        let sip = if i % 2 == 0 { 486 } else { 404 };
        c.send(Command::CallOut(format!("0912345{sip}")));
        let mut failed = None;
        let end = loop {
            let e = c
                .expect("the call-out's end", |e| {
                    matches!(
                        e.call_event(),
                        Some(CallEvent::CalloutFailed { .. } | CallEvent::Ended(_))
                    )
                })
                .await;
            // Each call-out is a call of its own, named in order.
            assert_eq!(e.call_id(), Some(CallId(i as u64 + 1)), "{e:?}");
            match e {
                Event::Call {
                    event: CallEvent::CalloutFailed { sip_code, .. },
                    ..
                } => failed = Some(sip_code),
                Event::Call {
                    event: CallEvent::Ended(r),
                    ..
                } => break r,
                _ => unreachable!(),
            }
        };
        assert_eq!(
            failed,
            Some(Some(sip)),
            "[{ipphone}] call-out {i}: no error notice before {end:?}"
        );
        assert_eq!(
            end,
            EndReason::Failed {
                error_code: Some("IPCC_NOT_CONNECT_CUSTOMER".into()),
                sip_code: Some(sip),
            },
            "[{ipphone}] call-out {i}"
        );
    }
    assert!(c.shutdown().await);
    store
}

/// Issue 13 item 2: on device 1 the platform ends a failed call-out twice,
/// a BYE on the agent leg and a 1055 ERROR on push, and the two race. 100
/// call-outs (4 agents at once): every one is `Failed` with its SIP code,
/// on the event stream and in the history, never a remote hang-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_1_failed_callouts_end_failed_with_the_sip_code_every_time() {
    let sb = switchboard().await;
    let dir = tempdir("race");
    let agents = ["1001", "1002", "1003", "1004"];
    let per_agent = 25;
    let runs = agents.map(|a| failing_callouts(&sb, a, &dir, per_agent));
    let stores = futures::future::join_all(runs).await;
    let mut rows = 0;
    for path in stores {
        let store = tongdai::store::Store::open(&path).expect("history opens");
        let calls = store
            .calls(&tongdai::store::CallQuery::default())
            .expect("history reads");
        assert_eq!(calls.len(), per_agent, "{}", path.display());
        for c in &calls {
            let sip = if c.number.ends_with("486") { 486 } else { 404 };
            assert_eq!(
                c.end_reason,
                Some(EndReason::Failed {
                    error_code: Some("IPCC_NOT_CONNECT_CUSTOMER".into()),
                    sip_code: Some(sip),
                }),
                "{} row {}",
                path.display(),
                c.id
            );
        }
        rows += calls.len();
    }
    assert_eq!(rows, 100);
}

/// Issue 16: the device-1 voice leg and a plain SIP account run their legs
/// on one core, so a final answer reads the same on both. An internal call
/// (dialled in SIP straight from the console) that the switchboard rings
/// and then ends with a 487 we never asked for (no CANCEL of ours: a
/// proxy's timer C, RFC 3261 §16.8) is `NoAnswer`, as plain SIP says
/// (tests/sip_sipp.rs `every_failure_code_is_reported_with_its_reason`);
/// the voice leg's own table used to call it `Cancelled`.
///
/// And, as on plain SIP, a failed internal call says why before it ends
/// (`CalloutFailed` with the SIP code): the console's notice names the
/// extension and the reason, worded for a colleague (not "the customer"),
/// in English and Vietnamese. The voice leg used to give only `Ended`.
/// The control socket's `show_callout_error` carries the same words (it
/// used to say "the customer").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_1_internal_call_ended_by_a_487_we_did_not_cause_is_no_answer_as_on_plain_sip() {
    let sb = switchboard().await;
    let dir = tempdir("487");
    let mut c = on_device_1(&sb, "1003", &dir).await;
    // The console's own state, fed the engine's events as the binary does.
    let keymap = tongdai::app::keymap::Keymap::defaults().expect("keymap");
    let mut app = AppState::new(Lang::En, keymap, std::time::Instant::now());
    let mut fed = 0;
    // 487 rings first; 486 and 480 (any other internal number) fail at once.
    for (n, (number, result, reason, en, vi)) in [
        (
            "487",
            487,
            EndReason::NoAnswer,
            "Internal call to 487: the extension did not answer (SIP 487)",
            "Gọi nội bộ 487: máy nhánh không nghe máy (SIP 487)",
        ),
        (
            "486",
            486,
            EndReason::Busy,
            "Internal call to 486: the extension is busy (SIP 486)",
            "Gọi nội bộ 486: máy nhánh đang bận (SIP 486)",
        ),
        (
            "1001",
            480,
            EndReason::NoAnswer,
            "Internal call to 1001: the extension is unavailable for now (not logged in?) (SIP 480)",
            "Gọi nội bộ 1001: máy nhánh tạm thời không liên lạc được (chưa đăng nhập?) (SIP 480)",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let id = CallId(n as u64 + 1);
        c.send(Command::CallOut(number.into()));
        let mut failed = None;
        let ended = loop {
            let e = c
                .expect("the internal call's failure and end", |e| {
                    matches!(
                        e.call_event(),
                        Some(CallEvent::CalloutFailed { .. } | CallEvent::Ended(_))
                    )
                })
                .await;
            match &e {
                Event::Call {
                    call,
                    event:
                        CallEvent::CalloutFailed {
                            error_code,
                            sip_code,
                            internal,
                        },
                } => {
                    assert_eq!(*call, id, "internal call to {number}");
                    assert_eq!(internal.as_deref(), Some(number), "{e:?}");
                    failed = Some((error_code.clone(), *sip_code));
                    // Scripts read the screen's words (control socket).
                    let wire = tongdai::control::protocol::event_json(&e);
                    assert_eq!(wire["event"], "show_callout_error");
                    assert_eq!(wire["internal"], number);
                    assert_eq!(wire["text"]["en"], en, "{wire}");
                    assert_eq!(wire["text"]["vi"], vi, "{wire}");
                }
                _ => break e,
            }
        };
        assert_eq!(
            failed,
            Some((None, Some(result))),
            "internal call to {number}: no failure with its SIP code before {ended:?}"
        );
        assert_eq!(
            ended,
            Event::Call {
                call: id,
                event: CallEvent::Ended(reason)
            },
            "internal call to {number}"
        );
        for e in &c.seen[fed..] {
            update(&mut app, Msg::Engine(e.clone()));
        }
        fed = c.seen.len();
        let notice = app.notice.as_ref().expect("a notice for the failed call");
        assert_eq!(notice_text(Lang::En, &notice.text), en);
        assert_eq!(notice_text(Lang::Vi, &notice.text), vi);
        log_wait(&sb, "the switchboard's final answer", |e| {
            e.is_note("sip_internal_call")
                && detail(e, "to") == number
                && detail(e, "result") == result
        })
        .await;
    }
    assert!(c.shutdown().await);
}
