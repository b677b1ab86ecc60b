//! pcaps of RTP and a SIPp answering scenario that plays one: a far end
//! whose packets we script (timing included) sent by a real SIP peer.

use std::path::{Path, PathBuf};

/// A pcap (Ethernet / IPv4 / UDP / RTP) of RTP packets, each sent
/// `µs` after the first (SIPp's `play_pcap_audio` keeps these gaps).
pub fn write_pcap_us(path: &Path, packets: &[(u64, Vec<u8>)]) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (at_us, rtp) in packets {
        let udp_len = 8 + rtp.len();
        let ip_len = 20 + udp_len;
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        frame.extend_from_slice(&[
            0x45,
            0,
            (ip_len >> 8) as u8,
            ip_len as u8,
            0,
            0,
            0x40,
            0,
            64,
            17,
            0,
            0,
        ]);
        frame.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        frame.extend_from_slice(&[
            0x13,
            0x88,
            0x07,
            0xd6,
            (udp_len >> 8) as u8,
            udp_len as u8,
            0,
            0,
        ]);
        frame.extend_from_slice(rtp);
        out.extend_from_slice(&((at_us / 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((at_us % 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&frame);
    }
    std::fs::write(path, out).expect("pcap");
}

/// The same, with times in ms.
pub fn write_pcap(path: &Path, packets: &[(u32, Vec<u8>)]) {
    let us: Vec<(u64, Vec<u8>)> = packets
        .iter()
        .map(|(ms, p)| (u64::from(*ms) * 1000, p.clone()))
        .collect();
    write_pcap_us(path, &us);
}

/// SIPp as the answering phone: 200 OK offering payload type `pt`
/// (`name`/8000), then plays `pcap` to our SDP's address, then waits for
/// our BYE and answers it `bye_pause_ms` later.
pub fn uas_play_pcap(dir: &Path, pcap: &Path, pt: u8, name: &str, bye_pause_ms: u32) -> PathBuf {
    let xml = format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="answer and play a pcap">
  <recv request="INVITE" crlf="true"/>
  <send retrans="500">
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=sipp 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP {pt} 101
a=rtpmap:{pt} {name}/8000
a=rtpmap:101 telephone-event/8000
]]>
  </send>
  <recv request="ACK" crlf="true"/>
  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>
  <recv request="BYE"/>
  <pause milliseconds="{bye_pause_ms}"/>
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]>
  </send>
</scenario>
"#,
        pcap = pcap.display(),
    );
    let p = dir.join("uas_play_pcap.xml");
    std::fs::write(&p, xml).expect("scenario");
    p
}
