//! The three-way call's audio against real far ends, through Kamailio:
//! baresip bob says 440 Hz over PCMU (8 kHz), baresip carol says 880 Hz
//! over G.722 (16 kHz), and the agent's file microphone says 1000 Hz.
//!
//! The UA is driven with the `SipAction`s the call core emits for two
//! calls, a merge and its end (the core's own tests cover when it emits
//! them); everything below the actions is the product's: SIP, RTP, the
//! per-leg sessions, the device switch and the mixer. Each side's
//! recording is cut into 250 ms windows and checked by frequency.

mod common;

use std::time::Duration;

use common::*;
use tokio::sync::mpsc;
use tongdai::call::softphone::{Leg, SipAction, SipInput};
use tongdai::engine::RegState;
use tongdai::media::audio_codec::AudioCodec;
use tongdai::media::device::read_wav;
use tongdai::secret::Secret;
use tongdai::sip::Transport;
use tongdai::sip::ua::{SipUa, UaEvent};

const T: Duration = Duration::from_secs(10);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_far_end_hears_the_other_and_the_agent_and_the_agent_hears_both() {
    if !need("kamailio") || !need("baresip") {
        return;
    }
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
        count(&wc[wc.len() - 4..], &[f, f, t]) >= 2,
        "after: the agent alone"
    );
}
