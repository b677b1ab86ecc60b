//! A real far end: SIPp answers our INVITE and plays RTP from a pcap
//! (`<exec play_pcap_audio=…>`) to the address in our SDP, while our
//! MediaSession records what it hears.
//!
//! - a PCMA 1000 Hz tone pcap made here: the tone is found in the
//!   recording (frequency ± 3 Hz, level);
//! - SIPp's own `/usr/share/sip-tester/g711a.pcap` (speech, 30 ms
//!   packets): the recording matches the pcap's decoded audio sample for
//!   sample (normalised cross-correlation), so ptime other than 20 ms,
//!   PCMA decoding and the jitter buffer lose nothing;
//! - SIPp's RFC 2833/4733 `dtmf_2833_*.pcap`: the digits are reported once each.

mod common;

use common::pcap::write_pcap;

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tongdai::engine::CallEvent;

use tongdai::media::codec::G711;
use tongdai::media::device::read_wav;
use tongdai::media::tone;
use tongdai::media::{FileDevice, MediaParams, MediaReport, MediaSession, Playback};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tongdai-audio-sipp-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

fn have_sipp() -> bool {
    let ok = Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        assert!(
            std::env::var("CI").is_err(),
            "sipp is not installed (tests/peers/install.sh)"
        );
        eprintln!("SKIP: sipp is not installed");
    }
    ok
}

fn free_udp() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// SIPp as the answering phone: 200 OK with `law` (PCMA or PCMU), then
/// the pcap, then BYE from us.
fn scenario(dir: &Path, pcap: &Path, law: G711) -> PathBuf {
    let (pt, name) = match law {
        G711::Alaw => (8, "PCMA"),
        G711::Ulaw => (0, "PCMU"),
    };
    common::pcap::uas_play_pcap(dir, pcap, pt, name, 0)
}

struct Sipp(Child);

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Our side of the SIP exchange, by hand: INVITE, 200, ACK … BYE, 200.
struct Uac {
    sock: UdpSocket,
    sipp: SocketAddr,
    call_id: String,
    to_tag: String,
    local: SocketAddr,
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

impl Uac {
    fn invite(sipp: SocketAddr, rtp_port: u16) -> (Uac, SocketAddr) {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let local = sock.local_addr().unwrap();
        let call_id = format!("audio-sipp-{}-{}", std::process::id(), rtp_port);
        let sdp = format!(
            "v=0\r\no=tongdai 1 1 IN IP4 127.0.0.1\r\ns=tongdai\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {rtp_port} RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
        );
        let invite = format!(
            "INVITE sip:sipp@{sipp} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-{rtp_port}-1;rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:agent@127.0.0.1>;tag=t{rtp_port}\r\nTo: <sip:sipp@{sipp}>\r\n\
             Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:agent@{local}>\r\n\
             Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        );
        sock.send_to(invite.as_bytes(), sipp).unwrap();
        let mut buf = vec![0u8; 4096];
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            assert!(Instant::now() < deadline, "no 200 OK from SIPp");
            let (n, _) = sock.recv_from(&mut buf).expect("SIPp answers");
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            if !msg.starts_with("SIP/2.0 200") {
                continue;
            }
            let to = header(&msg, "To").unwrap_or("");
            let to_tag = to.split(";tag=").nth(1).unwrap_or("").to_string();
            let body = msg.split("\r\n\r\n").nth(1).unwrap_or("");
            let ip = body
                .lines()
                .find_map(|l| l.strip_prefix("c=IN IP4 "))
                .unwrap_or("127.0.0.1")
                .trim();
            let port: u16 = body
                .lines()
                .find_map(|l| l.strip_prefix("m=audio "))
                .and_then(|m| m.split_whitespace().next())
                .and_then(|p| p.parse().ok())
                .expect("SIPp's SDP has a media port");
            let uac = Uac {
                sock,
                sipp,
                call_id,
                to_tag,
                local,
            };
            uac.request("ACK", 1, rtp_port);
            return (uac, format!("{ip}:{port}").parse().unwrap());
        }
    }

    fn request(&self, method: &str, cseq: u32, n: u16) {
        let (sipp, local, call_id, to_tag) = (self.sipp, self.local, &self.call_id, &self.to_tag);
        let msg = format!(
            "{method} sip:sipp@{sipp} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-{n}-{method}{cseq};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:agent@127.0.0.1>;tag=t{n}\r\nTo: <sip:sipp@{sipp}>;tag={to_tag}\r\n\
             Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n"
        );
        self.sock.send_to(msg.as_bytes(), sipp).unwrap();
    }

    fn bye(&self, n: u16) {
        self.request("BYE", 2, n);
        let mut buf = vec![0u8; 4096];
        let _ = self.sock.recv_from(&mut buf);
    }
}

/// Call SIPp, let it play `pcap`, record `ms` of what we hear.
async fn call_sipp_playing(name: &str, pcap: &Path, ms: u64, law: G711) -> (Vec<i16>, MediaReport) {
    let dir = tmpdir(name);
    let sf = scenario(&dir, pcap, law);
    let (sip_port, media_port) = (free_udp(), free_udp() & !1);
    let _sipp = Sipp(
        Command::new("sipp")
            .args([
                "-sf",
                sf.to_str().unwrap(),
                "-i",
                "127.0.0.1",
                "-mi",
                "127.0.0.1",
            ])
            .args(["-p", &sip_port.to_string(), "-mp", &media_port.to_string()])
            .args([
                "-m",
                "1",
                "-timeout",
                "30",
                "-timeout_error",
                "-nostdin",
                "-bg",
            ])
            .args([
                "-trace_err",
                "-error_file",
                dir.join("err.log").to_str().unwrap(),
            ])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sipp starts"),
    );
    // -bg forks; give the daemon a moment to bind.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sipp: SocketAddr = format!("127.0.0.1:{sip_port}").parse().unwrap();
    let rtp = common::rtp_socket();
    let rtp_port = rtp.local_addr().unwrap().port();
    let (uac, remote_media) = tokio::task::spawn_blocking(move || Uac::invite(sipp, rtp_port))
        .await
        .unwrap();
    let rec = dir.join("heard.wav");
    let dev = FileDevice::from_samples(
        8000,
        tone::sine(440.0, 0.2, 8000, 1000),
        Playback::Loop,
        Some(&rec),
    )
    .unwrap();
    let session = MediaSession::start(
        rtp,
        remote_media,
        MediaParams::new(law.pt(), Some(101)),
        Box::new(dev),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(ms)).await;
    let report = session.stop().await;
    tokio::task::spawn_blocking(move || uac.bye(rtp_port))
        .await
        .unwrap();
    (read_wav(&rec, 8000).unwrap(), report)
}

/// The RTP payloads of a pcap, decoded as PCMA, in order (PCMU skipped).
fn decode_pcap(path: &Path) -> Vec<i16> {
    let d = std::fs::read(path).expect("pcap");
    let mut at = 24;
    let mut pcm = Vec::new();
    while at + 16 <= d.len() {
        let incl = u32::from_le_bytes(d[at + 8..at + 12].try_into().unwrap()) as usize;
        let p = &d[at + 16..at + 16 + incl];
        at += 16 + incl;
        let ihl = usize::from(p[14] & 15) * 4;
        let rtp = &p[14 + ihl + 8..];
        if rtp[1] & 0x7f == 8 {
            G711::Alaw.decode(&rtp[12..], &mut pcm);
        }
    }
    pcm
}

/// A pcap of `ms` of a 1000 Hz tone at -10.5 dBFS in `law`, 20 ms packets.
fn tone_pcap(pcap: &Path, law: G711, ms: u32) {
    let pcm = tone::sine(1000.0, 0.3, 8000, ms);
    let packets: Vec<(u32, Vec<u8>)> = pcm
        .chunks(160)
        .enumerate()
        .map(|(i, c)| {
            let mut rtp = Vec::new();
            let h = tongdai::media::rtp::RtpHeader {
                marker: i == 0,
                payload_type: law.pt(),
                sequence: i as u16,
                timestamp: 160 * i as u32,
                ssrc: 0x1000,
            };
            h.write(&mut rtp);
            law.encode(c, &mut rtp);
            (20 * i as u32, rtp)
        })
        .collect();
    write_pcap(pcap, &packets);
}

/// Best normalised cross-correlation of `needle` within `hay`.
fn best_correlation(hay: &[i16], needle: &[i16]) -> (f64, usize) {
    let n: Vec<f64> = needle.iter().map(|&v| f64::from(v)).collect();
    let nn: f64 = n.iter().map(|v| v * v).sum::<f64>().sqrt();
    let mut best = (0.0, 0);
    for lag in 0..hay.len().saturating_sub(n.len()) {
        let w = &hay[lag..lag + n.len()];
        let (mut dot, mut ww) = (0.0, 0.0);
        for (a, &b) in n.iter().zip(w) {
            let b = f64::from(b);
            dot += a * b;
            ww += b * b;
        }
        let c = if ww > 0.0 {
            dot / (nn * ww.sqrt())
        } else {
            0.0
        };
        if c > best.0 {
            best = (c, lag);
        }
    }
    best
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_plays_a_1000hz_pcma_tone_and_we_hear_it() {
    sipp_plays_a_1000hz_tone(G711::Alaw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_plays_a_1000hz_pcmu_tone_and_we_hear_it() {
    sipp_plays_a_1000hz_tone(G711::Ulaw).await;
}

async fn sipp_plays_a_1000hz_tone(law: G711) {
    if !have_sipp() {
        return;
    }
    let dir = tmpdir(&format!("tone-{law:?}"));
    let pcap = dir.join("tone1000.pcap");
    tone_pcap(&pcap, law, 3000);
    let (heard, report) = call_sipp_playing(&format!("tone-{law:?}"), &pcap, 3800, law).await;
    let active: Vec<i16> = heard.iter().copied().skip_while(|&s| s == 0).collect();
    assert!(
        active.len() >= 8 * 2500,
        "heard {} samples of tone: {report:?}",
        active.len()
    );
    let d = tone::detect_tone(&active[800..8 * 2500], 8000, 100.0, 3900.0);
    assert!((d.freq - 1000.0).abs() <= 3.0, "{d:?}");
    assert!(d.level_dbfs > -12.0 && d.purity > 0.9, "{d:?}");
    assert!(report.packets_received >= 140, "{report:?}");
    assert_eq!(report.jitter.lost + report.jitter.late, 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_plays_its_g711a_speech_pcap_and_we_record_it_faithfully() {
    if !have_sipp() {
        return;
    }
    let pcap = Path::new("/usr/share/sip-tester/g711a.pcap");
    if !pcap.exists() {
        assert!(std::env::var("CI").is_err(), "SIPp's g711a.pcap is missing");
        return;
    }
    let (heard, report) = call_sipp_playing("speech", pcap, 7800, G711::Alaw).await;
    let sent = decode_pcap(pcap);
    // A 1.5 s stretch of speech from the middle of the pcap.
    let needle = &sent[8000 * 3..8000 * 3 + 12000];
    let (c, lag) = best_correlation(&heard, needle);
    assert!(
        c > 0.98,
        "recording matches the pcap only to {c:.3} (lag {lag}): {report:?}"
    );
    assert!(report.packets_received >= 200, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_plays_rfc2833_digits_and_each_is_reported_once() {
    if !have_sipp() {
        return;
    }
    let dir = tmpdir("dtmf");
    // SIPp's per-digit pcaps, concatenated 300 ms apart with continuous
    // sequence numbers and fresh timestamps.
    let mut packets = Vec::new();
    let mut seq = 0u16;
    for (k, name) in ["5", "pound", "0"].iter().enumerate() {
        let p = PathBuf::from(format!("/usr/share/sip-tester/dtmf_2833_{name}.pcap"));
        let d = std::fs::read(&p).expect("SIPp dtmf pcap");
        let mut at = 24;
        let mut first: Option<u64> = None;
        while at + 16 <= d.len() {
            let sec = u64::from(u32::from_le_bytes(d[at..at + 4].try_into().unwrap()));
            let us = u64::from(u32::from_le_bytes(d[at + 4..at + 8].try_into().unwrap()));
            let incl = u32::from_le_bytes(d[at + 8..at + 12].try_into().unwrap()) as usize;
            let frame = &d[at + 16..at + 16 + incl];
            at += 16 + incl;
            let ihl = usize::from(frame[14] & 15) * 4;
            let mut rtp = frame[14 + ihl + 8..].to_vec();
            let t = sec * 1000 + us / 1000;
            let t0 = *first.get_or_insert(t);
            rtp[1] = (rtp[1] & 0x80) | 101;
            rtp[2..4].copy_from_slice(&seq.to_be_bytes());
            let ts =
                u32::from_be_bytes(rtp[4..8].try_into().unwrap()).wrapping_add(8000 * k as u32);
            rtp[4..8].copy_from_slice(&ts.to_be_bytes());
            rtp[8..12].copy_from_slice(&0x2833u32.to_be_bytes());
            seq = seq.wrapping_add(1);
            packets.push(((t - t0) as u32 + 300 * k as u32, rtp));
        }
    }
    let pcap = dir.join("digits.pcap");
    write_pcap(&pcap, &packets);
    let (_, report) = call_sipp_playing("dtmf", &pcap, 1500, G711::Alaw).await;
    assert_eq!(report.dtmf_received, "5#0", "{report:?}");
}

/// SIPp calling us: INVITE with PCMU only, then a re-INVITE with PCMA
/// only, then a PCMA tone, then BYE. Each 200 must answer the codec just
/// offered (`ereg … check_it` fails the scenario otherwise).
fn reinvite_codec_scenario(dir: &Path, pcap: &Path) -> PathBuf {
    let invite = |cseq: u32, pt: u8, name: &str, first: bool| {
        let (uri, to) = if first {
            ("sip:[service]@[remote_ip]:[remote_port]", "")
        } else {
            ("[next_url]", "[peer_tag_param]")
        };
        let routes = if first { "" } else { "[routes]\n" };
        format!(
            r#"  <send retrans="500">
    <![CDATA[

INVITE {uri} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
{routes}From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>{to}
Call-ID: [call_id]
CSeq: {cseq} INVITE
Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=sipp 1 {cseq} IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP {pt} 101
a=rtpmap:{pt} {name}/8000
a=rtpmap:101 telephone-event/8000
a=sendrecv

]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true">
    <action>
      <ereg regexp="m=audio [0-9]+ RTP/AVP {pt} 101" search_in="body" check_it="true" assign_to="ans{cseq}"/>
    </action>
  </recv>
  <send>
    <![CDATA[

ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
[routes]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: {cseq} ACK
Max-Forwards: 70
Content-Length: 0

]]>
  </send>
"#
        )
    };
    let xml = format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="re-INVITE to another codec">
{first}  <pause milliseconds="1000"/>
{second}  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>
  <pause milliseconds="2500"/>
  <send retrans="500">
    <![CDATA[

BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
[routes]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 3 BYE
Max-Forwards: 70
Content-Length: 0

]]>
  </send>
  <recv response="200" crlf="true"/>
  <nop hide="true"><action><log message="answers: [$ans1] [$ans2]"/></action></nop>
</scenario>
"#,
        first = invite(1, 0, "PCMU", true),
        second = invite(2, 8, "PCMA", false),
        pcap = pcap.display(),
    );
    let p = dir.join("uac_reinvite_codec.xml");
    std::fs::write(&p, xml).expect("scenario");
    p
}

/// A re-INVITE that changes the codec is followed: the answer names the
/// new codec, and the tone SIPp then sends in it reaches our recording.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reinvite_to_another_codec_is_followed() {
    use tongdai::backends::sip::SipBackend;
    use tongdai::engine::{Command as Cmd, EndReason, Event};
    if !have_sipp() {
        return;
    }
    let dir = tmpdir("reinvite-codec");
    let pcap = dir.join("tone-pcma.pcap");
    tone_pcap(&pcap, G711::Alaw, 2000);
    let sf = reinvite_codec_scenario(&dir, &pcap);
    let local = common::free_port();
    let cfg = tongdai::sip::SipConfig {
        bind: format!("127.0.0.1:{local}"),
        ..common::sip_account(
            "alice",
            format!("127.0.0.1:{}", common::free_port()),
            tongdai::sip::Transport::Udp,
            "secret",
            false,
        )
    };
    let audio = tongdai::media::AudioConfig {
        device: tongdai::media::DeviceKind::File,
        record_dir: Some(dir.clone()),
        ..Default::default()
    };
    let t = Duration::from_secs(10);
    let mut c = common::Headless::start(Box::new(SipBackend::new(cfg).with_audio(audio)));
    c.expect("ready", t, |e| *e == Event::Ready).await;
    let media_port = (free_udp() & !1).to_string();
    let mut sipp = common::Sipp::start(
        &["-sf", sf.to_str().unwrap(), &format!("127.0.0.1:{local}")],
        &["-s", "alice", "-mi", "127.0.0.1", "-mp", &media_port],
    );
    c.expect("ringing", t, |e| {
        matches!(e.call_event(), Some(CallEvent::Ringing(_)))
    })
    .await;
    c.send(Cmd::Accept { call: None });
    c.expect("accepted", t, |e| {
        e.call_event() == Some(&CallEvent::Accepted)
    })
    .await;
    c.expect("remote hang-up", t, |e| {
        e.call_event() == Some(&CallEvent::Ended(EndReason::RemoteHangup))
    })
    .await;
    assert!(sipp.wait(t), "both answers named the codec just offered");
    assert!(c.shutdown().await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let heard = read_wav(&dir.join("call-1-heard.wav"), 8000).expect("our recording");
    let active: Vec<i16> = heard.iter().copied().skip_while(|&s| s == 0).collect();
    assert!(active.len() > 8 * 1500, "heard {} samples", active.len());
    let d = tone::detect_tone(&active[800..8 * 1500], 8000, 100.0, 3900.0);
    assert!((d.freq - 1000.0).abs() <= 3.0 && d.purity > 0.8, "{d:?}");
}
