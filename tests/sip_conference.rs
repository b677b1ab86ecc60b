//! The three-way call's audio against real far ends, through Kamailio:
//! baresip bob says 440 Hz over PCMU (8 kHz), baresip carol says 880 Hz
//! over G.722 (16 kHz), and the agent's file microphone says 1000 Hz.
//!
//! - through the `tongdai` binary (`--headless`, a config file, the
//!   control socket): `call` bob, `consult` carol (bob is held), `merge`
//!   (bob is resumed and mixed), then `end` carol's call: bob and the agent
//!   go on alone;
//! - through the UA as the engine builds it, driven with the `SipAction`s
//!   the call core emits, with a PCMU and a G.722 far end (mixed rates),
//!   checking that the second call's own device is parked in the mix and
//!   takes over again after `EndConference`, and that mute in the mix
//!   silences the agent only.
//!
//! - the consult transfer and the three-way hand-over, with tongdai,
//!   baresip and linphone (`linphonec`, which honours Replaces) as far
//!   ends.
//!
//! Each side's recording is cut into 250 ms windows and checked by
//! frequency. The two tests take turns (four baresips at once on a
//! loaded two-core machine would test the machine).

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::bin::BinConsole;
use common::*;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tongdai::call::softphone::{Leg, SipAction, SipInput};
use tongdai::engine::RegState;
use tongdai::media::audio_codec::AudioCodec;
use tongdai::media::device::read_wav;
use tongdai::secret::Secret;
use tongdai::sip::Transport;
use tongdai::sip::ua::{SipUa, UaEvent};

const T: Duration = Duration::from_secs(10);
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
/// Present: a -6 dBFS tone after G.711/G.722 and the mix is well above this.
const ON: f64 = -16.0;
/// Absent: leakage and codec noise stay well below this.
const OFF: f64 = -32.0;

async fn until(
    rx: &mut mpsc::UnboundedReceiver<UaEvent>,
    what: &str,
    f: impl Fn(&UaEvent) -> bool,
) {
    let end = tokio::time::Instant::now() + T;
    loop {
        match tokio::time::timeout_at(end, rx.recv()).await {
            Ok(Some(e)) if f(&e) => return,
            Ok(Some(e)) => eprintln!("ua: {e:?}"),
            _ => panic!("timed out waiting for {what}"),
        }
    }
}

fn answered(leg: Leg) -> impl Fn(&UaEvent) -> bool {
    move |e| matches!(e, UaEvent::Call(SipInput::Answered { leg: l }) if *l == leg)
}

/// 250 ms windows of `x` (8 kHz): for each, whether each of `freqs` is
/// there (Some(true)), clearly not (Some(false)), or in between (None).
fn windows(x: &[i16], freqs: &[f64]) -> Vec<Vec<Option<bool>>> {
    let per: Vec<Vec<f64>> = freqs
        .iter()
        .map(|&f| tone_levels(x, 8000, f, 250))
        .collect();
    (0..per[0].len())
        .map(|i| {
            per.iter()
                .map(|l| {
                    if l[i] > ON {
                        Some(true)
                    } else if l[i] < OFF {
                        Some(false)
                    } else {
                        None
                    }
                })
                .collect()
        })
        .collect()
}

/// One line per recording: `+` there, `-` absent, `?` in between.
fn show(w: &[Vec<Option<bool>>]) -> String {
    w.iter()
        .map(|v| {
            v.iter()
                .map(|x| match x {
                    Some(true) => '+',
                    Some(false) => '-',
                    None => '?',
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn count(w: &[Vec<Option<bool>>], want: &[Option<bool>]) -> usize {
    w.iter().filter(|v| v.as_slice() == want).count()
}

fn dump(b: &Baresip) -> Vec<i16> {
    let d = baresip_heard(b);
    let p = d.last().expect("baresip recorded what it heard");
    read_wav(p, 8000).expect("baresip recording")
}

#[test]
fn each_far_end_hears_the_other_and_the_agent_and_the_agent_hears_both() {
    if !need("kamailio") || !need("baresip") {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(three_way_on_the_ua());
}

async fn three_way_on_the_ua() {
    let k = Kamailio::start();
    let registrar = format!("127.0.0.1:{}", k.udp);
    let bob = Baresip::start_with_env(
        "bob",
        "secret",
        &registrar,
        &baresip_codec_env(AudioCodec::Pcmu),
    );
    let mut carol_env = baresip_codec_env(AudioCodec::G722);
    carol_env.push(("BARESIP_TONE_HZ", "880"));
    let carol = Baresip::start_with_env("carol", "secret", &registrar, &carol_env);

    let dir = tempdir("conference");
    let cfg = tongdai::sip::SipConfig {
        domain: Some("127.0.0.1".into()),
        ..sip_account("alice", registrar.clone(), Transport::Udp, "secret", true)
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let ua = SipUa::start(cfg, Secret::new("secret"), tx)
        .await
        .expect("UA");
    ua.set_audio(tone_audio(&dir, 1000.0));
    until(&mut rx, "registered", |e| {
        matches!(e, UaEvent::Registration(RegState::Registered { .. }))
    })
    .await;

    let (one, two) = (Leg(1), Leg(2));
    ua.execute(SipAction::Invite {
        leg: one,
        target: "sip:bob@127.0.0.1".into(),
    });
    until(&mut rx, "bob answers", answered(one)).await;
    ua.execute(SipAction::Invite {
        leg: two,
        target: "sip:carol@127.0.0.1".into(),
    });
    until(&mut rx, "carol answers", answered(two)).await;
    // Two separate calls first, then the merge, then back apart.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    ua.execute(SipAction::Conference {
        legs: vec![one, two],
    });
    tokio::time::sleep(Duration::from_millis(3000)).await;
    // Mute in the three-way call: the agent leaves the mix, bob and carol
    // still hear each other.
    ua.execute(SipAction::Mute {
        leg: one,
        mute: true,
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ua.execute(SipAction::Mute {
        leg: one,
        mute: false,
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    ua.execute(SipAction::EndConference);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    ua.execute(SipAction::Bye { leg: one });
    ua.execute(SipAction::Bye { leg: two });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ua.stop(Duration::from_secs(2)).await;

    // The agent: leg 1's device is the agent's one device in the mix.
    let agent = read_wav(&dir.join("call-1-heard.wav"), 8000).expect("our recording");
    let w = windows(&agent, &[440.0, 880.0, 1000.0]);
    eprintln!("agent (440, 880, 1000): {}", show(&w));
    let (t, f) = (Some(true), Some(false));
    assert!(
        count(&w, &[t, t, f]) >= 8,
        "the agent hears bob and carol in the three-way call"
    );
    assert!(
        count(&w[..4], &[t, f, f]) >= 2,
        "before: the agent hears bob alone on call 1"
    );
    assert!(
        count(&w[w.len() - 4..], &[t, f, f]) >= 2,
        "after: call 1 is bob alone again"
    );
    assert_eq!(
        count(&w, &[t, t, t]) + count(&w, &[f, f, t]),
        0,
        "never the agent's own voice"
    );
    // Call 2's own device is parked in the mix: never bob's tone in it.
    let two_heard = read_wav(&dir.join("call-2-heard.wav"), 8000).expect("call 2 recording");
    let w2 = windows(&two_heard, &[440.0, 880.0]);
    eprintln!("call 2's device (440, 880): {}", show(&w2));
    assert!(
        w2.iter().all(|v| v[0] == f),
        "call 2's own device never played bob"
    );
    assert!(
        count(&w2[w2.len() - 4..], &[f, t]) >= 2,
        "after the merge ends, call 2 plays carol on its own device again"
    );

    // Bob hears the agent and carol in the conference, only the agent after.
    let b = dump(&bob);
    let wb = windows(&b, &[440.0, 880.0, 1000.0]);
    eprintln!("bob (440, 880, 1000): {}", show(&wb));
    assert!(count(&wb, &[f, t, t]) >= 8, "bob hears carol and the agent");
    assert!(
        count(&wb, &[f, t, f]) >= 3,
        "the agent muted: bob still hears carol"
    );
    assert!(count(&wb[..4], &[f, f, t]) >= 2, "before: the agent alone");
    assert!(
        count(&wb[wb.len() - 4..], &[f, f, t]) >= 2,
        "after: the agent alone"
    );
    // Carol (G.722) hears the agent and bob.
    let c = dump(&carol);
    let wc = windows(&c, &[440.0, 880.0, 1000.0]);
    eprintln!("carol (440, 880, 1000): {}", show(&wc));
    assert!(count(&wc, &[t, f, t]) >= 8, "carol hears bob and the agent");
    assert!(
        count(&wc, &[t, f, f]) >= 3,
        "the agent muted: carol still hears bob"
    );
    assert!(
        count(&wc[wc.len() - 4..], &[f, f, t]) >= 2,
        "after: the agent alone"
    );
}

fn call<'a>(s: &'a Value, id: &str) -> &'a Value {
    s["calls"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["call"] == id))
        .unwrap_or(&Value::Null)
}

fn ok(c: &BinConsole, req: Value) {
    let r = c.request(req.clone());
    assert_eq!(r["ok"], true, "{req} -> {r}\nlog:\n{}", c.log());
}

/// A headless `tongdai` for `user` on `registrar`: the agent's file
/// device says `freq` Hz, its calls' audio is recorded in `dir`.
fn console(tag: &str, user: &str, registrar: &str, dir: &std::path::Path, freq: f64) -> BinConsole {
    let audio = tone_audio(dir, freq);
    let mic = audio.mic_wav.clone().expect("mic");
    let config = format!(
        "backend = \"sip\"\n\
         [audio]\ndevice = \"file\"\nmic_wav = \"{}\"\nrecord_dir = \"{}\"\n\
         [sip]\nuser = \"{user}\"\nserver = \"{registrar}\"\ndomain = \"127.0.0.1\"\n\
         register = true\nbind = \"127.0.0.1\"\nsecond_call = \"offer\"\n",
        mic.display(),
        dir.display()
    );
    let c = BinConsole::start(tag, &config, &[("TONGDAI_SIP_PASSWORD", "secret")]);
    c.wait_status("registered", T, |s| {
        s["registration"]["state"] == "registered"
    });
    c
}

/// The `n`th call recording (`call-<n>-heard.wav` in name order) in `dir`.
fn recording(dir: &std::path::Path) -> (std::path::PathBuf, Vec<i16>) {
    let mut heard: Vec<_> = std::fs::read_dir(dir)
        .expect("record dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with("-heard.wav"))
        .collect();
    heard.sort();
    let first = heard.first().expect("a recording").clone();
    let x = read_wav(&first, 8000).expect("recording");
    (first, x)
}

#[test]
fn merge_through_the_binary_mixes_both_calls_and_ending_one_leaves_the_other() {
    if !need("kamailio") || !need("baresip") {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let k = Kamailio::start();
    let registrar = format!("127.0.0.1:{}", k.udp);
    // Bob, the customer, is another tongdai (its recording goes on across
    // the hold; baresip 1.0 stops recording at a hold re-INVITE). Carol,
    // the colleague, is baresip.
    let bob_dir = tempdir("conference-bob");
    let bob = console("conference-bob", "bob", &registrar, &bob_dir, 440.0);
    let carol =
        Baresip::start_with_env("carol", "secret", &registrar, &[("BARESIP_TONE_HZ", "880")]);
    let rec = tempdir("conference-agent");
    let c = console("conference-agent", "alice", &registrar, &rec, 1000.0);

    ok(&c, json!({"cmd": "call", "number": "sip:bob@127.0.0.1"}));
    bob.wait_status("ringing", T, |s| call(s, "c1")["phase"] == "ringing");
    ok(&bob, json!({"cmd": "answer"}));
    c.wait_status("bob answered", T, |s| call(s, "c1")["phase"] == "connected");
    std::thread::sleep(Duration::from_millis(1500));
    ok(
        &c,
        json!({"cmd": "consult", "number": "sip:carol@127.0.0.1"}),
    );
    c.wait_status("bob held, carol answered", T, |s| {
        call(s, "c1")["held"] == true && call(s, "c2")["phase"] == "connected"
    });
    std::thread::sleep(Duration::from_millis(1500));
    ok(&c, json!({"cmd": "merge"}));
    c.wait_status("bob resumed for the merge", T, |s| {
        call(s, "c1")["held"] == false && call(s, "c2")["phase"] == "connected"
    });
    std::thread::sleep(Duration::from_millis(3000));
    // Carol leaves: bob and the agent go on, on the agent's own device.
    ok(&c, json!({"cmd": "end", "call": "c2"}));
    c.wait_status("carol's call ended", T, |s| call(s, "c2").is_null());
    std::thread::sleep(Duration::from_millis(2000));
    ok(&c, json!({"cmd": "end", "call": "c1"}));
    c.wait_status("idle", T, |s| {
        s["calls"].as_array().is_some_and(Vec::is_empty)
    });
    bob.wait_status("idle", T, |s| {
        s["calls"].as_array().is_some_and(Vec::is_empty)
    });
    drop(c);
    drop(bob);
    std::thread::sleep(Duration::from_millis(500));

    let (t, f) = (Some(true), Some(false));
    // What the agent heard: bob's call's recording (the first leg's
    // device is the agent's one device in the mix).
    let (first, agent) = recording(&rec);
    let w = windows(&agent, &[440.0, 880.0, 1000.0]);
    eprintln!(
        "agent on {} (440, 880, 1000): {}",
        first.display(),
        show(&w)
    );
    assert!(count(&w, &[t, t, f]) >= 6, "the agent hears bob and carol");
    assert!(count(&w[..4], &[t, f, f]) >= 2, "first: bob alone");
    assert!(
        count(&w, &[f, f, f]) >= 3,
        "bob on hold while the agent consults carol"
    );
    assert!(
        count(&w[w.len() - 4..], &[t, f, f]) >= 2,
        "last: bob alone again"
    );
    assert_eq!(
        count(&w, &[t, t, t]) + count(&w, &[f, f, t]),
        0,
        "never the agent's own voice"
    );

    let (_, b) = recording(&bob_dir);
    let wb = windows(&b, &[440.0, 880.0, 1000.0]);
    eprintln!("bob (440, 880, 1000): {}", show(&wb));
    assert!(count(&wb[..4], &[f, f, t]) >= 2, "first: the agent alone");
    assert!(count(&wb, &[f, f, f]) >= 3, "on hold: nothing");
    assert!(count(&wb, &[f, t, t]) >= 6, "bob hears carol and the agent");
    assert!(
        count(&wb[wb.len() - 4..], &[f, f, t]) >= 2,
        "after carol left: the agent alone"
    );
    let wc = windows(&dump(&carol), &[440.0, 880.0, 1000.0]);
    eprintln!("carol (440, 880, 1000): {}", show(&wc));
    assert!(
        count(&wc[..4], &[f, f, t]) >= 2,
        "consulting: carol hears the agent, not bob"
    );
    assert!(count(&wc, &[t, f, t]) >= 6, "carol hears bob and the agent");
}

/// Call waiting: a second call during a call is a short beep in the call's
/// audio for the agent only: not in what the customer hears, and not on
/// the ring device.
#[test]
fn a_waiting_call_beeps_in_the_agents_call_audio_only() {
    if !need("kamailio") || !need("baresip") {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let k = Kamailio::start();
    let registrar = format!("127.0.0.1:{}", k.udp);
    let carol =
        Baresip::start_with_env("carol", "secret", &registrar, &[("BARESIP_TONE_HZ", "880")]);
    let dave = Baresip::start("dave", "secret", &registrar);
    let rec = tempdir("waiting-agent");
    let c = console("waiting-agent", "alice", &registrar, &rec, 1000.0);

    ok(&c, json!({"cmd": "call", "number": "sip:carol@127.0.0.1"}));
    c.wait_status("carol answered", T, |s| {
        call(s, "c1")["phase"] == "connected"
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        dave.ctl(&["dial", &format!("sip:alice@127.0.0.1:{}", k.udp)]),
        "dave dials"
    );
    c.wait_status("dave waits", T, |s| call(s, "c2")["phase"] == "ringing");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(dave.ctl(&["hangup"]), "dave gives up");
    c.wait_status("dave gone", T, |s| call(s, "c2").is_null());
    std::thread::sleep(Duration::from_millis(500));
    ok(&c, json!({"cmd": "end", "call": "c1"}));
    c.wait_status("idle", T, |s| {
        s["calls"].as_array().is_some_and(Vec::is_empty)
    });
    drop(c);
    std::thread::sleep(Duration::from_millis(500));

    let (_, agent) = recording(&rec);
    let beep = tone_levels(&agent, 8000, 425.0, 100);
    let loudest = beep.iter().copied().fold(f64::MIN, f64::max);
    eprintln!("agent: 425 Hz per 100 ms: {beep:.0?}");
    assert!(
        loudest > -18.0,
        "the agent hears the beep: {loudest:.1} dBFS"
    );
    assert!(
        beep[..10].iter().all(|&l| l < OFF),
        "no beep before the second call"
    );
    let on = beep.iter().filter(|&&l| l > -20.0).count();
    assert!((2..=4).contains(&on), "one short beep: {on} × 100 ms");
    assert!(
        tone_levels(&agent, 8000, 880.0, 250)[4..]
            .iter()
            .all(|&l| l > ON),
        "carol's audio goes on under the beep"
    );
    let theirs = tone_levels(&dump(&carol), 8000, 425.0, 100);
    assert!(
        theirs.iter().all(|&l| l < OFF),
        "carol never hears it: {theirs:.0?}"
    );
    let rings: Vec<_> = std::fs::read_dir(&rec)
        .expect("record dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("ring-"))
        .collect();
    assert!(
        rings.is_empty(),
        "the ring device stays quiet during a call"
    );
}

/// `call-<leg>-heard.wav` in `dir`, read at 8 kHz.
fn heard(dir: &std::path::Path, leg: u64) -> Vec<i16> {
    let p = dir.join(format!("call-{leg}-heard.wav"));
    read_wav(&p, 8000).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn no_calls(s: &Value) -> bool {
    s["calls"].as_array().is_some_and(Vec::is_empty)
}

/// The one call of a console, connected and not held.
fn one_live_call(s: &Value) -> bool {
    s["calls"]
        .as_array()
        .is_some_and(|a| a.len() == 1 && a[0]["phase"] == "connected" && a[0]["held"] == false)
}

/// Consult transfer with tones, three `tongdai` binaries through
/// Kamailio: the agent (1000 Hz) calls bob, the customer (440 Hz),
/// consults carol, the colleague (880 Hz), and completes the transfer.
/// Bob acts on the REFER (202, an INVITE with the Refer-To's Replaces,
/// NOTIFYs), carol takes that INVITE over her consult dialog at once (no
/// ring) and BYEs the agent's. Afterwards the agent has no call, and bob
/// and carol hear each other, never the agent.
#[test]
fn a_completed_consult_transfer_leaves_customer_and_colleague_talking() {
    if !need("kamailio") {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let k = Kamailio::start();
    let registrar = format!("127.0.0.1:{}", k.udp);
    let bob_dir = tempdir("transfer-bob");
    let bob = console("transfer-bob", "bob", &registrar, &bob_dir, 440.0);
    let carol_dir = tempdir("transfer-carol");
    let carol = console("transfer-carol", "carol", &registrar, &carol_dir, 880.0);
    let rec = tempdir("transfer-agent");
    let c = console("transfer-agent", "alice", &registrar, &rec, 1000.0);

    ok(&c, json!({"cmd": "call", "number": "sip:bob@127.0.0.1"}));
    bob.wait_status("ringing", T, |s| call(s, "c1")["phase"] == "ringing");
    ok(&bob, json!({"cmd": "answer"}));
    c.wait_status("bob answered", T, |s| call(s, "c1")["phase"] == "connected");
    std::thread::sleep(Duration::from_millis(1500));
    ok(
        &c,
        json!({"cmd": "consult", "number": "sip:carol@127.0.0.1"}),
    );
    carol.wait_status("ringing", T, |s| call(s, "c1")["phase"] == "ringing");
    ok(&carol, json!({"cmd": "answer"}));
    c.wait_status("bob held, carol answered", T, |s| {
        call(s, "c1")["held"] == true && call(s, "c2")["phase"] == "connected"
    });
    std::thread::sleep(Duration::from_millis(1500));
    ok(&c, json!({"cmd": "complete_transfer"}));
    c.wait_status("the agent is out of both calls", T, no_calls);
    bob.wait_status("bob talks to carol on the referred call", T, |s| {
        one_live_call(s) && call(s, "c2")["phase"] == "connected"
    });
    carol.wait_status("carol's call now has bob on it", T, |s| {
        one_live_call(s) && call(s, "c1")["phase"] == "connected"
    });
    let rows = c.history();
    let bob_row = rows.iter().find(|r| r["number"] == "sip:bob@127.0.0.1");
    assert!(
        bob_row.is_some_and(|r| r["outcome"] == "transferred"),
        "the agent's history has bob's call transferred: {rows:?}"
    );
    std::thread::sleep(Duration::from_millis(3000));
    ok(&bob, json!({"cmd": "end"}));
    carol.wait_status("idle", T, no_calls);
    bob.wait_status("idle", T, no_calls);
    let (bob_log, carol_log) = (bob.log(), carol.log());
    drop(c);
    drop(bob);
    drop(carol);
    std::thread::sleep(Duration::from_millis(500));

    let (t, f) = (Some(true), Some(false));
    // Bob's referred call (his leg 2) and carol's replacing leg (her leg 2).
    let wb = windows(&heard(&bob_dir, 2), &[440.0, 880.0, 1000.0]);
    eprintln!("bob after the transfer (440, 880, 1000): {}", show(&wb));
    assert!(
        count(&wb, &[f, t, f]) >= 8,
        "bob hears carol and not the agent\nbob log:\n{bob_log}"
    );
    assert_eq!(
        count(&wb, &[f, f, t]) + count(&wb, &[f, t, t]),
        0,
        "never the agent"
    );
    let wc = windows(&heard(&carol_dir, 2), &[440.0, 880.0, 1000.0]);
    eprintln!("carol after the transfer (440, 880, 1000): {}", show(&wc));
    assert!(
        count(&wc, &[t, f, f]) >= 8,
        "carol hears bob and not the agent\ncarol log:\n{carol_log}"
    );
    assert_eq!(
        count(&wc, &[f, f, t]) + count(&wc, &[t, f, t]),
        0,
        "never the agent"
    );
    // Before: each heard the agent on the first call.
    let wb1 = windows(&heard(&bob_dir, 1), &[440.0, 880.0, 1000.0]);
    assert!(count(&wb1, &[f, f, t]) >= 2, "bob heard the agent first");
    let wc1 = windows(&heard(&carol_dir, 1), &[440.0, 880.0, 1000.0]);
    assert!(count(&wc1, &[f, f, t]) >= 2, "carol heard the agent first");
}

/// Leaving a three-way call by handing the far ends to each other: the
/// agent (1000 Hz) calls bob (440 Hz), answers carol's waiting call
/// (880 Hz), merges, then `complete_transfer`: bob gets the REFER with
/// Replaces naming the agent's dialog with carol, carol takes bob's
/// INVITE over it. The agent is out of both calls; bob and carol hear
/// each other and not the agent.
#[test]
fn leaving_a_three_way_call_hands_the_far_ends_to_each_other() {
    if !need("kamailio") {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let k = Kamailio::start();
    let registrar = format!("127.0.0.1:{}", k.udp);
    let bob_dir = tempdir("leave-bob");
    let bob = console("leave-bob", "bob", &registrar, &bob_dir, 440.0);
    let carol_dir = tempdir("leave-carol");
    let carol = console("leave-carol", "carol", &registrar, &carol_dir, 880.0);
    let rec = tempdir("leave-agent");
    let c = console("leave-agent", "alice", &registrar, &rec, 1000.0);

    ok(&c, json!({"cmd": "call", "number": "sip:bob@127.0.0.1"}));
    bob.wait_status("ringing", T, |s| call(s, "c1")["phase"] == "ringing");
    ok(&bob, json!({"cmd": "answer"}));
    c.wait_status("bob answered", T, |s| call(s, "c1")["phase"] == "connected");
    ok(
        &carol,
        json!({"cmd": "call", "number": "sip:alice@127.0.0.1"}),
    );
    c.wait_status("carol waits", T, |s| call(s, "c2")["phase"] == "ringing");
    ok(&c, json!({"cmd": "answer", "call": "c2"}));
    c.wait_status("bob held, carol answered", T, |s| {
        call(s, "c1")["held"] == true && call(s, "c2")["phase"] == "connected"
    });
    ok(&c, json!({"cmd": "merge"}));
    c.wait_status("three-way call", T, |s| {
        call(s, "c1")["held"] == false && call(s, "c2")["phase"] == "connected"
    });
    std::thread::sleep(Duration::from_millis(2500));
    ok(&c, json!({"cmd": "complete_transfer"}));
    c.wait_status("the agent left both calls", T, no_calls);
    bob.wait_status("bob talks to carol", T, |s| {
        one_live_call(s) && call(s, "c2")["phase"] == "connected"
    });
    carol.wait_status("carol talks to bob", T, |s| {
        one_live_call(s) && call(s, "c1")["phase"] == "connected"
    });
    std::thread::sleep(Duration::from_millis(3000));
    ok(&carol, json!({"cmd": "end"}));
    bob.wait_status("idle", T, no_calls);
    carol.wait_status("idle", T, no_calls);
    let (bob_log, carol_log) = (bob.log(), carol.log());
    drop(c);
    drop(bob);
    drop(carol);
    std::thread::sleep(Duration::from_millis(500));

    let (t, f) = (Some(true), Some(false));
    // In the three-way call bob heard carol and the agent.
    let wb1 = windows(&heard(&bob_dir, 1), &[440.0, 880.0, 1000.0]);
    eprintln!("bob, first call (440, 880, 1000): {}", show(&wb1));
    assert!(count(&wb1, &[f, t, t]) >= 6, "the three-way call");
    let wb = windows(&heard(&bob_dir, 2), &[440.0, 880.0, 1000.0]);
    eprintln!("bob after (440, 880, 1000): {}", show(&wb));
    assert!(
        count(&wb, &[f, t, f]) >= 8,
        "bob hears carol and not the agent\nbob log:\n{bob_log}"
    );
    assert_eq!(
        count(&wb, &[f, f, t]) + count(&wb, &[f, t, t]),
        0,
        "never the agent"
    );
    // Carol's call from the agent (her leg 1) is taken over by bob's INVITE (leg 2).
    let wc = windows(&heard(&carol_dir, 2), &[440.0, 880.0, 1000.0]);
    eprintln!("carol after (440, 880, 1000): {}", show(&wc));
    assert!(
        count(&wc, &[t, f, f]) >= 8,
        "carol hears bob and not the agent\ncarol log:\n{carol_log}"
    );
    assert_eq!(
        count(&wc, &[f, f, t]) + count(&wc, &[t, f, t]),
        0,
        "never the agent"
    );
}

/// Ending a three-way call: `end_conference` hangs up both far ends.
#[test]
fn end_conference_hangs_up_both_far_ends() {
    if !need("kamailio") {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let k = Kamailio::start();
    let registrar = format!("127.0.0.1:{}", k.udp);
    let bob_dir = tempdir("endconf-bob");
    let bob = console("endconf-bob", "bob", &registrar, &bob_dir, 440.0);
    let carol_dir = tempdir("endconf-carol");
    let carol = console("endconf-carol", "carol", &registrar, &carol_dir, 880.0);
    let rec = tempdir("endconf-agent");
    let c = console("endconf-agent", "alice", &registrar, &rec, 1000.0);

    ok(&c, json!({"cmd": "call", "number": "sip:bob@127.0.0.1"}));
    bob.wait_status("ringing", T, |s| call(s, "c1")["phase"] == "ringing");
    ok(&bob, json!({"cmd": "answer"}));
    c.wait_status("bob answered", T, |s| call(s, "c1")["phase"] == "connected");
    ok(
        &c,
        json!({"cmd": "consult", "number": "sip:carol@127.0.0.1"}),
    );
    carol.wait_status("ringing", T, |s| call(s, "c1")["phase"] == "ringing");
    ok(&carol, json!({"cmd": "answer"}));
    c.wait_status("carol answered", T, |s| {
        call(s, "c2")["phase"] == "connected"
    });
    ok(&c, json!({"cmd": "merge"}));
    c.wait_status("three-way call", T, |s| {
        call(s, "c1")["held"] == false && call(s, "c2")["phase"] == "connected"
    });
    ok(&c, json!({"cmd": "end_conference"}));
    c.wait_status("the agent has no call", T, no_calls);
    bob.wait_status("bob was hung up", T, no_calls);
    carol.wait_status("carol was hung up", T, no_calls);
}

/// Consult transfer with baresip 1.0 as the customer (880 Hz), a tongdai
/// colleague (440 Hz) and the agent (1000 Hz). baresip takes the REFER
/// (202) and dials the Refer-To, but its INVITE reaches the colleague
/// without a Replaces header (baresip 1.0 does not turn the URI's
/// `?Replaces=` into one), so the colleague's console shows it as a
/// waiting call (a Replaces it saw would take the call over, or get 400 if
/// malformed), which she answers.
/// baresip's NOTIFY 200 then completes the transfer: the agent leaves
/// both calls and bob and carol hear each other, not the agent.
#[test]
fn a_baresip_customer_dials_the_refer_to_and_the_colleague_answers_it() {
    if !need("kamailio") || !need("baresip") {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let k = Kamailio::start();
    let registrar = format!("127.0.0.1:{}", k.udp);
    // Through the registrar, so its call to sip:carol@127.0.0.1 arrives.
    let bob = Baresip::start_with_env(
        "bob",
        "secret",
        &registrar,
        &[("BARESIP_TONE_HZ", "880"), ("BARESIP_OUTBOUND", "1")],
    );
    let carol_dir = tempdir("bt-carol");
    let carol = console("bt-carol", "carol", &registrar, &carol_dir, 440.0);
    let rec = tempdir("bt-agent");
    let c = console("bt-agent", "alice", &registrar, &rec, 1000.0);

    ok(&c, json!({"cmd": "call", "number": "sip:bob@127.0.0.1"}));
    c.wait_status("bob answered", T, |s| call(s, "c1")["phase"] == "connected");
    std::thread::sleep(Duration::from_millis(1000));
    ok(
        &c,
        json!({"cmd": "consult", "number": "sip:carol@127.0.0.1"}),
    );
    carol.wait_status("ringing", T, |s| call(s, "c1")["phase"] == "ringing");
    ok(&carol, json!({"cmd": "answer"}));
    c.wait_status("carol answered", T, |s| {
        call(s, "c2")["phase"] == "connected"
    });
    std::thread::sleep(Duration::from_millis(1000));
    ok(&c, json!({"cmd": "complete_transfer"}));
    carol.wait_status("bob's call rings as a waiting call", T, |s| {
        call(s, "c2")["phase"] == "ringing" && call(s, "c2")["number"] == "bob"
    });
    ok(&carol, json!({"cmd": "answer", "call": "c2"}));
    c.wait_status("the agent is out of both calls", T, no_calls);
    carol.wait_status("carol talks to bob alone", T, |s| {
        one_live_call(s) && call(s, "c2")["phase"] == "connected"
    });
    let rows = c.history();
    assert!(
        rows.iter()
            .any(|r| r["number"] == "sip:bob@127.0.0.1" && r["outcome"] == "transferred"),
        "{rows:?}"
    );
    std::thread::sleep(Duration::from_millis(3000));
    ok(&carol, json!({"cmd": "end"}));
    carol.wait_status("idle", T, no_calls);
    let carol_log = carol.log();
    drop(c);
    drop(carol);
    std::thread::sleep(Duration::from_millis(500));

    let (t, f) = (Some(true), Some(false));
    let wc = windows(&heard(&carol_dir, 2), &[440.0, 880.0, 1000.0]);
    eprintln!("carol after (440, 880, 1000): {}", show(&wc));
    assert!(
        count(&wc, &[f, t, f]) >= 8,
        "carol hears bob and not the agent\n{carol_log}"
    );
    assert_eq!(
        count(&wc, &[f, t, t]) + count(&wc, &[f, f, t]),
        0,
        "never the agent"
    );
    // baresip's recording of its second call (the one to carol).
    let dumps = baresip_heard(&bob);
    let b = read_wav(dumps.last().expect("a recording"), 8000).expect("wav");
    let wb = windows(&b, &[440.0, 880.0, 1000.0]);
    eprintln!(
        "bob after ({} recordings) (440, 880, 1000): {}",
        dumps.len(),
        show(&wb)
    );
    assert!(
        dumps.len() >= 2,
        "bob's second call has its own recording: {dumps:?}"
    );
    assert!(
        count(&wb, &[t, f, f]) >= 8,
        "bob hears carol and not the agent"
    );
    assert_eq!(
        count(&wb, &[t, f, t]) + count(&wb, &[f, f, t]),
        0,
        "never the agent"
    );
}

/// Consult transfer to a colleague on linphone (`linphonec`, an
/// independent SIP stack that honours Replaces): the agent (1000 Hz)
/// calls bob, the customer (a tongdai, 440 Hz), consults carol (linphone,
/// 880 Hz, auto-answer) and completes. Bob's INVITE with Replaces reaches
/// linphone, which takes it over its consult dialog and BYEs the agent's
/// leg itself (the Replaces path, not the console's plain-REFER fallback,
/// in which bob's first referred call, the one carrying Replaces, would
/// fail and a second REFER would follow). Afterwards bob hears carol and
/// never the agent, and carol hears bob.
#[test]
fn a_linphone_colleague_takes_the_customer_over_by_replaces() {
    if !need("kamailio") || !need("linphonec") {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let k = Kamailio::start();
    let registrar = format!("127.0.0.1:{}", k.udp);
    let bob_dir = tempdir("linphone-bob");
    let bob = console("linphone-bob", "bob", &registrar, &bob_dir, 440.0);
    let carol_dir = tempdir("linphone-carol-mic");
    let carol_mic = carol_dir.join("mic-880.wav");
    tongdai::media::device::write_wav(
        &carol_mic,
        8000,
        &tongdai::media::tone::sine(880.0, 0.5, 8000, 30_000),
    )
    .expect("mic wav");
    let mut carol = common::linphone::Linphone::start("carol", "secret", k.udp, &carol_mic);
    let rec = tempdir("linphone-agent");
    let c = console("linphone-agent", "alice", &registrar, &rec, 1000.0);

    ok(&c, json!({"cmd": "call", "number": "sip:bob@127.0.0.1"}));
    bob.wait_status("ringing", T, |s| call(s, "c1")["phase"] == "ringing");
    ok(&bob, json!({"cmd": "answer"}));
    c.wait_status("bob answered", T, |s| call(s, "c1")["phase"] == "connected");
    std::thread::sleep(Duration::from_millis(1500));
    ok(
        &c,
        json!({"cmd": "consult", "number": "sip:carol@127.0.0.1"}),
    );
    c.wait_status("bob held, linphone answered", T, |s| {
        call(s, "c1")["held"] == true && call(s, "c2")["phase"] == "connected"
    });
    std::thread::sleep(Duration::from_millis(1500));
    ok(&c, json!({"cmd": "complete_transfer"}));
    c.wait_status("the agent is out of both calls", T, no_calls);
    // c2 is bob's first referred call, the INVITE with Replaces: it is the
    // one connected, so linphone took it (no fallback call c3).
    bob.wait_status("bob talks to carol on the referred call", T, |s| {
        one_live_call(s) && call(s, "c2")["phase"] == "connected"
    });
    std::thread::sleep(Duration::from_millis(3000));
    carol.cmd("calls");
    let carol_out = carol.output();
    ok(&bob, json!({"cmd": "end"}));
    bob.wait_status("idle", T, no_calls);
    let bob_log = bob.log();
    let carol_heard = carol.heard.clone();
    drop(c);
    drop(bob);
    drop(carol);
    std::thread::sleep(Duration::from_millis(500));

    let (t, f) = (Some(true), Some(false));
    let wb = windows(&heard(&bob_dir, 2), &[440.0, 880.0, 1000.0]);
    eprintln!("bob after the transfer (440, 880, 1000): {}", show(&wb));
    assert!(
        count(&wb, &[f, t, f]) >= 8,
        "bob hears carol and not the agent\nbob log:\n{bob_log}\nlinphonec:\n{carol_out}"
    );
    assert_eq!(
        count(&wb, &[f, f, t]) + count(&wb, &[f, t, t]),
        0,
        "never the agent"
    );
    // One file for both of carol's calls: the agent first, then bob.
    let carol_heard = common::linphone::recording_8k(&carol_heard);
    let wc = windows(&carol_heard, &[440.0, 880.0, 1000.0]);
    eprintln!("carol, whole recording (440, 880, 1000): {}", show(&wc));
    assert!(count(&wc, &[t, f, f]) >= 8, "carol hears bob");
    assert!(count(&wc, &[f, f, t]) >= 2, "carol heard the agent first");
}
