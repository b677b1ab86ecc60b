//! DTMF as RFC 4733 telephone-events (named events 0–15, §3.2).
//!
//! ```text
//!  0                   1                   2                   3
//! |     event     |E|R| volume    |          duration             |
//! ```
//!
//! Sending, one RTP packet per 20 ms tick in place of audio, all with the
//! event's start timestamp: the first with the marker bit, durations
//! growing, then the end packet (E bit, final duration) three times
//! (§2.5.1.4), then a short gap of audio before the next queued digit.
//! Receiving reports each event once, on its first packet seen, keyed by
//! its timestamp, so retransmitted end packets and updates are not news.

use std::collections::VecDeque;

/// Map a keypad character to its event code.
pub fn event_code(digit: char) -> Option<u8> {
    match digit.to_ascii_uppercase() {
        d @ '0'..='9' => Some(d as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        d @ 'A'..='D' => Some(d as u8 - b'A' + 12),
        _ => None,
    }
}

/// The keypad character of an event code.
pub fn event_char(code: u8) -> Option<char> {
    match code {
        0..=9 => Some((b'0' + code) as char),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some((b'A' + code - 12) as char),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPayload {
    pub event: u8,
    pub end: bool,
    /// Power level in -dBm0 (0–63).
    pub volume: u8,
    /// In timestamp units since the event's timestamp.
    pub duration: u16,
}

impl EventPayload {
    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3F),
            d[0],
            d[1],
        ]
    }

    pub fn parse(b: &[u8]) -> Option<EventPayload> {
        let b = b.get(..4)?;
        Some(EventPayload {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3F,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }
}

/// One telephone-event packet to send this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPacket {
    pub marker: bool,
    pub timestamp: u32,
    pub payload: EventPayload,
}

#[derive(Debug, Clone, Copy)]
struct Active {
    event: u8,
    ts: u32,
    updates_sent: u32,
    ends_sent: u32,
}

/// The sending side (sans-IO): queue digits, call [`DtmfSender::tick`] once
/// per audio frame.
#[derive(Debug, Clone)]
pub struct DtmfSender {
    queue: VecDeque<u8>,
    active: Option<Active>,
    gap_left: u32,
    /// Packets carrying the growing event before it ends.
    pub updates: u32,
    /// Ticks of audio between two digits.
    pub gap_ticks: u32,
    pub volume: u8,
}

impl Default for DtmfSender {
    fn default() -> Self {
        DtmfSender {
            queue: VecDeque::new(),
            active: None,
            gap_left: 0,
            updates: 3,
            gap_ticks: 2,
            volume: 10,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a DTMF digit (0-9, *, #, A-D)")]
pub struct NotADigit(pub char);

impl DtmfSender {
    pub fn push(&mut self, digit: char) -> Result<(), NotADigit> {
        let code = event_code(digit).ok_or(NotADigit(digit))?;
        self.queue.push_back(code);
        Ok(())
    }

    /// Is an event being sent or waiting?
    pub fn busy(&self) -> bool {
        self.active.is_some() || !self.queue.is_empty()
    }

    /// One frame tick at the audio timestamp `ts` (frames of `samples`).
    /// `Some` means send this packet instead of audio this tick.
    pub fn tick(&mut self, ts: u32, samples: u32) -> Option<DtmfPacket> {
        if self.active.is_none() {
            if self.gap_left > 0 {
                self.gap_left -= 1;
                return None;
            }
            let event = self.queue.pop_front()?;
            self.active = Some(Active {
                event,
                ts,
                updates_sent: 0,
                ends_sent: 0,
            });
        }
        let a = self.active.as_mut()?;
        let packet = if a.updates_sent < self.updates {
            a.updates_sent += 1;
            DtmfPacket {
                marker: a.updates_sent == 1,
                timestamp: a.ts,
                payload: EventPayload {
                    event: a.event,
                    end: false,
                    volume: self.volume,
                    duration: (a.updates_sent * samples).min(0xFFFF) as u16,
                },
            }
        } else {
            a.ends_sent += 1;
            DtmfPacket {
                marker: false,
                timestamp: a.ts,
                payload: EventPayload {
                    event: a.event,
                    end: true,
                    volume: self.volume,
                    duration: (self.updates * samples).min(0xFFFF) as u16,
                },
            }
        };
        if a.ends_sent >= 3 {
            self.active = None;
            self.gap_left = self.gap_ticks;
        }
        Some(packet)
    }
}

/// The receiving side: each event once.
#[derive(Debug, Clone, Default)]
pub struct DtmfReceiver {
    last: Option<(u32, u8)>,
}

impl DtmfReceiver {
    /// A telephone-event packet arrived; returns the digit if it is a new event.
    pub fn on_packet(&mut self, ts: u32, payload: &[u8]) -> Option<char> {
        let p = EventPayload::parse(payload)?;
        let key = (ts, p.event);
        if self.last == Some(key) {
            return None;
        }
        self.last = Some(key);
        event_char(p.event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in "0123456789*#ABCD".chars() {
            assert_eq!(event_char(event_code(c).unwrap()), Some(c));
        }
        assert_eq!(event_code('a'), Some(12));
        assert_eq!(event_code('x'), None);
        assert_eq!(event_char(16), None);
    }

    #[test]
    fn a_digit_is_three_updates_then_three_ends() {
        let mut s = DtmfSender::default();
        s.push('5').unwrap();
        assert_eq!(s.push('z'), Err(NotADigit('z')));
        let mut ts = 1000u32;
        let mut sent = Vec::new();
        for _ in 0..10 {
            if let Some(p) = s.tick(ts, 160) {
                sent.push(p);
            }
            ts += 160;
        }
        assert_eq!(sent.len(), 6);
        assert!(
            sent.iter()
                .all(|p| p.timestamp == 1000 && p.payload.event == 5)
        );
        assert_eq!(
            sent.iter().map(|p| p.marker).collect::<Vec<_>>(),
            [true, false, false, false, false, false]
        );
        assert_eq!(
            sent.iter()
                .map(|p| (p.payload.end, p.payload.duration))
                .collect::<Vec<_>>(),
            [
                (false, 160),
                (false, 320),
                (false, 480),
                (true, 480),
                (true, 480),
                (true, 480)
            ]
        );
        assert!(!s.busy());
        let b = sent[3].payload.to_bytes();
        assert_eq!(b, [5, 0x80 | 10, 0x01, 0xE0]);
        assert_eq!(EventPayload::parse(&b), Some(sent[3].payload));
    }

    #[test]
    fn queued_digits_are_separated_by_a_gap() {
        let mut s = DtmfSender::default();
        s.push('1').unwrap();
        s.push('#').unwrap();
        let ticks: Vec<Option<DtmfPacket>> = (0..16).map(|i| s.tick(i * 160, 160)).collect();
        assert!(ticks[..6].iter().all(Option::is_some));
        assert!(ticks[6].is_none() && ticks[7].is_none());
        let second = ticks[8].unwrap();
        assert!(second.marker);
        assert_eq!(second.timestamp, 8 * 160);
        assert_eq!(second.payload.event, 11);
    }

    #[test]
    fn receiver_reports_each_event_once() {
        let mut s = DtmfSender::default();
        let mut r = DtmfReceiver::default();
        for d in ['7', '7', 'D'] {
            s.push(d).unwrap();
        }
        let mut got = String::new();
        for i in 0..40u32 {
            if let Some(p) = s.tick(i * 160, 160) {
                let bytes = p.payload.to_bytes();
                // Every packet arrives twice (a duplicating network).
                for _ in 0..2 {
                    if let Some(c) = r.on_packet(p.timestamp, &bytes) {
                        got.push(c);
                    }
                }
            }
        }
        assert_eq!(got, "77D");
        assert_eq!(r.on_packet(0, &[1, 2]), None, "short payloads are ignored");
    }

    #[test]
    fn receiver_reports_an_event_whose_start_was_lost() {
        let mut r = DtmfReceiver::default();
        let end = EventPayload {
            event: 9,
            end: true,
            volume: 10,
            duration: 480,
        }
        .to_bytes();
        assert_eq!(r.on_packet(5000, &end), Some('9'));
        assert_eq!(r.on_packet(5000, &end), None);
    }
}
