//! RTP fixed header (RFC 3550 §5.1), the sender's sequence/timestamp
//! state, and the receiver's statistics (RFC 3550 appendix A.1, A.3, A.8).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//! |                           timestamp                           |
//! |           synchronization source (SSRC) identifier            |
//! |            contributing source (CSRC) identifiers  (CC × 32)  |
//! ```

use std::time::Instant;

pub const VERSION: u8 = 2;
pub const HEADER_LEN: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RtpHeader {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// A parsed packet borrowing its payload (CSRCs, extension and padding skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub header: RtpHeader,
    pub payload: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    #[error("packet shorter than its headers")]
    Truncated,
    #[error("RTP version {0}, expected 2")]
    Version(u8),
    #[error("bad padding length")]
    Padding,
}

impl RtpHeader {
    /// Appends the 12-byte header to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.push(VERSION << 6);
        out.push((u8::from(self.marker) << 7) | (self.payload_type & 0x7F));
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
    }
}

/// Is this datagram RTCP rather than RTP (RFC 5761 §4: PT 64–95 after
/// masking the marker, i.e. RTCP packet types 192–223)?
pub fn is_rtcp(buf: &[u8]) -> bool {
    buf.len() >= 2 && (192..=223).contains(&buf[1])
}

pub fn parse(buf: &[u8]) -> Result<RtpPacket<'_>, RtpError> {
    if buf.len() < HEADER_LEN {
        return Err(RtpError::Truncated);
    }
    let version = buf[0] >> 6;
    if version != VERSION {
        return Err(RtpError::Version(version));
    }
    let padding = buf[0] & 0x20 != 0;
    let extension = buf[0] & 0x10 != 0;
    let cc = usize::from(buf[0] & 0x0F);
    let header = RtpHeader {
        marker: buf[1] & 0x80 != 0,
        payload_type: buf[1] & 0x7F,
        sequence: u16::from_be_bytes([buf[2], buf[3]]),
        timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
        ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
    };
    let mut start = HEADER_LEN + 4 * cc;
    if buf.len() < start {
        return Err(RtpError::Truncated);
    }
    if extension {
        // RFC 3550 §5.3.1: 16-bit profile id, 16-bit length in words.
        let ext = buf.get(start..start + 4).ok_or(RtpError::Truncated)?;
        let words = usize::from(u16::from_be_bytes([ext[2], ext[3]]));
        start += 4 + 4 * words;
        if buf.len() < start {
            return Err(RtpError::Truncated);
        }
    }
    let mut end = buf.len();
    if padding {
        let pad = usize::from(buf[end - 1]);
        if pad == 0 || end - start < pad {
            return Err(RtpError::Padding);
        }
        end -= pad;
    }
    Ok(RtpPacket {
        header,
        payload: &buf[start..end],
    })
}

/// The sending side of one RTP stream: SSRC, next sequence number, and a
/// timestamp that advances with the sampling clock whether or not packets
/// go out (RFC 3550 §5.1: the timestamp reflects the sampling instant).
#[derive(Debug, Clone)]
pub struct RtpSender {
    pub ssrc: u32,
    seq: u16,
    ts: u32,
    pub packets: u32,
    pub octets: u32,
    /// Set the marker on the next audio packet (first packet, after a silence).
    talkspurt: bool,
}

impl RtpSender {
    /// Random initial sequence and timestamp (RFC 3550 §5.1).
    pub fn new(ssrc: u32, initial_seq: u16, initial_ts: u32) -> RtpSender {
        RtpSender {
            ssrc,
            seq: initial_seq,
            ts: initial_ts,
            packets: 0,
            octets: 0,
            talkspurt: true,
        }
    }

    /// The timestamp of the current frame.
    pub fn timestamp(&self) -> u32 {
        self.ts
    }

    /// Advance the sampling clock by one frame (sent or not).
    pub fn tick(&mut self, samples: u32) {
        self.ts = self.ts.wrapping_add(samples);
    }

    /// The next packet sent after this call starts a talk spurt (marker set).
    pub fn mark_talkspurt(&mut self) {
        self.talkspurt = true;
    }

    /// Write one packet of audio at the current timestamp into `out` (cleared first).
    pub fn audio(&mut self, pt: u8, payload: &[u8], out: &mut Vec<u8>) {
        let marker = std::mem::take(&mut self.talkspurt);
        self.packet(pt, marker, self.ts, payload, out);
    }

    /// Write one packet with an explicit marker and timestamp (telephone events).
    pub fn packet(&mut self, pt: u8, marker: bool, ts: u32, payload: &[u8], out: &mut Vec<u8>) {
        out.clear();
        RtpHeader {
            marker,
            payload_type: pt,
            sequence: self.seq,
            timestamp: ts,
            ssrc: self.ssrc,
        }
        .write(out);
        out.extend_from_slice(payload);
        self.seq = self.seq.wrapping_add(1);
        self.packets = self.packets.wrapping_add(1);
        self.octets = self.octets.wrapping_add(payload.len() as u32);
    }
}

/// RFC 3550 §A.8 interarrival jitter, in timestamp units (×16 fixed point
/// kept as f64 for clarity).
#[derive(Debug, Clone, Default)]
pub struct InterarrivalJitter {
    last: Option<(f64, u32)>,
    jitter: f64,
}

impl InterarrivalJitter {
    /// `arrival` is the packet's arrival time in timestamp units.
    pub fn update(&mut self, arrival: f64, ts: u32) {
        if let Some((a, t)) = self.last {
            let transit_delta = (arrival - a) - f64::from(ts.wrapping_sub(t) as i32);
            self.jitter += (transit_delta.abs() - self.jitter) / 16.0;
        }
        self.last = Some((arrival, ts));
    }

    /// Current estimate in timestamp units.
    pub fn units(&self) -> f64 {
        self.jitter
    }

    pub fn reset(&mut self) {
        self.last = None;
    }
}

/// Per-source reception statistics for receiver reports (RFC 3550 §A.1, §A.3).
#[derive(Debug, Clone)]
pub struct ReceiverStats {
    pub ssrc: u32,
    clock_rate: u32,
    epoch: Instant,
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    jitter: InterarrivalJitter,
    started: bool,
}

const MAX_DROPOUT: u16 = 3000;
const MAX_MISORDER: u16 = 100;
const RTP_SEQ_MOD: u32 = 1 << 16;

/// What one receiver report block says about a source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReceptionReport {
    pub fraction_lost: u8,
    pub cumulative_lost: i32,
    pub extended_max_seq: u32,
    /// In timestamp units.
    pub jitter: u32,
}

impl ReceiverStats {
    pub fn new(ssrc: u32, seq: u16, clock_rate: u32, epoch: Instant) -> ReceiverStats {
        let mut s = ReceiverStats {
            ssrc,
            clock_rate,
            epoch,
            max_seq: seq,
            cycles: 0,
            base_seq: u32::from(seq),
            bad_seq: RTP_SEQ_MOD + 1,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            jitter: InterarrivalJitter::default(),
            started: false,
        };
        s.init_seq(seq);
        s
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = RTP_SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// Account for one packet (RFC 3550 §A.1 `update_seq`, without probation:
    /// a softphone has one source, chosen by the SDP).
    pub fn update(&mut self, now: Instant, seq: u16, ts: u32) {
        if !self.started {
            self.started = true;
            self.init_seq(seq);
        } else {
            let udelta = seq.wrapping_sub(self.max_seq);
            if udelta < MAX_DROPOUT {
                if seq < self.max_seq {
                    self.cycles += RTP_SEQ_MOD;
                }
                self.max_seq = seq;
            } else if u32::from(udelta) <= RTP_SEQ_MOD - u32::from(MAX_MISORDER) {
                // A very large jump: restart if two sequential packets agree.
                if u32::from(seq) == self.bad_seq {
                    self.init_seq(seq);
                } else {
                    self.bad_seq = (u32::from(seq) + 1) & (RTP_SEQ_MOD - 1);
                    return;
                }
            }
            // else: duplicate or reordered packet, counted below.
        }
        self.received += 1;
        let arrival =
            now.saturating_duration_since(self.epoch).as_secs_f64() * f64::from(self.clock_rate);
        self.jitter.update(arrival, ts);
    }

    pub fn extended_max(&self) -> u32 {
        self.cycles + u32::from(self.max_seq)
    }

    pub fn expected(&self) -> u32 {
        self.extended_max()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1)
    }

    pub fn lost(&self) -> i32 {
        (i64::from(self.expected()) - i64::from(self.received)).clamp(-(1 << 23), (1 << 23) - 1)
            as i32
    }

    pub fn jitter_ms(&self) -> f64 {
        self.jitter.units() * 1000.0 / f64::from(self.clock_rate)
    }

    pub fn received(&self) -> u32 {
        self.received
    }

    /// A report block's figures; advances the "since last report" interval.
    pub fn report(&mut self) -> ReceptionReport {
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = i64::from(expected_interval) - i64::from(received_interval);
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / i64::from(expected_interval)).min(255) as u8
        };
        ReceptionReport {
            fraction_lost,
            cumulative_lost: self.lost(),
            extended_max_seq: self.extended_max(),
            jitter: self.jitter.units() as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn header_round_trip() {
        let mut s = RtpSender::new(0xDEAD_BEEF, 65535, 0xFFFF_FF00);
        let mut buf = Vec::new();
        s.audio(8, &[1, 2, 3], &mut buf);
        assert_eq!(buf.len(), 15);
        let p = parse(&buf).unwrap();
        assert_eq!(
            p.header,
            RtpHeader {
                marker: true,
                payload_type: 8,
                sequence: 65535,
                timestamp: 0xFFFF_FF00,
                ssrc: 0xDEAD_BEEF
            }
        );
        assert_eq!(p.payload, &[1, 2, 3]);
        s.tick(160);
        s.audio(8, &[4], &mut buf);
        let p = parse(&buf).unwrap();
        assert!(
            !p.header.marker,
            "marker only on the first packet of a spurt"
        );
        assert_eq!(p.header.sequence, 0, "sequence wraps");
        assert_eq!(p.header.timestamp, 0xFFFF_FF00u32.wrapping_add(160));
        assert_eq!(s.packets, 2);
        assert_eq!(s.octets, 4);
    }

    #[test]
    fn parses_csrc_extension_and_padding() {
        let mut b = vec![0x80 | 0x20 | 0x10 | 2, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        b.extend_from_slice(&[0; 8]); // two CSRCs
        b.extend_from_slice(&[0xBE, 0xDE, 0, 1, 9, 9, 9, 9]); // one-word extension
        b.extend_from_slice(&[7, 7]); // payload
        b.extend_from_slice(&[0, 0, 3]); // padding of 3
        let p = parse(&b).unwrap();
        assert_eq!(p.payload, &[7, 7]);
        assert_eq!(parse(&b[..5]), Err(RtpError::Truncated));
        let mut v1 = b.clone();
        v1[0] = 0x40;
        assert_eq!(parse(&v1), Err(RtpError::Version(1)));
        let mut badpad = b.clone();
        *badpad.last_mut().unwrap() = 200;
        assert_eq!(parse(&badpad), Err(RtpError::Padding));
    }

    #[test]
    fn rtcp_demux() {
        assert!(is_rtcp(&[0x80, 200, 0, 6]));
        assert!(is_rtcp(&[0x81, 201, 0, 7]));
        assert!(!is_rtcp(&[0x80, 0x80, 0, 0]));
        assert!(!is_rtcp(&[0x80, 101]));
    }

    #[test]
    fn receiver_stats_count_loss_wrap_and_jitter() {
        let t0 = Instant::now();
        let mut r = ReceiverStats::new(1, 65530, 8000, t0);
        // 20 packets across the wrap, two lost, one duplicated; steady arrival.
        let mut n = 0;
        for i in 0..20u16 {
            let seq = 65530u16.wrapping_add(i);
            let at = t0 + Duration::from_millis(20 * u64::from(i));
            if i == 5 || i == 9 {
                continue;
            }
            r.update(at, seq, u32::from(i) * 160);
            n += 1;
            if i == 12 {
                r.update(at, seq, u32::from(i) * 160);
                n += 1;
            }
        }
        assert_eq!(r.received(), n);
        assert_eq!(r.expected(), 20);
        assert_eq!(r.extended_max(), 65536 + 13);
        // One duplicate offsets one loss in the cumulative count (RFC 3550 §6.4.1).
        assert_eq!(r.lost(), 1);
        assert!(r.jitter_ms() < 0.01);
        let rep = r.report();
        assert_eq!(rep.cumulative_lost, 1);
        assert_eq!(rep.fraction_lost, (256 / 20) as u8);
        let rep2 = r.report();
        assert_eq!(rep2.fraction_lost, 0);
    }

    #[test]
    fn jitter_follows_rfc3550_a8() {
        let mut j = InterarrivalJitter::default();
        // Alternate 0 and 80 units of extra delay: |D| = 80 every packet.
        for i in 0..200u32 {
            let extra = if i % 2 == 0 { 0.0 } else { 80.0 };
            j.update(f64::from(i * 160) + extra, i * 160);
        }
        assert!((j.units() - 80.0).abs() < 1.0, "{}", j.units());
    }
}
