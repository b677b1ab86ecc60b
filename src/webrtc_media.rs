//! WebRTC audio for SIP calls: ICE, DTLS-SRTP, Opus / G.711, one audio
//! stream, on the `webrtc` crate (the async layer over the sans-IO `rtc`).
//!
//! The seam: [`WebRtcSession::offer`] / [`WebRtcSession::apply_answer`] when
//! we call, [`WebRtcSession::answer`] when we are called,
//! [`WebRtcSession::handle_reoffer`] for the peer's re-INVITE / UPDATE,
//! [`WebRtcSession::restart_offer`] when the path died (an ICE restart).
//! Every SDP we return is complete (non-trickle, as JsSIP expects): ICE
//! gathering is awaited, bounded by [`WebRtcOptions::gather_timeout`] so a
//! dead STUN server never stalls call setup.
//!
//! Audio crosses the seam as PCM frames, **always mono i16 at 48 kHz**
//! ([`SAMPLE_RATE`]), whatever the codec on the wire: 20 ms = 960 samples.
//! G.711 is resampled to and from 8 kHz inside (the project's one
//! resampler and G.711, `media::resample` and `media::codec`). Codecs may differ by
//! direction: we send with the first codec of the remote description that
//! we speak, and decode what arrives by its payload type.
//!
//! Facts this relies on (see DEPENDENCY-NOTES.md): a MediaEngine with only
//! our codecs; mDNS disabled (the default fails without a multicast route);
//! `set_codec_preferences` so an offer lists the fallbacks too; G.711 and
//! Opus both written as our own RTP packets through `TrackLocalStaticRTP`.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::media::codec::G711;
use crate::media::resample::Resampler;
use bytes::Bytes;

use crate::media::opus_codec::OpusEncoder;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCOfferOptions;
use rtc::peer_connection::transport::RTCDtlsRole;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceConnectionState, RTCIceGatheringState, RTCIceServer,
    RTCIceTransportPolicy, RTCPeerConnectionState, RTCSessionDescription, Registry,
    SettingEngineBuilder, configure_rtcp_reports,
};

pub mod timeline;
pub use timeline::{Step, Timeline};

/// The PCM rate at the seam, both ways.
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 20 ms frame at [`SAMPLE_RATE`].
pub const FRAME_SAMPLES: usize = 960;

/// Payload types we offer (Chromium's numbers for Opus and telephone-event).
pub const PT_OPUS: u8 = 111;
pub const PT_PCMU: u8 = 0;
pub const PT_PCMA: u8 = 8;
pub const PT_TE_48K: u8 = 110;
pub const PT_TE_8K: u8 = 126;

/// How often the ICE agent runs its checks while connecting (the stack's
/// default is 200 ms). The controlling agent nominates a pair on the tick
/// after its check succeeded, so this interval is paid once or twice
/// before first audio; 50 ms is RFC 8445 §14.2's default pacing (Ta).
const ICE_CHECK_INTERVAL: Duration = Duration::from_millis(50);
/// Checks per pair before it fails: with [`ICE_CHECK_INTERVAL`], the
/// stack's default 1.4 s for a pair to answer.
const ICE_MAX_CHECKS: u16 = 28;

/// How long without a packet from the peer (media, or an answer to our
/// consent checks) before ICE reports the path `disconnected`; the stack
/// waits 5 s. A live call carries 50 packets a second both ways, and a held
/// one still answers our consent check every [`CONSENT_INTERVAL`], so 3 s
/// of nothing is two unanswered checks in a row: the path is gone, and the
/// UA restarts ICE (RFC 8445 §9) rather than wait for it.
pub const DISCONNECTED_AFTER: Duration = Duration::from_secs(3);
/// How long after `disconnected` the stack calls the path `failed` (and
/// stops sending): its default, 25 s, so consent expires 30 s after the
/// last answer, as RFC 7675 §5.1 says. The UA hangs up long before.
const FAILED_AFTER: Duration = Duration::from_secs(25);
/// How often ICE checks consent on the selected pair (RFC 7675 §5.1; the
/// stack's default is 2 s). Once a second costs one small STUN exchange
/// next to 50 RTP packets, and makes [`DISCONNECTED_AFTER`] safe when the
/// peer sends no media (held, inactive).
const CONSENT_INTERVAL: Duration = Duration::from_secs(1);

/// How long the controlling agent (we offered) waits before it nominates
/// a pair through a NAT mapping it learned from the peer's checks (peer
/// reflexive, e.g. a browser's mDNS-hidden host address): the stack's
/// default is 1 s; as long as for a STUN-learned (server reflexive) pair.
const NAT_PAIR_WAIT: Duration = Duration::from_millis(500);

/// How long the controlling agent waits before it nominates a relay pair.
/// The stack waits 2 s, in case a direct pair answers meanwhile, which was
/// most of the 2-3.5 s before first audio through TURN. Relay only: there
/// is nothing better to wait for. Otherwise a direct pair that answers
/// within half a second still wins.
fn relay_wait(relay_only: bool) -> Duration {
    if relay_only {
        Duration::ZERO
    } else {
        NAT_PAIR_WAIT
    }
}

/// What a session needs from the account.
#[derive(Debug, Clone)]
pub struct WebRtcOptions {
    /// Address to bind the media socket to (`0.0.0.0` = every interface).
    pub bind_ip: IpAddr,
    /// `stun:host:port` URLs; empty = host candidates only.
    pub stun_servers: Vec<String>,
    /// Upper bound on waiting for ICE gathering before the SDP is returned
    /// with whatever candidates exist by then.
    pub gather_timeout: Duration,
    /// Offer loopback candidates too (tests on one host without a netns).
    pub include_loopback: bool,
    /// TURN servers and credentials (relay candidates).
    pub turn: Option<crate::sip::TurnServers>,
    /// Gather and use relay candidates only.
    pub relay_only: bool,
}

impl Default for WebRtcOptions {
    fn default() -> Self {
        Self {
            bind_ip: IpAddr::from([0, 0, 0, 0]),
            stun_servers: Vec::new(),
            gather_timeout: Duration::from_millis(1500),
            include_loopback: false,
            turn: None,
            relay_only: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebRtcError {
    #[error("WebRTC: {0}")]
    Stack(String),
    #[error("the SDP has no audio codec we speak (Opus, PCMU, PCMA)")]
    NoCodec,
}

fn stack<E: std::fmt::Display>(e: E) -> WebRtcError {
    WebRtcError::Stack(e.to_string())
}

/// Audio codecs on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireCodec {
    Opus,
    Pcmu,
    Pcma,
}

impl WireCodec {
    pub fn name(self) -> &'static str {
        match self {
            WireCodec::Opus => "opus",
            WireCodec::Pcmu => "PCMU",
            WireCodec::Pcma => "PCMA",
        }
    }
    fn clock_rate(self) -> u32 {
        match self {
            WireCodec::Opus => 48_000,
            _ => 8_000,
        }
    }
}

/// What happens to the media, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// ICE and DTLS are up.
    Connected {
        at: Instant,
    },
    /// The transport failed or the peer went away (consent expired).
    Failed {
        at: Instant,
        state: String,
    },
    /// The first audio packet from the peer was decoded.
    FirstAudio {
        at: Instant,
        codec: WireCodec,
    },
    /// The codec we send with changed (after an answer or a re-offer).
    SendCodec {
        codec: WireCodec,
        payload_type: u8,
    },
    Closed,
}

/// Counters since the session started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaStats {
    pub packets_in: u64,
    pub bytes_in: u64,
    pub packets_out: u64,
    pub bytes_out: u64,
    pub decode_errors: u64,
    pub send_errors: u64,
}

/// The application's ends of the audio and event channels.
pub struct AudioIo {
    /// Frames to send: mono i16 at 48 kHz, 960 samples (20 ms) each. The
    /// caller paces them (one per 20 ms); they are encoded as they arrive.
    pub to_peer: mpsc::Sender<Vec<i16>>,
    /// Decoded frames from the peer: mono i16 at 48 kHz, one per packet
    /// (960 samples for 20 ms packets).
    pub from_peer: mpsc::Receiver<Vec<i16>>,
    pub events: mpsc::UnboundedReceiver<MediaEvent>,
    /// The session's setup steps; the audio path stamps
    /// [`Step::FirstPlayed`] on it.
    pub timeline: Arc<Timeline>,
}

#[derive(Default)]
struct Counters {
    packets_in: AtomicU64,
    bytes_in: AtomicU64,
    packets_out: AtomicU64,
    bytes_out: AtomicU64,
    decode_errors: AtomicU64,
    send_errors: AtomicU64,
}

struct Shared {
    muted: AtomicBool,
    first_audio: AtomicBool,
    counters: Counters,
    /// (codec, payload type) we send with; None until a remote description.
    send: Mutex<Option<(WireCodec, u8)>>,
    /// Payload type → codec for what arrives.
    recv_map: Mutex<Vec<(u8, WireCodec)>>,
    events: mpsc::UnboundedSender<MediaEvent>,
    from_peer: mpsc::Sender<Vec<i16>>,
    gathered: watch::Sender<bool>,
    timeline: Arc<Timeline>,
}

impl Shared {
    fn emit(&self, e: MediaEvent) {
        let _ = self.events.send(e);
    }
}

struct Handler {
    shared: Arc<Shared>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.shared.gathered.send(true);
        }
    }

    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        let step = match state {
            RTCIceConnectionState::Checking => Step::IceChecking,
            RTCIceConnectionState::Connected => Step::IceConnected,
            _ => return,
        };
        self.shared.timeline.mark(step, Instant::now());
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        match state {
            RTCPeerConnectionState::Connected => {
                let at = Instant::now();
                self.shared.timeline.mark(Step::DtlsConnected, at);
                self.shared.emit(MediaEvent::Connected { at })
            }
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Disconnected => {
                self.shared.emit(MediaEvent::Failed {
                    at: Instant::now(),
                    state: state.to_string(),
                })
            }
            _ => {}
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let shared = self.shared.clone();
        tokio::spawn(receive_loop(track, shared));
    }
}

/// Decode what arrives, by payload type, into 48 kHz frames.
async fn receive_loop(track: Arc<dyn TrackRemote>, shared: Arc<Shared>) {
    let mut opus_dec: Option<opus::Decoder> = None;
    let mut pcm = vec![0i16; 5760];
    let mut up = Resampler::new(8000, SAMPLE_RATE);
    let mut narrow = Vec::with_capacity(160);
    while let Some(ev) = track.poll().await {
        let pkt = match ev {
            TrackRemoteEvent::OnRtpPacket(p) => p,
            TrackRemoteEvent::OnEnded => break,
            _ => continue,
        };
        let c = &shared.counters;
        if c.packets_in.fetch_add(1, Ordering::Relaxed) == 0 {
            shared.timeline.mark(Step::FirstRtpIn, Instant::now());
        }
        c.bytes_in
            .fetch_add(pkt.payload.len() as u64, Ordering::Relaxed);
        let pt = pkt.header.payload_type;
        let codec = shared
            .recv_map
            .lock()
            .ok()
            .and_then(|m| m.iter().find(|(p, _)| *p == pt).map(|(_, c)| *c))
            .or(match pt {
                PT_PCMU => Some(WireCodec::Pcmu),
                PT_PCMA => Some(WireCodec::Pcma),
                PT_OPUS => Some(WireCodec::Opus),
                _ => None,
            });
        let Some(codec) = codec else { continue };
        let frame = match codec {
            WireCodec::Opus => {
                if opus_dec.is_none() {
                    opus_dec = opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono).ok();
                }
                let Some(dec) = opus_dec.as_mut() else {
                    continue;
                };
                match dec.decode(&pkt.payload, &mut pcm, false) {
                    Ok(n) => pcm[..n].to_vec(),
                    Err(_) => {
                        c.decode_errors.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                }
            }
            WireCodec::Pcmu | WireCodec::Pcma => {
                narrow.clear();
                g711(codec).decode(&pkt.payload, &mut narrow);
                let mut wide = Vec::with_capacity(narrow.len() * 6);
                up.process(&narrow, &mut wide);
                wide
            }
        };
        if !shared.first_audio.swap(true, Ordering::Relaxed) {
            let at = Instant::now();
            shared.timeline.mark(Step::FirstAudio, at);
            if let Some(line) = shared.timeline.summary() {
                tracing::info!("WebRTC {line}");
            }
            shared.emit(MediaEvent::FirstAudio { at, codec });
        }
        // A slow consumer loses frames rather than stalling the stack.
        let _ = shared.from_peer.try_send(frame);
    }
}

/// Encode frames from the application with the negotiated send codec.
async fn send_loop(
    mut rx: mpsc::Receiver<Vec<i16>>,
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    shared: Arc<Shared>,
) {
    // The project's Opus encoder settings (media/opus_codec.rs: complexity
    // 5, wideband voice, in-band FEC): libopus' default complexity was most
    // of a WebRTC call's CPU.
    let mut encoder: Option<OpusEncoder> = None;
    let mut seq: u16 = rand::random();
    let mut ts: u32 = rand::random();
    let mut first = true;
    let mut out: Vec<u8> = Vec::with_capacity(1500);
    let mut down = Resampler::new(SAMPLE_RATE, 8000);
    let mut narrow = Vec::with_capacity(160);
    while let Some(mut frame) = rx.recv().await {
        let Some((codec, pt)) = shared.send.lock().ok().and_then(|s| *s) else {
            continue;
        };
        if shared.muted.load(Ordering::Relaxed) {
            frame.iter_mut().for_each(|s| *s = 0);
        }
        let payload = match codec {
            WireCodec::Opus => {
                if encoder.is_none() {
                    encoder = OpusEncoder::new(SAMPLE_RATE).ok();
                }
                let Some(enc) = encoder.as_mut() else {
                    continue;
                };
                out.clear();
                match enc.encode(&frame, &mut out) {
                    Ok(()) => Bytes::copy_from_slice(&out),
                    Err(_) => continue,
                }
            }
            WireCodec::Pcmu | WireCodec::Pcma => {
                narrow.clear();
                down.process(&frame, &mut narrow);
                let mut bytes = Vec::with_capacity(narrow.len());
                g711(codec).encode(&narrow, &mut bytes);
                Bytes::from(bytes)
            }
        };
        let samples =
            (frame.len() as u64 * u64::from(codec.clock_rate()) / u64::from(SAMPLE_RATE)) as u32;
        let len = payload.len() as u64;
        let pkt = rtp::Packet {
            header: rtp::header::Header {
                version: 2,
                marker: first,
                payload_type: pt,
                sequence_number: seq,
                timestamp: ts,
                ssrc,
                ..Default::default()
            },
            payload,
        };
        first = false;
        seq = seq.wrapping_add(1);
        ts = ts.wrapping_add(samples);
        let c = &shared.counters;
        match track.write_rtp(pkt).await {
            Ok(()) => {
                if c.packets_out.fetch_add(1, Ordering::Relaxed) == 0 {
                    shared.timeline.mark(Step::FirstRtpOut, Instant::now());
                }
                c.bytes_out.fetch_add(len, Ordering::Relaxed);
            }
            // Not connected yet, or held recvonly: not fatal.
            Err(_) => {
                c.send_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn codec_params(mime: &str, rate: u32, channels: u16, fmtp: &str, pt: u8) -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: mime.to_string(),
            clock_rate: rate,
            channels,
            sdp_fmtp_line: fmtp.to_string(),
            rtcp_feedback: vec![],
        },
        payload_type: pt,
    }
}

/// Our codecs in order of preference.
fn our_codecs() -> Vec<RTCRtpCodecParameters> {
    vec![
        codec_params(
            "audio/opus",
            48_000,
            2,
            "minptime=10;useinbandfec=1",
            PT_OPUS,
        ),
        codec_params("audio/PCMU", 8_000, 1, "", PT_PCMU),
        codec_params("audio/PCMA", 8_000, 1, "", PT_PCMA),
        codec_params("audio/telephone-event", 48_000, 1, "0-16", PT_TE_48K),
        codec_params("audio/telephone-event", 8_000, 1, "0-16", PT_TE_8K),
    ]
}

/// Payload type → codec as the SDP's `m=audio` line lists them, in order.
pub fn sdp_audio_codecs(sdp: &str) -> Vec<(u8, WireCodec)> {
    let mut order: Vec<u8> = Vec::new();
    let mut names: Vec<(u8, String)> = Vec::new();
    let mut in_audio = false;
    let mut seen = false;
    for line in sdp.lines() {
        let line = line.trim_end();
        if let Some(m) = line.strip_prefix("m=") {
            in_audio = m.starts_with("audio ") && !seen;
            if in_audio {
                seen = true;
                order = m
                    .split_whitespace()
                    .skip(3)
                    .filter_map(|p| p.parse().ok())
                    .collect();
            }
        } else if in_audio && let Some(map) = line.strip_prefix("a=rtpmap:") {
            let mut it = map.split_whitespace();
            if let (Some(pt), Some(name)) = (it.next().and_then(|p| p.parse().ok()), it.next()) {
                names.push((pt, name.to_ascii_lowercase()));
            }
        }
    }
    order
        .into_iter()
        .filter_map(|pt| {
            let name = names
                .iter()
                .find(|(p, _)| *p == pt)
                .map(|(_, n)| n.as_str());
            let codec = match (pt, name) {
                (_, Some(n)) if n.starts_with("opus/") => WireCodec::Opus,
                (_, Some(n)) if n.starts_with("pcmu/8000") => WireCodec::Pcmu,
                (_, Some(n)) if n.starts_with("pcma/8000") => WireCodec::Pcma,
                (PT_PCMU, None) => WireCodec::Pcmu,
                (PT_PCMA, None) => WireCodec::Pcma,
                _ => return None,
            };
            Some((pt, codec))
        })
        .collect()
}

/// The first `a=ice-ufrag:` value of an SDP: it changes when ICE restarts.
pub fn ice_ufrag(sdp: &str) -> Option<&str> {
    sdp.lines()
        .find_map(|l| l.trim_end().strip_prefix("a=ice-ufrag:"))
        .map(str::trim)
}

/// The first `a=setup:` value of an SDP.
fn setup_of(sdp: &str) -> Option<&str> {
    sdp.lines()
        .find_map(|l| l.trim_end().strip_prefix("a=setup:"))
        .map(str::trim)
}

/// `sdp` with every `a=setup:` line set to `role`.
fn with_setup(sdp: &str, role: &str) -> String {
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        if line.starts_with("a=setup:") {
            out.push_str("a=setup:");
            out.push_str(role);
            out.push_str("\r\n");
        } else {
            out.push_str(line);
        }
    }
    out
}

/// One WebRTC audio stream.
pub struct WebRtcSession {
    pc: Arc<dyn PeerConnection>,
    shared: Arc<Shared>,
    io: Option<AudioIo>,
    gathered: watch::Receiver<bool>,
    gather_timeout: Duration,
    track: Arc<TrackLocalStaticRTP>,
    send_task: Option<JoinHandle<()>>,
    send_rx: Option<mpsc::Receiver<Vec<i16>>>,
    ssrc: u32,
    track_added: bool,
    /// Our DTLS role once negotiated (`active` = client, `passive` =
    /// server): later answers must keep it (RFC 5763 §5; Chromium refuses
    /// a change with "Failed to set SSL role for the transport").
    setup: Option<&'static str>,
}

impl WebRtcSession {
    async fn build(opts: &WebRtcOptions) -> Result<WebRtcSession, WebRtcError> {
        let timeline = Arc::new(Timeline::new(Instant::now()));
        let mut media = MediaEngine::default();
        for c in our_codecs() {
            media
                .register_codec(c, RtpCodecKind::Audio)
                .map_err(stack)?;
        }
        // RTCP sender and receiver reports only (RFC 3550 §6.4): the
        // stack's default set adds NACK (video only) and transport-wide
        // congestion control feedback, which for one Opus stream costs a
        // timer wakeup and an SRTCP packet every 100 ms and a record per
        // packet, for a bandwidth estimate nobody uses.
        let registry = configure_rtcp_reports(Registry::new());
        let settings = SettingEngineBuilder::new()
            .with_multicast_dns_mode(MulticastDnsMode::Disabled)
            .with_include_loopback_candidate(opts.include_loopback)
            .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(ICE_MAX_CHECKS))
            .with_relay_acceptance_min_wait(Some(relay_wait(opts.relay_only)))
            .with_prflx_acceptance_min_wait(Some(NAT_PAIR_WAIT))
            .with_ice_timeouts(
                Some(DISCONNECTED_AFTER),
                Some(FAILED_AFTER),
                Some(CONSENT_INTERVAL),
            )
            // We answer as the DTLS server (RFC 5763 §5 lets the answerer
            // pick either role). As client, webrtc 0.21 queues its
            // ClientHello when ICE connects but sends it only on the
            // transport's next timer tick, up to 200 ms later; as server
            // it replies to the peer's flights as they arrive.
            .with_answering_dtls_role(RTCDtlsRole::Server)
            .build();
        let mut ice_servers = Vec::new();
        if !opts.stun_servers.is_empty() {
            ice_servers.push(RTCIceServer {
                urls: opts.stun_servers.clone(),
                ..Default::default()
            });
        }
        if let Some(t) = &opts.turn {
            ice_servers.push(RTCIceServer {
                urls: t.urls.clone(),
                username: t.user.clone(),
                credential: t.password.expose().to_string(),
            });
        }
        let policy = if opts.relay_only {
            RTCIceTransportPolicy::Relay
        } else {
            RTCIceTransportPolicy::All
        };
        let config = RTCConfigurationBuilder::new()
            .with_ice_servers(ice_servers)
            .with_ice_transport_policy(policy)
            .build();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let (from_tx, from_rx) = mpsc::channel(50);
        let (to_tx, to_rx) = mpsc::channel(50);
        let (g_tx, g_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            muted: AtomicBool::new(false),
            first_audio: AtomicBool::new(false),
            counters: Counters::default(),
            send: Mutex::new(None),
            recv_map: Mutex::new(Vec::new()),
            events: ev_tx,
            from_peer: from_tx,
            gathered: g_tx,
            timeline: timeline.clone(),
        });
        let pc = PeerConnectionBuilder::new()
            .with_configuration(config)
            .with_media_engine(media)
            .with_setting_engine(settings)
            .with_interceptor_registry(registry)
            .with_handler(Arc::new(Handler {
                shared: shared.clone(),
            }))
            .with_udp_addrs(vec![format!("{}:0", opts.bind_ip)])
            .build()
            .await
            .map_err(stack)?;
        timeline.mark(Step::Built, Instant::now());
        let ssrc: u32 = rand::random();
        let opus = our_codecs().remove(0).rtp_codec;
        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            format!("tongdai-{ssrc:08x}"),
            format!("audio-{ssrc:08x}"),
            "tongdai audio".to_string(),
            RtpCodecKind::Audio,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec: opus,
                ..Default::default()
            }],
        )));
        Ok(WebRtcSession {
            pc: Arc::new(pc),
            shared,
            io: Some(AudioIo {
                to_peer: to_tx,
                from_peer: from_rx,
                events: ev_rx,
                timeline,
            }),
            gathered: g_rx,
            gather_timeout: opts.gather_timeout,
            track,
            send_task: None,
            send_rx: Some(to_rx),
            ssrc,
            track_added: false,
            setup: None,
        })
    }

    /// Add our track (once) and offer every codec we speak on it.
    async fn add_track(&mut self) -> Result<(), WebRtcError> {
        if self.track_added {
            return Ok(());
        }
        self.track_added = true;
        let track: Arc<dyn TrackLocal> = self.track.clone();
        self.pc.add_track(track).await.map_err(stack)?;
        for t in self.pc.get_transceivers().await {
            t.set_codec_preferences(our_codecs()).await.map_err(stack)?;
        }
        if let Some(rx) = self.send_rx.take() {
            self.send_task = Some(tokio::spawn(send_loop(
                rx,
                self.track.clone(),
                self.ssrc,
                self.shared.clone(),
            )));
        }
        Ok(())
    }

    /// Set the local description and return it once ICE gathering is
    /// complete or the timeout passed.
    async fn local_sdp(&mut self, desc: RTCSessionDescription) -> Result<String, WebRtcError> {
        self.pc.set_local_description(desc).await.map_err(stack)?;
        let timeline = &self.shared.timeline;
        timeline.mark(Step::LocalDescription, Instant::now());
        let mut g = self.gathered.clone();
        let step = match tokio::time::timeout(self.gather_timeout, g.wait_for(|done| *done)).await {
            Ok(_) => Step::Gathered,
            Err(_) => Step::GatherTimeout,
        };
        timeline.mark(step, Instant::now());
        let sdp = self
            .pc
            .local_description()
            .await
            .map(|d| d.sdp)
            .ok_or_else(|| WebRtcError::Stack("no local description".to_string()))?;
        timeline.mark(Step::SdpReady, Instant::now());
        Ok(sdp)
    }

    /// The session's setup steps so far.
    pub fn timeline(&self) -> Arc<Timeline> {
        self.shared.timeline.clone()
    }

    /// Learn the codecs of the remote description: what we send with, and
    /// how to read what arrives.
    fn learn_remote(&self, sdp: &str) -> Result<(), WebRtcError> {
        let codecs = sdp_audio_codecs(sdp);
        let first = *codecs.first().ok_or(WebRtcError::NoCodec)?;
        let changed = {
            let mut send = self
                .shared
                .send
                .lock()
                .map_err(|_| WebRtcError::Stack("poisoned".into()))?;
            let changed = send.map(|(c, p)| (c, p)) != Some((first.1, first.0));
            *send = Some((first.1, first.0));
            changed
        };
        if let Ok(mut m) = self.shared.recv_map.lock() {
            *m = codecs;
        }
        if changed {
            self.shared.emit(MediaEvent::SendCodec {
                codec: first.1,
                payload_type: first.0,
            });
        }
        Ok(())
    }

    /// We call: a session and its complete SDP offer.
    pub async fn offer(opts: WebRtcOptions) -> Result<(WebRtcSession, String), WebRtcError> {
        let mut s = Self::build(&opts).await?;
        s.add_track().await?;
        let offer = s.pc.create_offer(None).await.map_err(stack)?;
        let sdp = s.local_sdp(offer).await?;
        Ok((s, sdp))
    }

    /// An ICE restart (RFC 8445 §9): a new offer with fresh ICE
    /// credentials (RFC 8839 §4.4.1.1.1) on the same session, to be sent in
    /// a re-INVITE when the path died. DTLS and SRTP carry on: only the
    /// candidate pairs are found again. The peer's answer goes to
    /// [`WebRtcSession::apply_answer`].
    pub async fn restart_offer(&mut self) -> Result<String, WebRtcError> {
        let options = RTCOfferOptions { ice_restart: true };
        let offer = self.pc.create_offer(Some(options)).await.map_err(stack)?;
        // The stack keeps the local candidates across a restart (its
        // default), so the offer lists them at once: nothing to gather
        // while the path may still be down.
        self.local_sdp(offer).await
    }

    /// The peer's answer to our offer.
    pub async fn apply_answer(&mut self, sdp: &str) -> Result<(), WebRtcError> {
        let desc = RTCSessionDescription::answer(sdp.to_string()).map_err(stack)?;
        self.pc.set_remote_description(desc).await.map_err(stack)?;
        self.shared
            .timeline
            .mark(Step::RemoteDescription, Instant::now());
        if self.setup.is_none() {
            self.setup = match setup_of(sdp) {
                Some("active") => Some("passive"),
                Some("passive") => Some("active"),
                _ => None,
            };
        }
        self.learn_remote(sdp)
    }

    /// We are called: a session and its complete SDP answer.
    pub async fn answer(
        opts: WebRtcOptions,
        remote_offer: &str,
    ) -> Result<(WebRtcSession, String), WebRtcError> {
        let mut s = Self::build(&opts).await?;
        let sdp = s.answer_offer(remote_offer).await?;
        Ok((s, sdp))
    }

    async fn answer_offer(&mut self, remote_offer: &str) -> Result<String, WebRtcError> {
        let desc = RTCSessionDescription::offer(remote_offer.to_string()).map_err(stack)?;
        self.pc.set_remote_description(desc).await.map_err(stack)?;
        self.shared
            .timeline
            .mark(Step::RemoteDescription, Instant::now());
        self.add_track().await?;
        let answer = self.pc.create_answer(None).await.map_err(stack)?;
        let mut sdp = self.local_sdp(answer).await?;
        // webrtc 0.21 answers every offer with its default answering role,
        // also on renegotiation, and refuses an edited local description.
        // Its DTLS transport is started once and keeps its role, so the SDP
        // we send states the role in use (RFC 5763 §5).
        if let Some(role) = self.setup {
            sdp = with_setup(&sdp, role);
        }
        if self.setup.is_none() {
            self.setup = match setup_of(&sdp) {
                Some("active") => Some("active"),
                Some("passive") => Some("passive"),
                _ => None,
            };
        }
        self.learn_remote(remote_offer)?;
        Ok(sdp)
    }

    /// A re-INVITE or UPDATE offer from the peer (hold, resume, refresh,
    /// ICE restart): answered on the same DTLS transport, so media
    /// continues. New ICE credentials in the offer restart ICE (the stack
    /// does it while applying the offer) and the answer carries ours.
    pub async fn handle_reoffer(&mut self, offer: &str) -> Result<String, WebRtcError> {
        self.answer_offer(offer).await
    }

    /// Send silence instead of the microphone.
    pub fn set_mute(&self, mute: bool) {
        self.shared.muted.store(mute, Ordering::Relaxed);
    }

    pub fn muted(&self) -> bool {
        self.shared.muted.load(Ordering::Relaxed)
    }

    /// The audio and event channels; `None` after the first call.
    pub fn take_io(&mut self) -> Option<AudioIo> {
        self.io.take()
    }

    pub fn stats(&self) -> MediaStats {
        let c = &self.shared.counters;
        MediaStats {
            packets_in: c.packets_in.load(Ordering::Relaxed),
            bytes_in: c.bytes_in.load(Ordering::Relaxed),
            packets_out: c.packets_out.load(Ordering::Relaxed),
            bytes_out: c.bytes_out.load(Ordering::Relaxed),
            decode_errors: c.decode_errors.load(Ordering::Relaxed),
            send_errors: c.send_errors.load(Ordering::Relaxed),
        }
    }

    /// The codec we send with, once negotiated.
    pub fn send_codec(&self) -> Option<WireCodec> {
        self.shared.send.lock().ok().and_then(|s| s.map(|(c, _)| c))
    }

    /// Close the transport (DTLS close_notify) and stop the tasks.
    pub async fn close(&mut self) {
        if let Some(t) = self.send_task.take() {
            t.abort();
        }
        let _ = self.pc.close().await;
        self.shared.emit(MediaEvent::Closed);
    }
}

impl Drop for WebRtcSession {
    fn drop(&mut self) {
        if let Some(t) = self.send_task.take() {
            t.abort();
        }
        let pc = self.pc.clone();
        if let Ok(h) = tokio::runtime::Handle::try_current() {
            h.spawn(async move {
                let _ = pc.close().await;
            });
        }
    }
}

/// The project's G.711 ([`crate::media::codec`]) for a G.711 wire codec.
fn g711(codec: WireCodec) -> G711 {
    match codec {
        WireCodec::Pcma => G711::Alaw,
        _ => G711::Ulaw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_codec_order_from_sdp() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0 111 8 126\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:126 telephone-event/8000\r\n";
        assert_eq!(
            sdp_audio_codecs(sdp),
            vec![
                (0, WireCodec::Pcmu),
                (111, WireCodec::Opus),
                (8, WireCodec::Pcma)
            ]
        );
    }

    /// A STUN server that never answers does not stall call setup: the
    /// offer comes back within the gathering bound, with host candidates.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dead_stun_server_costs_at_most_the_gathering_bound() {
        // Nothing listens on the discard port of loopback.
        let dead = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = dead.local_addr().unwrap().port();
        drop(dead);
        let opts = WebRtcOptions {
            bind_ip: IpAddr::from([127, 0, 0, 1]),
            include_loopback: true,
            stun_servers: vec![format!("stun:127.0.0.1:{port}")],
            ..Default::default()
        };
        let bound = opts.gather_timeout;
        let t0 = std::time::Instant::now();
        let (mut s, sdp) = WebRtcSession::offer(opts).await.unwrap();
        let took = t0.elapsed();
        assert!(
            took <= bound + std::time::Duration::from_millis(800),
            "gathering took {took:?} (bound {bound:?})"
        );
        assert!(sdp.contains("a=candidate:"), "{sdp}");
        s.close().await;
    }

    /// Two sessions in one process over loopback: offer, answer, media
    /// both ways (Opus), mute, re-offer keeps media.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_sessions_talk_over_loopback() {
        let opts = WebRtcOptions {
            bind_ip: IpAddr::from([127, 0, 0, 1]),
            include_loopback: true,
            ..Default::default()
        };
        let (mut a, offer) = WebRtcSession::offer(opts.clone()).await.unwrap();
        assert!(offer.contains("a=setup:actpass"), "{offer}");
        assert!(offer.contains("a=rtcp-mux"), "{offer}");
        assert!(offer.contains("a=candidate:"), "{offer}");
        assert!(offer.contains("a=rtpmap:111 opus/48000/2"), "{offer}");
        assert!(offer.contains("PCMU/8000"), "{offer}");
        // RTCP reports only: no transport-wide congestion control feedback.
        assert!(!offer.contains("transport-cc"), "{offer}");
        let (mut b, answer) = WebRtcSession::answer(opts, &offer).await.unwrap();
        // We answer as the DTLS server: see `build`.
        assert!(answer.contains("a=setup:passive"), "{answer}");
        a.apply_answer(&answer).await.unwrap();
        assert_eq!(a.send_codec(), Some(WireCodec::Opus));
        let mut aio = a.take_io().unwrap();
        let mut bio = b.take_io().unwrap();
        let tone = |hz: f32| -> Vec<Vec<i16>> {
            (0..50)
                .map(|f| {
                    (0..FRAME_SAMPLES)
                        .map(|i| {
                            let t = (f * FRAME_SAMPLES + i) as f32 / SAMPLE_RATE as f32;
                            (8000.0 * (2.0 * std::f32::consts::PI * hz * t).sin()) as i16
                        })
                        .collect()
                })
                .collect()
        };
        let (ta, tb) = (tone(440.0), tone(1000.0));
        let (a_tx, b_tx) = (aio.to_peer.clone(), bio.to_peer.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            for _ in 0..5 {
                for (fa, fb) in ta.iter().zip(tb.iter()) {
                    tick.tick().await;
                    let _ = a_tx.send(fa.clone()).await;
                    let _ = b_tx.send(fb.clone()).await;
                }
            }
        });
        let got = tokio::time::timeout(Duration::from_secs(10), async {
            let fa = bio.from_peer.recv().await;
            let fb = aio.from_peer.recv().await;
            (fa, fb)
        })
        .await
        .unwrap();
        assert!(got.0.is_some_and(|f| f.len() == FRAME_SAMPLES));
        assert!(got.1.is_some_and(|f| f.len() == FRAME_SAMPLES));
        let mut connected = false;
        while let Ok(e) = aio.events.try_recv() {
            connected |= matches!(e, MediaEvent::Connected { .. });
        }
        assert!(connected);
        // A hold-style re-offer from b: a answers, media keeps flowing.
        let (_, b_reoffer) = {
            let o = b.pc.create_offer(None).await.unwrap();
            let sdp = b.local_sdp(o).await.unwrap();
            ((), sdp)
        };
        let re_answer = a.handle_reoffer(&b_reoffer).await.unwrap();
        // a was the DTLS client (b answered passive): it stays active.
        assert!(re_answer.contains("a=setup:active"), "{re_answer}");
        b.apply_answer(&re_answer).await.unwrap();
        let before = b.stats().packets_in;
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(b.stats().packets_in > before + 10, "{:?}", b.stats());
        a.close().await;
        b.close().await;
    }

    /// An ICE restart either way (RFC 8445 §9): the offer carries new
    /// credentials, the answer too, gathering is awaited (not the 1.5 s
    /// bound), DTLS keeps its roles and media goes on over the new pairs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ice_restarts_either_way_keep_the_media() {
        let opts = WebRtcOptions {
            bind_ip: IpAddr::from([127, 0, 0, 1]),
            include_loopback: true,
            ..Default::default()
        };
        let (mut a, offer) = WebRtcSession::offer(opts.clone()).await.unwrap();
        let (mut b, answer) = WebRtcSession::answer(opts, &offer).await.unwrap();
        a.apply_answer(&answer).await.unwrap();
        let mut aio = a.take_io().unwrap();
        let mut bio = b.take_io().unwrap();
        let (a_tx, b_tx) = (aio.to_peer.clone(), bio.to_peer.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            loop {
                tick.tick().await;
                let f = vec![1000i16; FRAME_SAMPLES];
                if a_tx.send(f.clone()).await.is_err() || b_tx.send(f).await.is_err() {
                    break;
                }
            }
        });
        // Drain what arrives so the channels never fill.
        tokio::spawn(async move { while aio.from_peer.recv().await.is_some() {} });
        tokio::spawn(async move { while bio.from_peer.recv().await.is_some() {} });
        let flowing = |s: &WebRtcSession| s.stats().packets_in;
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert!(flowing(&a) > 10 && flowing(&b) > 10);
        let mut ufrags = vec![ice_ufrag(&offer).unwrap().to_string()];
        for restarting_a in [true, false] {
            let (off, ans) = if restarting_a {
                (&mut a, &mut b)
            } else {
                (&mut b, &mut a)
            };
            let t0 = Instant::now();
            let re_offer = off.restart_offer().await.unwrap();
            let re_answer = ans.handle_reoffer(&re_offer).await.unwrap();
            assert!(
                t0.elapsed() < Duration::from_millis(1000),
                "the restart waited for the gathering bound: {:?}",
                t0.elapsed()
            );
            off.apply_answer(&re_answer).await.unwrap();
            for sdp in [&re_offer, &re_answer] {
                let u = ice_ufrag(sdp).unwrap().to_string();
                assert!(!ufrags.contains(&u), "{u} reused: {sdp}");
                assert!(sdp.contains("a=candidate:"), "{sdp}");
                ufrags.push(u);
            }
            // b answered the first offer passive (DTLS server), a is the
            // client: each keeps its role, whoever answers now.
            assert!(
                re_answer.contains(if restarting_a {
                    "a=setup:passive"
                } else {
                    "a=setup:active"
                }),
                "{re_answer}"
            );
            let (pa, pb) = (flowing(&a), flowing(&b));
            tokio::time::sleep(Duration::from_millis(800)).await;
            assert!(
                flowing(&a) > pa + 20 && flowing(&b) > pb + 20,
                "media after the restart: {:?} {:?}",
                a.stats(),
                b.stats()
            );
        }
        a.close().await;
        b.close().await;
    }
}
