//! SDP offer/answer for plain RTP audio (RFC 4566, RFC 3264).
//!
//! rsipstack carries SDP as opaque bytes; this is our small model of the one
//! audio stream a softphone needs: address, port, codecs, direction.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::media::audio_codec::{AudioCodec, OPUS_PT};

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

/// A codec we can speak, with the payload type it has in this session
/// (static, or dynamic as the offer numbered it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec {
    pub pt: u8,
    pub kind: AudioCodec,
}

pub const PCMU: Codec = Codec {
    pt: 0,
    kind: AudioCodec::Pcmu,
};
pub const PCMA: Codec = Codec {
    pt: 8,
    kind: AudioCodec::Pcma,
};
pub const G722: Codec = Codec {
    pt: 9,
    kind: AudioCodec::G722,
};
pub const OPUS: Codec = Codec {
    pt: OPUS_PT,
    kind: AudioCodec::Opus,
};

impl Codec {
    /// The codec with our payload type for it.
    pub fn ours(kind: AudioCodec) -> Codec {
        Codec {
            pt: kind.static_pt().unwrap_or(OPUS_PT),
            kind,
        }
    }
}

/// RFC 4733 telephone-event: its payload type and clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    pub pt: u8,
    pub rate: u32,
}

pub const TELEPHONE_EVENT: TelephoneEvent = TelephoneEvent {
    pt: 101,
    rate: 8000,
};
/// telephone-event on Opus's 48 kHz clock (RFC 4733 §2.1: the event
/// clock should be the audio's), offered beside the 8 kHz one.
pub const TELEPHONE_EVENT_48K: TelephoneEvent = TelephoneEvent {
    pt: 110,
    rate: 48_000,
};

/// The telephone-events we offer with `codecs`: 8 kHz always, 48 kHz when
/// Opus is among them.
pub fn our_telephone_events(codecs: &[Codec]) -> Vec<TelephoneEvent> {
    let mut v = vec![TELEPHONE_EVENT];
    if codecs.iter().any(|c| c.kind == AudioCodec::Opus) {
        v.push(TELEPHONE_EVENT_48K);
    }
    v
}

/// Codecs in our default order of preference (`[sip] codecs`).
pub const SUPPORTED: [Codec; 4] = [OPUS, G722, PCMU, PCMA];

/// What we learn from the peer's SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteAudio {
    pub addr: Option<IpAddr>,
    pub port: u16,
    /// Payload types in the peer's order.
    pub payload_types: Vec<u8>,
    /// `a=rtpmap` encodings by payload type, lower case (`opus/48000/2`).
    pub rtpmaps: Vec<(u8, String)>,
    /// The peer's telephone-event payload type (RFC 4733), preferring the
    /// 8 kHz one, if any.
    pub telephone_event: Option<u8>,
    /// Every telephone-event it offers, with its clock.
    pub telephone_events: Vec<TelephoneEvent>,
    pub direction: Direction,
    /// True when the peer wants WebRTC media (DTLS-SRTP, ICE).
    pub webrtc: bool,
}

impl RemoteAudio {
    /// Which of our codecs a payload type of this SDP is: by its rtpmap,
    /// else by the static table (RFC 3551 table 4).
    pub fn codec_of(&self, pt: u8) -> Option<AudioCodec> {
        match self.rtpmaps.iter().find(|(p, _)| *p == pt) {
            // `enc` is lower case; a channel count may follow the rate.
            Some((_, enc)) => AudioCodec::ALL.into_iter().find(|c| {
                let want = format!("{}/{}", c.encoding_name(), c.clock_rate()).to_ascii_lowercase();
                enc.strip_prefix(&want)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            }),
            None => AudioCodec::from_static_pt(pt),
        }
    }

    /// The telephone-event to use with `codec`: the one on the codec's
    /// clock (RFC 4733 §2.1), else the 8 kHz one.
    pub fn telephone_event_for(&self, codec: AudioCodec) -> Option<TelephoneEvent> {
        let evs = &self.telephone_events;
        evs.iter()
            .find(|t| t.rate == codec.clock_rate())
            .or_else(|| evs.iter().find(|t| t.rate == 8000))
            .or_else(|| evs.first())
            .copied()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SdpError {
    #[error("the SDP has no audio stream")]
    NoAudio,
    #[error("the SDP line `{0}` is malformed")]
    Malformed(String),
    #[error("no codec in common (the peer offers payload types {offered:?}; we accept {ours})")]
    NoCommonCodec { offered: Vec<u8>, ours: String },
}

pub fn parse(sdp: &str) -> Result<RemoteAudio, SdpError> {
    let mut session_addr: Option<IpAddr> = None;
    let mut media_addr: Option<IpAddr> = None;
    let mut in_audio = false;
    let mut seen_audio = false;
    let mut port = 0u16;
    let mut pts = Vec::new();
    let mut rtpmaps = Vec::new();
    let mut tes = Vec::new();
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
                    let name = it.next().unwrap_or("").to_ascii_lowercase();
                    if let Some(pt) = pt {
                        if let Some(rate) = name.strip_prefix("telephone-event/") {
                            let rate = rate.split('/').next().and_then(|r| r.parse().ok());
                            if let Some(rate) = rate {
                                tes.push(TelephoneEvent { pt, rate });
                            }
                        }
                        rtpmaps.push((pt, name));
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
    // Only events the m= line lists count.
    tes.retain(|t| pts.contains(&t.pt));
    let te = tes
        .iter()
        .find(|t| t.rate == 8000)
        .or_else(|| tes.first())
        .map(|t| t.pt);
    Ok(RemoteAudio {
        addr,
        port,
        payload_types: pts,
        rtpmaps,
        telephone_event: te,
        telephone_events: tes,
        direction,
        webrtc,
    })
}

/// Pick the codec: the first of `prefs` (our order, `[sip] codecs`) that
/// the peer's SDP lists, with the peer's payload type for it (RFC 3264
/// §6.1 lets the answerer choose; we send with the number the peer gave).
pub fn choose_codec(remote: &RemoteAudio, prefs: &[AudioCodec]) -> Result<Codec, SdpError> {
    prefs
        .iter()
        .find_map(|&kind| {
            remote
                .payload_types
                .iter()
                .find(|&&pt| remote.codec_of(pt) == Some(kind))
                .map(|&pt| Codec { pt, kind })
        })
        .ok_or_else(|| SdpError::NoCommonCodec {
            offered: remote.payload_types.clone(),
            ours: prefs
                .iter()
                .map(|c| c.encoding_name())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Our local media description.
#[derive(Debug, Clone)]
pub struct LocalAudio {
    pub addr: IpAddr,
    pub port: u16,
    /// Codecs to list, in order.
    pub codecs: Vec<Codec>,
    pub telephone_events: Vec<TelephoneEvent>,
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
        for te in &self.telephone_events {
            let _ = write!(s, " {}", te.pt);
        }
        s.push_str("\r\n");
        for c in &self.codecs {
            let k = c.kind;
            let _ = write!(
                s,
                "a=rtpmap:{} {}/{}",
                c.pt,
                k.encoding_name(),
                k.clock_rate()
            );
            if let Some(ch) = k.sdp_channels() {
                let _ = write!(s, "/{ch}");
            }
            s.push_str("\r\n");
            if let Some(f) = k.fmtp() {
                let _ = write!(s, "a=fmtp:{} {f}\r\n", c.pt);
            }
        }
        for te in &self.telephone_events {
            let _ = write!(
                s,
                "a=rtpmap:{0} telephone-event/{1}\r\na=fmtp:{0} 0-16\r\n",
                te.pt, te.rate
            );
        }
        s.push_str("a=ptime:20\r\n");
        let _ = write!(s, "a={}\r\n", self.direction.attr());
        s
    }

    /// An answer to `remote`: only the chosen codec and the peer's
    /// telephone-event for it (RFC 3264 §6.1).
    pub fn answer(&self, remote: &RemoteAudio, codec: Codec, we_hold: bool) -> String {
        LocalAudio {
            codecs: vec![codec],
            telephone_events: remote.telephone_event_for(codec.kind).into_iter().collect(),
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

    /// An offer in the style of a softphone numbering Opus 96 (not our 111).
    const BARESIP_OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 10000 RTP/AVP 96 9 0 8 101\r\na=rtpmap:96 opus/48000/2\r\na=fmtp:96 stereo=1;sprop-stereo=1\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n";

    fn local() -> LocalAudio {
        LocalAudio {
            addr: "127.0.0.1".parse().unwrap(),
            port: 4000,
            codecs: SUPPORTED.to_vec(),
            telephone_events: our_telephone_events(&SUPPORTED),
            direction: Direction::SendRecv,
            session_id: 1,
            version: 2,
        }
    }

    #[test]
    fn parses_a_sipp_offer_and_answers_a_hold_with_recvonly() {
        let r = parse(SIPP_OFFER).unwrap();
        assert_eq!(r.port, 6000);
        assert_eq!(r.payload_types, vec![8, 0, 101]);
        assert_eq!(r.telephone_event, Some(101));
        assert_eq!(r.direction, Direction::SendOnly);
        assert!(r.direction.is_hold());
        // Our order puts PCMU before PCMA, whatever the offer's order.
        assert_eq!(choose_codec(&r, &AudioCodec::ALL).unwrap(), PCMU);
        let prefer_a = [AudioCodec::Pcma, AudioCodec::Pcmu];
        assert_eq!(choose_codec(&r, &prefer_a).unwrap(), PCMA);
        let ans = local().answer(&r, PCMA, false);
        assert!(ans.contains("m=audio 4000 RTP/AVP 8 101\r\n"), "{ans}");
        assert!(ans.contains("a=recvonly\r\n"), "{ans}");
        let back = parse(&ans).unwrap();
        assert_eq!(back.port, 4000);
        assert_eq!(back.direction, Direction::RecvOnly);
    }

    #[test]
    fn our_offer_lists_opus_g722_and_g711_with_rfc7587_parameters() {
        let offer = local().render();
        assert!(
            offer.contains("m=audio 4000 RTP/AVP 111 9 0 8 101 110\r\n"),
            "{offer}"
        );
        assert!(offer.contains("a=rtpmap:111 opus/48000/2\r\n"), "{offer}");
        assert!(
            offer.contains("a=fmtp:111 minptime=10;useinbandfec=1\r\n"),
            "{offer}"
        );
        assert!(offer.contains("a=rtpmap:9 G722/8000\r\n"), "{offer}");
        assert!(
            offer.contains("a=rtpmap:101 telephone-event/8000\r\n"),
            "{offer}"
        );
        assert!(
            offer.contains("a=rtpmap:110 telephone-event/48000\r\n"),
            "{offer}"
        );
        // Without Opus, no 48 kHz event.
        assert_eq!(our_telephone_events(&[PCMU, PCMA]), vec![TELEPHONE_EVENT]);
        // Parsing our own offer finds every codec by its rtpmap.
        let r = parse(&offer).unwrap();
        let kinds: Vec<_> = r
            .payload_types
            .iter()
            .filter_map(|&p| r.codec_of(p))
            .collect();
        assert_eq!(kinds, AudioCodec::ALL.to_vec());
    }

    #[test]
    fn preference_order_and_the_peers_dynamic_payload_type() {
        let r = parse(BARESIP_OFFER).unwrap();
        // Opus at the peer's number 96, not ours (111).
        let c = choose_codec(&r, &AudioCodec::ALL).unwrap();
        assert_eq!(
            c,
            Codec {
                pt: 96,
                kind: AudioCodec::Opus
            }
        );
        let ans = local().answer(&r, c, false);
        assert!(ans.contains("m=audio 4000 RTP/AVP 96 101\r\n"), "{ans}");
        assert!(ans.contains("a=rtpmap:96 opus/48000/2\r\n"), "{ans}");
        assert!(
            ans.contains("a=fmtp:96 minptime=10;useinbandfec=1\r\n"),
            "{ans}"
        );
        // Our list decides, not the offer's order.
        let g722_first = [AudioCodec::G722, AudioCodec::Opus];
        assert_eq!(choose_codec(&r, &g722_first).unwrap(), G722);
        let pcma_only = [AudioCodec::Pcma];
        assert_eq!(choose_codec(&r, &pcma_only).unwrap(), PCMA);
        // A dynamic number is only Opus when its rtpmap says so.
        let other = BARESIP_OFFER.replace("opus/48000/2", "speex/16000");
        assert_eq!(
            choose_codec(&parse(&other).unwrap(), &AudioCodec::ALL).unwrap(),
            G722
        );
    }

    #[test]
    fn a_peer_offering_only_pcma_gets_pcma() {
        let only_a = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 5 RTP/AVP 8\r\n";
        let r = parse(only_a).unwrap();
        assert_eq!(choose_codec(&r, &AudioCodec::ALL).unwrap(), PCMA);
        // No telephone-event offered: none answered.
        let ans = local().answer(&r, PCMA, false);
        assert!(ans.contains("m=audio 4000 RTP/AVP 8\r\n"), "{ans}");
        assert!(!ans.contains("telephone-event"), "{ans}");
    }

    #[test]
    fn telephone_event_on_the_codecs_clock_wins() {
        let o = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 5 RTP/AVP 111 0 110 101\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:110 telephone-event/48000\r\na=rtpmap:101 telephone-event/8000\r\n";
        let r = parse(o).unwrap();
        assert_eq!(r.telephone_event, Some(101));
        let te = |k| r.telephone_event_for(k).map(|t| t.pt);
        assert_eq!(te(AudioCodec::Opus), Some(110));
        assert_eq!(te(AudioCodec::Pcmu), Some(101));
        let ans = local().answer(&r, OPUS, false);
        assert!(
            ans.contains("a=rtpmap:110 telephone-event/48000\r\n"),
            "{ans}"
        );
    }

    #[test]
    fn old_style_hold_and_errors() {
        let held = SIPP_OFFER
            .replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0")
            .replace("a=sendonly\r\n", "");
        assert_eq!(parse(&held).unwrap().direction, Direction::Inactive);
        assert_eq!(parse("v=0\r\n"), Err(SdpError::NoAudio));
        let g729_only = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 5 RTP/AVP 18\r\n";
        let err = choose_codec(&parse(g729_only).unwrap(), &AudioCodec::ALL).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no codec in common (the peer offers payload types [18]; we accept opus, G722, PCMU, PCMA)"
        );
        // Opus offered, but not in our list.
        let opus_only =
            "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 5 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n";
        assert!(matches!(
            choose_codec(&parse(opus_only).unwrap(), &[AudioCodec::Pcmu]),
            Err(SdpError::NoCommonCodec { .. })
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
