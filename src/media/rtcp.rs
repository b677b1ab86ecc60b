//! RTCP sender and receiver reports (RFC 3550 §6.4), SDES CNAME (§6.5),
//! BYE (§6.6), round-trip time from LSR/DLSR (§6.4.1), and an E-model
//! MOS estimate (ITU-T G.107, simplified for G.711).
//!
//! ```text
//! SR: |V=2|P|  RC   | PT=200 | length | SSRC | NTP msw | NTP lsw | RTP ts | packets | octets | blocks…
//! RR: |V=2|P|  RC   | PT=201 | length | SSRC | blocks…
//! block: SSRC | fraction lost (8) | cumulative lost (24) | ext. highest seq | jitter | LSR | DLSR
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::rtp::ReceptionReport;

pub const PT_SR: u8 = 200;
pub const PT_RR: u8 = 201;
pub const PT_SDES: u8 = 202;
pub const PT_BYE: u8 = 203;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderInfo {
    /// 64-bit NTP timestamp (seconds since 1900 in the high 32 bits).
    pub ntp: u64,
    pub rtp_ts: u32,
    pub packets: u32,
    pub octets: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock {
    pub ssrc: u32,
    pub fraction_lost: u8,
    pub cumulative_lost: i32,
    pub extended_max_seq: u32,
    pub jitter: u32,
    /// Middle 32 bits of the last SR's NTP time from this source (0: none).
    pub lsr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub dlsr: u32,
}

impl ReportBlock {
    pub fn from_reception(ssrc: u32, r: ReceptionReport, lsr: u32, dlsr: u32) -> ReportBlock {
        ReportBlock {
            ssrc,
            fraction_lost: r.fraction_lost,
            cumulative_lost: r.cumulative_lost,
            extended_max_seq: r.extended_max_seq,
            jitter: r.jitter,
            lsr,
            dlsr,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket {
    SenderReport {
        ssrc: u32,
        info: SenderInfo,
        blocks: Vec<ReportBlock>,
    },
    ReceiverReport {
        ssrc: u32,
        blocks: Vec<ReportBlock>,
    },
    Sdes {
        ssrc: u32,
        cname: Option<String>,
    },
    Bye {
        ssrcs: Vec<u32>,
    },
    Other {
        packet_type: u8,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    #[error("RTCP packet truncated")]
    Truncated,
    #[error("not RTCP version 2")]
    Version,
}

/// NTP time of a wall-clock instant (RFC 5905 era 0).
pub fn ntp_time(t: SystemTime) -> u64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = d.as_secs() + 2_208_988_800;
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// The middle 32 bits of an NTP timestamp (the LSR / RTT unit: 1/65536 s).
pub fn ntp_middle(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// Round-trip time from a report block (§6.4.1): A − LSR − DLSR.
pub fn rtt(arrival_ntp: u64, block: &ReportBlock) -> Option<Duration> {
    if block.lsr == 0 {
        return None;
    }
    let a = ntp_middle(arrival_ntp);
    let units = a.wrapping_sub(block.lsr).wrapping_sub(block.dlsr);
    // A negative result (clock trouble) wraps to a huge value: reject it.
    if units > 0x0100_0000 {
        return None;
    }
    Some(Duration::from_micros(u64::from(units) * 1_000_000 / 65536))
}

fn header(out: &mut Vec<u8>, count: u8, pt: u8) -> usize {
    let at = out.len();
    out.push(0x80 | (count & 0x1F));
    out.push(pt);
    out.extend_from_slice(&[0, 0]);
    at
}

fn finish(out: &mut [u8], at: usize) {
    let words = ((out.len() - at) / 4 - 1) as u16;
    out[at + 2..at + 4].copy_from_slice(&words.to_be_bytes());
}

fn block(out: &mut Vec<u8>, b: &ReportBlock) {
    out.extend_from_slice(&b.ssrc.to_be_bytes());
    let lost = (b.cumulative_lost.clamp(-(1 << 23), (1 << 23) - 1) as u32) & 0x00FF_FFFF;
    out.extend_from_slice(&((u32::from(b.fraction_lost) << 24) | lost).to_be_bytes());
    out.extend_from_slice(&b.extended_max_seq.to_be_bytes());
    out.extend_from_slice(&b.jitter.to_be_bytes());
    out.extend_from_slice(&b.lsr.to_be_bytes());
    out.extend_from_slice(&b.dlsr.to_be_bytes());
}

/// A compound packet: SR (when we sent since the last report) or RR, then
/// SDES CNAME (RFC 3550 §6.1: every compound packet carries it).
pub fn build_report(
    ssrc: u32,
    sender: Option<SenderInfo>,
    blocks: &[ReportBlock],
    cname: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    let blocks = &blocks[..blocks.len().min(31)];
    let at = match sender {
        Some(info) => {
            let at = header(&mut out, blocks.len() as u8, PT_SR);
            out.extend_from_slice(&ssrc.to_be_bytes());
            out.extend_from_slice(&info.ntp.to_be_bytes());
            out.extend_from_slice(&info.rtp_ts.to_be_bytes());
            out.extend_from_slice(&info.packets.to_be_bytes());
            out.extend_from_slice(&info.octets.to_be_bytes());
            at
        }
        None => {
            let at = header(&mut out, blocks.len() as u8, PT_RR);
            out.extend_from_slice(&ssrc.to_be_bytes());
            at
        }
    };
    for b in blocks {
        block(&mut out, b);
    }
    finish(&mut out, at);
    let at = header(&mut out, 1, PT_SDES);
    out.extend_from_slice(&ssrc.to_be_bytes());
    let name = &cname.as_bytes()[..cname.len().min(255)];
    out.push(1);
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    // End of items (a zero octet), padded to a 32-bit boundary.
    out.push(0);
    while out.len() % 4 != 0 {
        out.push(0);
    }
    finish(&mut out, at);
    out
}

/// A BYE for our source (appended to a final report).
pub fn build_bye(ssrc: u32, out: &mut Vec<u8>) {
    let at = header(out, 1, PT_BYE);
    out.extend_from_slice(&ssrc.to_be_bytes());
    finish(out, at);
}

fn be32(b: &[u8], at: usize) -> Result<u32, RtcpError> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or(RtcpError::Truncated)
}

fn parse_blocks(b: &[u8], mut at: usize, count: usize) -> Result<Vec<ReportBlock>, RtcpError> {
    let mut v = Vec::with_capacity(count);
    for _ in 0..count {
        let word = be32(b, at + 4)?;
        let raw = word & 0x00FF_FFFF;
        // Sign-extend the 24-bit cumulative loss.
        let lost = ((raw << 8) as i32) >> 8;
        v.push(ReportBlock {
            ssrc: be32(b, at)?,
            fraction_lost: (word >> 24) as u8,
            cumulative_lost: lost,
            extended_max_seq: be32(b, at + 8)?,
            jitter: be32(b, at + 12)?,
            lsr: be32(b, at + 16)?,
            dlsr: be32(b, at + 20)?,
        });
        at += 24;
    }
    Ok(v)
}

/// Every packet of a compound RTCP datagram.
pub fn parse(buf: &[u8]) -> Result<Vec<RtcpPacket>, RtcpError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= buf.len() {
        if buf[at] >> 6 != 2 {
            return Err(RtcpError::Version);
        }
        let count = usize::from(buf[at] & 0x1F);
        let pt = buf[at + 1];
        let len = (usize::from(u16::from_be_bytes([buf[at + 2], buf[at + 3]])) + 1) * 4;
        let p = buf.get(at..at + len).ok_or(RtcpError::Truncated)?;
        out.push(match pt {
            PT_SR => {
                let ntp = (u64::from(be32(p, 8)?) << 32) | u64::from(be32(p, 12)?);
                RtcpPacket::SenderReport {
                    ssrc: be32(p, 4)?,
                    info: SenderInfo {
                        ntp,
                        rtp_ts: be32(p, 16)?,
                        packets: be32(p, 20)?,
                        octets: be32(p, 24)?,
                    },
                    blocks: parse_blocks(p, 28, count)?,
                }
            }
            PT_RR => RtcpPacket::ReceiverReport {
                ssrc: be32(p, 4)?,
                blocks: parse_blocks(p, 8, count)?,
            },
            PT_SDES => {
                let ssrc = be32(p, 4)?;
                let mut cname = None;
                let mut i = 8;
                while i + 2 <= p.len() && p[i] != 0 {
                    let (kind, n) = (p[i], usize::from(p[i + 1]));
                    let text = p.get(i + 2..i + 2 + n).ok_or(RtcpError::Truncated)?;
                    if kind == 1 {
                        cname = Some(String::from_utf8_lossy(text).into_owned());
                    }
                    i += 2 + n;
                }
                RtcpPacket::Sdes { ssrc, cname }
            }
            PT_BYE => RtcpPacket::Bye {
                ssrcs: (0..count)
                    .map(|k| be32(p, 4 + 4 * k))
                    .collect::<Result<_, _>>()?,
            },
            other => RtcpPacket::Other { packet_type: other },
        });
        at += len;
    }
    if at != buf.len() {
        return Err(RtcpError::Truncated);
    }
    Ok(out)
}

/// E-model R factor and MOS (ITU-T G.107, G.113 Appendix I for G.711
/// with packet-loss concealment: Ie = 0, Bpl = 25.1), with random loss.
///
/// `delay_ms` is the one-way mouth-to-ear delay (network + buffers +
/// packetization); `loss_pct` counts packets lost or discarded as late.
pub fn mos(delay_ms: f64, loss_pct: f64) -> f64 {
    const R0: f64 = 93.2;
    const IE: f64 = 0.0;
    const BPL: f64 = 25.1;
    let d = delay_ms.max(0.0);
    let id = 0.024 * d + if d > 177.3 { 0.11 * (d - 177.3) } else { 0.0 };
    let ppl = loss_pct.clamp(0.0, 100.0);
    let ie_eff = IE + (95.0 - IE) * ppl / (ppl + BPL);
    r_to_mos(R0 - id - ie_eff)
}

/// G.107 Annex B: R to MOS (CQE).
pub fn r_to_mos(r: f64) -> f64 {
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sr_with_blocks_and_sdes_round_trips() {
        let info = SenderInfo {
            ntp: 0xE000_0001_8000_0000,
            rtp_ts: 160,
            packets: 50,
            octets: 8000,
        };
        let b = ReportBlock {
            ssrc: 0xAABB_CCDD,
            fraction_lost: 25,
            cumulative_lost: -3,
            extended_max_seq: 70_000,
            jitter: 40,
            lsr: 0x1234_5678,
            dlsr: 65536,
        };
        let buf = build_report(42, Some(info), &[b], "tongdai@host");
        assert_eq!(buf.len() % 4, 0);
        let p = parse(&buf).unwrap();
        assert_eq!(
            p,
            vec![
                RtcpPacket::SenderReport {
                    ssrc: 42,
                    info,
                    blocks: vec![b]
                },
                RtcpPacket::Sdes {
                    ssrc: 42,
                    cname: Some("tongdai@host".into())
                },
            ]
        );
        let mut rr = build_report(7, None, &[], "x");
        build_bye(7, &mut rr);
        let p = parse(&rr).unwrap();
        assert_eq!(
            p[0],
            RtcpPacket::ReceiverReport {
                ssrc: 7,
                blocks: vec![]
            }
        );
        assert_eq!(p[2], RtcpPacket::Bye { ssrcs: vec![7] });
        assert_eq!(parse(&rr[..rr.len() - 2]), Err(RtcpError::Truncated));
        // The first two bytes mark it as RTCP for the RTP demultiplexer.
        assert!(super::super::rtp::is_rtcp(&rr));
    }

    #[test]
    fn rtt_from_lsr_and_dlsr() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let sr_ntp = ntp_time(t0);
        // The peer held our SR for 250 ms; it comes back 330 ms after we sent it.
        let b = ReportBlock {
            ssrc: 1,
            fraction_lost: 0,
            cumulative_lost: 0,
            extended_max_seq: 0,
            jitter: 0,
            lsr: ntp_middle(sr_ntp),
            dlsr: 65536 / 4,
        };
        let arrival = ntp_time(t0 + Duration::from_millis(330));
        let r = rtt(arrival, &b).unwrap();
        assert!((r.as_secs_f64() * 1000.0 - 80.0).abs() < 0.1, "{r:?}");
        assert_eq!(rtt(arrival, &ReportBlock { lsr: 0, ..b }), None);
    }

    #[test]
    fn e_model_mos_is_sane() {
        let clean = mos(40.0, 0.0);
        assert!((4.35..=4.45).contains(&clean), "{clean}");
        let lossy = mos(40.0, 5.0);
        assert!((3.3..4.0).contains(&lossy), "{lossy}");
        let far = mos(400.0, 0.0);
        assert!(far < 3.7, "{far}");
        assert_eq!(r_to_mos(-5.0), 1.0);
        assert!(mos(40.0, 50.0) < 2.0);
    }
}
