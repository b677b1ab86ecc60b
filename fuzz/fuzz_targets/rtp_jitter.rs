//! Datagrams from the peer's RTP port through the receive path of the media
//! session (src/media/session.rs `on_datagram` and the speaker loop): RTCP
//! demux and parse, RTP parse, receiver statistics, RFC 4733 telephone
//! events, the jitter buffer (src/media/jitter.rs), and the playout
//! (src/media/playout.rs) decoding, concealing or time-scaling what it pops.
//!
//! Input: byte 0 picks the codec (G.711 or G.722, 20 or 40 ms frames), then
//! records of `[advance ms] [pops] [len: u16 BE] [len bytes of datagram]`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tongdai::media::audio_codec::{AudioCodec, Decoder};
use tongdai::media::dtmf::{DtmfReceiver, EventPayload};
use tongdai::media::jitter::{JitterBuffer, JitterConfig};
use tongdai::media::playout::Playout;
use tongdai::media::rtcp;
use tongdai::media::rtp::{self, ReceiverStats, RtpHeader, RtpPacket};
use tongdai_fuzz::FakeClock;

const TE_PT: u8 = 101;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let codec = [AudioCodec::Pcmu, AudioCodec::Pcma, AudioCodec::G722][usize::from(mode % 3)];
    let frame_ms: u32 = if mode & 0x80 != 0 { 40 } else { 20 };
    let pcm_rate = if codec == AudioCodec::G722 {
        16_000
    } else {
        8_000
    };
    let clock_rate = codec.clock_rate();
    let slot = clock_rate * frame_ms / 1000;
    let Ok(mut dec) = Decoder::new(codec, pcm_rate) else {
        return;
    };
    let mut jitter = JitterBuffer::new(JitterConfig {
        clock_rate,
        frame_samples: slot,
        ..JitterConfig::default()
    });
    let mut clock = FakeClock::new();
    let mut stats: Option<ReceiverStats> = None;
    let mut dtmf = DtmfReceiver::default();
    let mut playout = Playout::new(pcm_rate, clock_rate);
    let want = (pcm_rate / 50) as usize;

    while let [advance, pops, hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (buf, next) = tail.split_at(len);
        rest = next;
        clock.advance_ms(u64::from(*advance));
        let now = clock.now;

        if rtp::is_rtcp(buf) {
            let _ = rtcp::parse(buf);
        } else if let Ok(p) = rtp::parse(buf) {
            let h = p.header;
            match &mut stats {
                Some(s) if s.ssrc == h.ssrc => s.update(now, h.sequence, h.timestamp),
                _ => {
                    let mut s = ReceiverStats::new(h.ssrc, h.sequence, clock_rate, now);
                    s.update(now, h.sequence, h.timestamp);
                    stats = Some(s);
                }
            }
            if h.payload_type == TE_PT {
                let _ = dtmf.on_packet(h.timestamp, p.payload);
                if let Some(ev) = EventPayload::parse(p.payload)
                    && !ev.end
                    && u32::from(ev.duration) >= slot
                {
                    let silence = RtpPacket {
                        header: RtpHeader {
                            payload_type: codec.static_pt().unwrap_or(0),
                            timestamp: h.timestamp.wrapping_add(u32::from(ev.duration) - slot),
                            marker: false,
                            ..h
                        },
                        payload: &[],
                    };
                    jitter.push(now, &silence, slot);
                }
            } else {
                let ticks = dec.clock_samples(p.payload);
                jitter.push(now, &p, ticks);
            }
        }
        // Up to 7 speaker ticks of 20 ms, as the session's loop runs them:
        // the playout pops, decodes or conceals, and carries out the
        // buffer's accelerate / expand on the decoded audio; the top bit
        // of `pops` is a tick with receiving off (hold: silence).
        for _ in 0..(pops & 7) {
            if pops & 0x80 != 0 {
                playout.pad(want);
            } else {
                playout.fill(&mut jitter, now, want, &mut dec);
            }
            let n = want.min(playout.pcm().len());
            playout.consume(n);
        }
        let _ = (jitter.stats(), jitter.buffered_ms(), playout.stats());
        if let Some(s) = &mut stats {
            let _ = (s.report(), s.jitter_ms(), s.lost());
        }
    }
});
