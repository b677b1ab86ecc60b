//! SDP offer/answer for plain RTP audio (RFC 4566, RFC 3264).
//!
//! rsipstack carries SDP as opaque bytes; this is our small model of the one
//! audio stream a softphone needs: address, port, codecs, direction.

use std::fmt::Write as _;
use std::net::IpAddr;

/// Media direction attribute (RFC 3264 §5.1, §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn attr(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The answer's direction for an offer's (RFC 3264 §6.1): a `sendonly`
    /// offer (the peer holds us) is answered `recvonly`, and so on.
    pub fn answer_to(self, we_hold: bool) -> Direction {
        match (self, we_hold) {
            (Direction::SendRecv, false) => Direction::SendRecv,
            (Direction::SendRecv, true) => Direction::SendOnly,
            (Direction::SendOnly, false) => Direction::RecvOnly,
            (Direction::SendOnly, true) => Direction::Inactive,
            (Direction::RecvOnly, false) => Direction::SendOnly,
            (Direction::RecvOnly, true) => Direction::SendOnly,
            (Direction::Inactive, _) => Direction::Inactive,
        }
    }

    /// Does this direction (seen from its sender) put the other side on hold?
    pub fn is_hold(self) -> bool {
        matches!(self, Direction::SendOnly | Direction::Inactive)
    }
}

/// A codec we can speak, with its static or dynamic payload type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec {
    pub pt: u8,
    pub name: &'static str,
    pub rate: u32,
}

pub const PCMU: Codec = Codec {
    pt: 0,
    name: "PCMU",
    rate: 8000,
};
pub const PCMA: Codec = Codec {
    pt: 8,
    name: "PCMA",
    rate: 8000,
};
pub const TELEPHONE_EVENT: Codec = Codec {
    pt: 101,
    name: "telephone-event",
    rate: 8000,
};

/// Codecs in our order of preference.
pub const SUPPORTED: [Codec; 2] = [PCMU, PCMA];

/// What we learn from the peer's SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteAudio {
    pub addr: Option<IpAddr>,
    pub port: u16,
    /// Payload types in the peer's order.
    pub payload_types: Vec<u8>,
    /// Dynamic payload type the peer uses for telephone-event, if any.
    pub telephone_event: Option<u8>,
    pub direction: Direction,
    /// True when the peer wants WebRTC media (DTLS-SRTP, ICE).
    pub webrtc: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SdpError {
    #[error("the SDP has no audio stream")]
    NoAudio,
    #[error("the SDP line `{0}` is malformed")]
    Malformed(String),
    #[error("no codec in common (the peer offers {0:?}; we speak PCMU and PCMA)")]
    NoCommonCodec(Vec<u8>),
}

pub fn parse(sdp: &str) -> Result<RemoteAudio, SdpError> {
    let mut session_addr: Option<IpAddr> = None;
    let mut media_addr: Option<IpAddr> = None;
    let mut in_audio = false;
    let mut seen_audio = false;
    let mut port = 0u16;
    let mut pts = Vec::new();
    let mut te = None;
    let mut dir_session = None;
    let mut dir_media = None;
    let mut webrtc = false;
    for line in sdp.lines() {
        let line = line.trim_end_matches('\r');
        let Some((kind, value)) = line.split_once('=') else {
            continue;
        };
        match kind {
            "m" => {
                in_audio = value.starts_with("audio ");
                if in_audio && !seen_audio {
                    seen_audio = true;
                    let mut it = value.split_whitespace();
                    let _media = it.next();
                    port = it
                        .next()
                        .and_then(|p| p.split('/').next())
                        .and_then(|p| p.parse().ok())
                        .ok_or_else(|| SdpError::Malformed(line.to_string()))?;
                    let proto = it.next().unwrap_or("");
                    webrtc = proto.contains("SAVPF") || proto.contains("TLS");
                    pts = it.filter_map(|p| p.parse().ok()).collect();
                } else if in_audio {
                    // Only the first audio stream is ours.
                    in_audio = false;
                }
            }
            "c" => {
                let addr = value
                    .split_whitespace()
                    .nth(2)
                    .and_then(|a| a.split('/').next())
                    .and_then(|a| a.parse().ok());
                if in_audio {
                    media_addr = addr;
                } else if !seen_audio {
                    session_addr = addr;
                }
            }
            "a" => {
                let d = match value {
                    "sendrecv" => Some(Direction::SendRecv),
                    "sendonly" => Some(Direction::SendOnly),
                    "recvonly" => Some(Direction::RecvOnly),
                    "inactive" => Some(Direction::Inactive),
                    _ => None,
                };
                if let Some(d) = d {
                    if in_audio {
                        dir_media = Some(d);
                    } else if !seen_audio {
                        dir_session = Some(d);
                    }
                } else if in_audio && let Some(map) = value.strip_prefix("rtpmap:") {
                    let mut it = map.split_whitespace();
                    let pt: Option<u8> = it.next().and_then(|p| p.parse().ok());
                    let name = it.next().unwrap_or("");
                    if name
                        .to_ascii_lowercase()
                        .starts_with("telephone-event/8000")
                    {
                        te = pt;
                    }
                } else if in_audio && value.starts_with("fingerprint:") {
                    webrtc = true;
                }
            }
            _ => {}
        }
    }
    if !seen_audio {
        return Err(SdpError::NoAudio);
    }
    let mut addr = media_addr.or(session_addr);
    // RFC 3264 §8.4: c=0.0.0.0 is the old way to say hold.
    let mut direction = dir_media.or(dir_session).unwrap_or(Direction::SendRecv);
    if addr.is_some_and(|a| a.is_unspecified()) {
        direction = Direction::Inactive;
        addr = None;
    }
    if port == 0 {
        direction = Direction::Inactive;
    }
    Ok(RemoteAudio {
        addr,
        port,
        payload_types: pts,
        telephone_event: te,
        direction,
        webrtc,
    })
}

/// Pick the codec to send: the first of the peer's list that we speak
/// (RFC 3264 §6.1: the answerer should honour the offerer's order).
pub fn choose_codec(remote: &RemoteAudio) -> Result<Codec, SdpError> {
    remote
        .payload_types
        .iter()
        .find_map(|pt| SUPPORTED.iter().find(|c| c.pt == *pt).copied())
        .ok_or_else(|| SdpError::NoCommonCodec(remote.payload_types.clone()))
}

/// Our local media description.
#[derive(Debug, Clone)]
pub struct LocalAudio {
    pub addr: IpAddr,
    pub port: u16,
    /// Codecs to list, in order.
    pub codecs: Vec<Codec>,
    pub telephone_event: Option<u8>,
    pub direction: Direction,
    /// o= session id and version (RFC 4566 §5.2: bump the version on every change).
    pub session_id: u64,
    pub version: u64,
}

impl LocalAudio {
    pub fn render(&self) -> String {
        let ip = match self.addr {
            IpAddr::V4(_) => "IP4",
            IpAddr::V6(_) => "IP6",
        };
        let mut s = String::new();
        let _ = write!(
            s,
            "v=0\r\no=tongdai {} {} IN {ip} {}\r\ns=tongdai\r\nc=IN {ip} {}\r\nt=0 0\r\nm=audio {} RTP/AVP",
            self.session_id, self.version, self.addr, self.addr, self.port
        );
        for c in &self.codecs {
            let _ = write!(s, " {}", c.pt);
        }
        if let Some(te) = self.telephone_event {
            let _ = write!(s, " {te}");
        }
        s.push_str("\r\n");
        for c in &self.codecs {
            let _ = write!(s, "a=rtpmap:{} {}/{}\r\n", c.pt, c.name, c.rate);
        }
        if let Some(te) = self.telephone_event {
            let _ = write!(
                s,
                "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-16\r\n"
            );
        }
        s.push_str("a=ptime:20\r\n");
        let _ = write!(s, "a={}\r\n", self.direction.attr());
        s
    }

    /// An answer to `remote`: only the chosen codec and the peer's
    /// telephone-event payload type (RFC 3264 §6.1).
    pub fn answer(&self, remote: &RemoteAudio, codec: Codec, we_hold: bool) -> String {
        LocalAudio {
            codecs: vec![codec],
            telephone_event: remote.telephone_event,
            direction: remote.direction.answer_to(we_hold),
            ..self.clone()
        }
        .render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIPP_OFFER: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n";

    #[test]
    fn parses_a_sipp_offer_and_answers_a_hold_with_recvonly() {
        let r = parse(SIPP_OFFER).unwrap();
        assert_eq!(r.port, 6000);
        assert_eq!(r.payload_types, vec![8, 0, 101]);
        assert_eq!(r.telephone_event, Some(101));
        assert_eq!(r.direction, Direction::SendOnly);
        assert!(r.direction.is_hold());
        assert_eq!(choose_codec(&r).unwrap(), PCMA);
        let local = LocalAudio {
            addr: "127.0.0.1".parse().unwrap(),
            port: 4000,
            codecs: SUPPORTED.to_vec(),
            telephone_event: Some(101),
            direction: Direction::SendRecv,
            session_id: 1,
            version: 2,
        };
        let ans = local.answer(&r, PCMA, false);
        assert!(ans.contains("m=audio 4000 RTP/AVP 8 101\r\n"), "{ans}");
        assert!(ans.contains("a=recvonly\r\n"), "{ans}");
        let back = parse(&ans).unwrap();
        assert_eq!(back.port, 4000);
        assert_eq!(back.direction, Direction::RecvOnly);
    }

    #[test]
    fn old_style_hold_and_errors() {
        let held = SIPP_OFFER
            .replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0")
            .replace("a=sendonly\r\n", "");
        assert_eq!(parse(&held).unwrap().direction, Direction::Inactive);
        assert_eq!(parse("v=0\r\n"), Err(SdpError::NoAudio));
        let opus_only = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 5 RTP/AVP 111\r\n";
        assert!(matches!(
            choose_codec(&parse(opus_only).unwrap()),
            Err(SdpError::NoCommonCodec(_))
        ));
        assert!(matches!(
            parse("m=audio x RTP/AVP 0\r\n"),
            Err(SdpError::Malformed(_))
        ));
    }

    #[test]
    fn detects_webrtc_offers() {
        let o = "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=fingerprint:sha-256 AA\r\n";
        assert!(parse(o).unwrap().webrtc);
    }
}
