//! RTCP compound packets from the peer (src/media/rtcp.rs), as the media
//! session reads them: parse, take the last SR's NTP middle bits, and the
//! round-trip time from every report block; then build our own report and
//! BYE from what was parsed and read them back.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use tongdai::media::rtcp::{self, RtcpPacket};

fuzz_target!(|data: &[u8]| {
    let Ok(packets) = rtcp::parse(data) else {
        return;
    };
    let arrival = rtcp::ntp_time(UNIX_EPOCH + Duration::from_secs(1_767_225_600));
    for p in &packets {
        let blocks = match p {
            RtcpPacket::SenderReport { info, blocks, .. } => {
                let _ = rtcp::ntp_middle(info.ntp);
                blocks
            }
            RtcpPacket::ReceiverReport { blocks, .. } => blocks,
            _ => continue,
        };
        for b in blocks {
            if let Some(rtt) = rtcp::rtt(arrival, b) {
                let ms = rtt.as_secs_f64() * 1000.0;
                let _ = rtcp::mos(ms / 2.0, f64::from(b.fraction_lost) * 100.0 / 256.0);
            }
        }
        // Our report built from the same fields must read back the same.
        let (ssrc, sender) = match p {
            RtcpPacket::SenderReport { ssrc, info, .. } => (*ssrc, Some(*info)),
            RtcpPacket::ReceiverReport { ssrc, .. } => (*ssrc, None),
            _ => continue,
        };
        if blocks.len() <= 31 {
            let mut ours = rtcp::build_report(ssrc, sender, blocks, "fuzz@tongdai");
            rtcp::build_bye(ssrc, &mut ours);
            let back = rtcp::parse(&ours).expect("our own report must parse");
            assert_eq!(back.first(), Some(p));
        }
    }
});
