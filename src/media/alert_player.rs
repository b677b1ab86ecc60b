//! Plays the call-progress sounds [`AlertPolicy`] decides on: a tee on the
//! engine's event stream, like [`crate::history::spawn_tee`], that passes
//! every event through unchanged and plays on the side.
//!
//! ```text
//!  engine ─Event─▶ [alert-tee thread] ─Event (unchanged)─▶ console
//!                         │ copy
//!                         ▼
//!                  [alerts thread]: AlertPolicy → open the ring/output
//!                  device (AudioConfig::open_alert), a 20 ms frame of
//!                  ToneGen per tick, close on stop
//! ```
//!
//! Two threads, so opening a device (a JACK client takes ~100 ms) or a
//! stalled sound card never delays an event on its way to the screen. With
//! `[audio] device = "null"` there is nothing to play: the stream is handed
//! back as is and no thread starts.

use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::alert::{Alert, AlertEffect, AlertPolicy, Sink};
use super::config::{AudioConfig, DeviceKind};
use super::device::AudioDevice;
use super::tone::ToneGen;
use crate::engine::{Event, Info, Notice};

/// Tones are synthesized at 16 kHz: clean up to the ringtone's 480 Hz
/// harmonics-free sines, and a small resampling step to a 48 kHz card.
pub const ALERT_RATE: u32 = 16_000;
const FRAME: Duration = Duration::from_millis(20);
const FRAME_SAMPLES: usize = (ALERT_RATE / 50) as usize;
/// After a stall (a slow device open) catch up at most this many frames.
const MAX_CATCH_UP: u32 = 50;

/// Wrap the engine's event receiver with the alert player (see the module
/// doc). Device problems become one `Notice` on the returned stream.
pub fn spawn(
    events: mpsc::UnboundedReceiver<Event>,
    audio: AudioConfig,
) -> mpsc::UnboundedReceiver<Event> {
    if audio.device == DeviceKind::Null {
        return events;
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let (ptx, prx) = std_mpsc::channel::<Event>();
    let notices = tx.clone();
    let player = std::thread::Builder::new()
        .name("alerts".into())
        .spawn(move || player_loop(prx, &audio, &notices));
    let ptx = match player {
        Ok(_) => Some(ptx),
        Err(e) => {
            tracing::error!(error = %e, "cannot start the alert player thread");
            None
        }
    };
    let tee = std::thread::Builder::new().name("alert-tee".into()).spawn({
        let tx = tx.clone();
        move || tee_loop(events, ptx, tx)
    });
    if let Err(e) = tee {
        tracing::error!(error = %e, "cannot start the alert tee thread");
        let _ = tx.send(Event::Notice(Notice::Info(Info::SoundsOff {
            detail: e.to_string(),
        })));
    }
    rx
}

fn tee_loop(
    mut events: mpsc::UnboundedReceiver<Event>,
    mut player: Option<std_mpsc::Sender<Event>>,
    tx: mpsc::UnboundedSender<Event>,
) {
    while let Some(e) = events.blocking_recv() {
        if let Some(p) = &player {
            // Audio levels arrive 10 times a second; the player only needs
            // them while ringback might be cut by early media, but a copy is
            // cheap and the policy decides.
            if p.send(e.clone()).is_err() {
                player = None;
            }
        }
        if tx.send(e).is_err() {
            break;
        }
    }
    // Dropping `player` ends the player thread, which closes its device.
}

struct Playing {
    alert: Alert,
    dev: Box<dyn AudioDevice>,
    tone: ToneGen,
    next_tick: Instant,
}

fn close(p: Playing) {
    let mut dev = p.dev;
    if let Err(e) = dev.close() {
        tracing::warn!(device = %dev.name(), error = %e, "closing the alert device");
    }
}

fn player_loop(
    rx: std_mpsc::Receiver<Event>,
    audio: &AudioConfig,
    notices: &mpsc::UnboundedSender<Event>,
) {
    let mut policy = AlertPolicy::new();
    let mut current: Option<Playing> = None;
    let mut n = 0u64;
    let mut last_error: Option<Info> = None;
    let mut frame = vec![0i16; FRAME_SAMPLES];
    let notice = |info: Info, last: &mut Option<Info>| {
        // Once per distinct problem, not once per ring.
        if last.as_ref() != Some(&info) {
            tracing::warn!(?info, "call sounds");
            let _ = notices.send(Event::Notice(Notice::Info(info.clone())));
            *last = Some(info);
        }
    };
    loop {
        let wake = [current.as_ref().map(|p| p.next_tick), policy.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let first = match wake {
            Some(t) => rx.recv_timeout(t.saturating_duration_since(Instant::now())),
            None => rx
                .recv()
                .map_err(|_| std_mpsc::RecvTimeoutError::Disconnected),
        };
        let mut effects = Vec::new();
        let gone = match first {
            Ok(e) => {
                effects.extend(policy.handle(Instant::now(), &e));
                // Decide on a burst as a whole: a Ringing at once followed
                // by Accepted (a held call shown again) plays nothing.
                while let Ok(e) = rx.try_recv() {
                    effects.extend(policy.handle(Instant::now(), &e));
                }
                false
            }
            Err(std_mpsc::RecvTimeoutError::Timeout) => false,
            Err(std_mpsc::RecvTimeoutError::Disconnected) => true,
        };
        effects.extend(policy.on_timeout(Instant::now()));
        if gone {
            if let Some(p) = current.take() {
                close(p);
            }
            return;
        }
        if !effects.is_empty() {
            let want = policy.playing();
            let restart = effects.iter().any(|e| matches!(e, AlertEffect::Play(_)));
            let keep = !restart && current.as_ref().map(|p| p.alert) == want;
            if !keep {
                if let Some(p) = current.take() {
                    close(p);
                }
                if let Some(alert) = want {
                    n += 1;
                    match audio.open_alert(alert, n, ALERT_RATE) {
                        Ok(dev) => {
                            tracing::debug!(device = %dev.name(), ?alert, "call sound starts");
                            last_error = None;
                            current = Some(Playing {
                                alert,
                                dev,
                                tone: ToneGen::new(alert.cadence(), ALERT_RATE),
                                next_tick: Instant::now(),
                            });
                        }
                        Err(e) => notice(
                            Info::SoundDeviceFailed {
                                ring: alert.sink() == Sink::Ring,
                                detail: e.to_string(),
                            },
                            &mut last_error,
                        ),
                    }
                }
            }
        }
        let mut lost = None;
        if let Some(p) = current.as_mut() {
            let now = Instant::now();
            let mut caught = 0;
            while p.next_tick <= now {
                if caught == MAX_CATCH_UP {
                    p.next_tick = now + FRAME;
                    break;
                }
                p.tone.fill(&mut frame);
                if let Err(e) = p.dev.write(&frame) {
                    lost = Some(e);
                    break;
                }
                if let Some(r) = p.dev.take_recording_stopped() {
                    notice(
                        Info::RecordingStopped {
                            file: r.file,
                            disk_full: r.disk_full,
                        },
                        &mut last_error,
                    );
                }
                p.next_tick += FRAME;
                caught += 1;
            }
        }
        if let Some(e) = lost
            && let Some(p) = current.take()
        {
            // The device went away mid-ring: say so, keep the console going.
            notice(
                Info::SoundDeviceLost {
                    ring: p.alert.sink() == Sink::Ring,
                    detail: e.to_string(),
                },
                &mut last_error,
            );
            close(p);
        }
    }
}
