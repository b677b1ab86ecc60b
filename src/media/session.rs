//! One call leg's audio over plain RTP: the only part of `media` with a
//! socket and a clock. Every decision is made by the sans-IO pieces.
//!
//! ```text
//!   every 20 ms (tokio interval, the device's pace):
//!     device.read ─▶ [resample] ─▶ [mute? silence] ─▶ encode ─▶ RTP ─▶ socket ─▶ remote (latched)
//!                     DTMF queued? the tick sends an RFC 4733 packet instead
//!     jitter.pop ─▶ decode / PLC (Opus: FEC) / time-scale (playout) ─▶ [resample] ─▶ device.write
//!   on each datagram:
//!     RTCP (mux or port+1) ─▶ LSR/DLSR → RTT
//!     RTP: telephone-event ─▶ Dtmf(digit) once; audio ─▶ jitter.push
//! ```
//!
//! - **Symmetric RTP** (RFC 4961): packets go to the SDP address until the
//!   first valid packet arrives; then to wherever the peer sends from.
//!   `update_remote` (after a re-INVITE) resets the latch.
//! - **Mute** keeps the stream alive: it sends encoded digital silence, so
//!   the peer's jitter buffer, NAT bindings and RTP timers see no change.
//! - **Hold** (`set_hold(true)`, our `sendonly`/`inactive`) sends **no
//!   RTP** and plays silence; RTCP continues (RFC 3264 §5.1). On unhold the
//!   first packet carries the marker bit and the timestamp has kept
//!   running, so the peer's buffer restarts cleanly; ours is reset too.
//!   The peer holding us is `set_direction(false, true)`: we stop
//!   sending, and play what it sends (music on hold).
//! - **RTCP**: SR/RR + SDES every `rtcp_interval` to the remote port + 1
//!   (RFC 3550 §11) from our port + 1 when we can bind it, and accepted on
//!   the RTP port too (RFC 5761 demultiplexing). A BYE on stop.
//! - **Codecs** ([`AudioCodec`]): the encoder and decoder run at the
//!   codec's PCM rate, RTP timestamps and the jitter buffer at its RTP
//!   clock (G.722: 16 kHz audio, 8 kHz clock; Opus: 48 kHz clock). The
//!   device is normally opened at the codec's rate; when a re-INVITE
//!   changes the codec mid-call, the session resamples between the two.
//! - **Events**: levels every 200 ms, quality every second, DTMF at once,
//!   through a bounded channel (levels and quality are dropped, never
//!   queued without bound, when nobody reads).

use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::time::{Duration, Instant, SystemTime};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::audio_codec::{AudioCodec, Decoder, Encoder, OPUS_PT};
use super::device::{AudioDevice, NullDevice};
use super::dtmf::{DtmfReceiver, DtmfSender, NotADigit, event_code};
use super::jitter::{JitterBuffer, JitterConfig, JitterStats};
use super::playout::{Playout, PlayoutStats};
use super::resample::Resampler;
use super::rtcp::{self, ReportBlock, RtcpPacket, SenderInfo};
use super::rtp::{self, ReceiverStats, RtpHeader, RtpPacket, RtpSender};
use super::rx_stamp;
use super::tone;

/// Where RTCP goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpMode {
    /// RTP port + 1 on both sides (RFC 3550 §11; SDP without `a=rtcp`).
    NextPort,
    /// On the RTP port (RFC 5761, `a=rtcp-mux`).
    Mux,
    Off,
}

/// What the SDP negotiated, and a few knobs.
#[derive(Debug, Clone)]
pub struct MediaParams {
    pub codec: AudioCodec,
    /// The payload type we send it with (the peer's, for a dynamic one).
    /// G.711 decodes either law whichever is negotiated.
    pub payload_type: u8,
    /// The peer's telephone-event payload type (RFC 4733), if any.
    pub telephone_event: Option<u8>,
    pub ptime: Duration,
    pub rtcp: RtcpMode,
    pub rtcp_interval: Duration,
    pub level_interval: Duration,
    pub quality_interval: Duration,
    /// SDES CNAME.
    pub cname: String,
    pub jitter: JitterConfig,
}

impl MediaParams {
    /// A static payload type's codec (PCMU when `payload_type` is not
    /// one: [`MediaSession::start`] then refuses it).
    pub fn new(payload_type: u8, telephone_event: Option<u8>) -> MediaParams {
        let codec = AudioCodec::from_static_pt(payload_type).unwrap_or(AudioCodec::Pcmu);
        MediaParams::with_codec(codec, payload_type, telephone_event)
    }

    pub fn with_codec(
        codec: AudioCodec,
        payload_type: u8,
        telephone_event: Option<u8>,
    ) -> MediaParams {
        MediaParams {
            codec,
            payload_type,
            telephone_event,
            ptime: Duration::from_millis(20),
            rtcp: RtcpMode::NextPort,
            rtcp_interval: Duration::from_secs(5),
            level_interval: Duration::from_millis(200),
            quality_interval: Duration::from_secs(1),
            cname: "tongdai".into(),
            jitter: JitterConfig::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// Coalesced peak levels since the last report, 0.0–1.0 (-60..0 dBFS).
    Levels { mic: f32, speaker: f32 },
    /// Reception quality over the last interval. `rtt_ms` needs an RTCP
    /// round trip (a few seconds into the call) and a peer that sends RTCP.
    Quality {
        jitter_ms: f32,
        loss_pct: f32,
        rtt_ms: Option<f32>,
        mos: f32,
    },
    /// A telephone-event digit from the peer (once per event).
    Dtmf(char),
    /// The device failed; the call continues on a null device.
    DeviceLost(String),
    /// The device's recording stopped (a full disk); the call goes on.
    RecordingStopped(super::RecordingStopped),
    /// Symmetric RTP: we now send to where the peer sends from.
    Latched(SocketAddr),
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("payload type {0} does not match the codec")]
    Codec(u8),
    #[error("codec: {0}")]
    Encoder(#[from] super::audio_codec::CodecError),
    #[error("RTP socket: {0}")]
    Socket(#[from] std::io::Error),
}

/// Totals at the end of a session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaReport {
    pub packets_sent: u64,
    pub packets_received: u64,
    pub dtmf_received: String,
    pub jitter: JitterStats,
    /// The time-scale changes carried out on what we heard.
    pub playout: PlayoutStats,
    pub rtt_ms: Option<f32>,
    pub remote: Option<SocketAddr>,
    /// The codec at the end (after any re-INVITE).
    pub codec: Option<AudioCodec>,
}

enum Control {
    Mute(bool),
    Direction {
        send: bool,
        recv: bool,
    },
    Remote {
        addr: SocketAddr,
        codec: AudioCodec,
        payload_type: u8,
        telephone_event: Option<u8>,
    },
    Dtmf(char),
    Stop,
}

/// The running session; dropping it stops the task (the device is closed).
pub struct MediaHandle {
    ctl: mpsc::UnboundedSender<Control>,
    events: Option<mpsc::Receiver<MediaEvent>>,
    task: Option<JoinHandle<MediaReport>>,
    local: SocketAddr,
}

impl MediaHandle {
    /// Send digital silence instead of the microphone.
    pub fn set_mute(&self, mute: bool) {
        let _ = self.ctl.send(Control::Mute(mute));
    }

    /// Our hold: send nothing (RTCP continues) and play silence.
    pub fn set_hold(&self, hold: bool) {
        let _ = self.ctl.send(Control::Direction {
            send: !hold,
            recv: !hold,
        });
    }

    /// The general case (RFC 3264 directions seen from us): `send` false for
    /// `recvonly`/`inactive`, `recv` false for `sendonly`/`inactive`.
    pub fn set_direction(&self, send: bool, recv: bool) {
        let _ = self.ctl.send(Control::Direction { send, recv });
    }

    /// A re-INVITE changed the peer's address or codec.
    pub fn update_remote(
        &self,
        addr: SocketAddr,
        codec: AudioCodec,
        payload_type: u8,
        telephone_event: Option<u8>,
    ) {
        let _ = self.ctl.send(Control::Remote {
            addr,
            codec,
            payload_type,
            telephone_event,
        });
    }

    /// Queue a digit as RFC 4733 events (needs a negotiated telephone-event).
    pub fn send_dtmf(&self, digit: char) -> Result<(), NotADigit> {
        event_code(digit).ok_or(NotADigit(digit))?;
        let _ = self.ctl.send(Control::Dtmf(digit));
        Ok(())
    }

    /// The event receiver (once).
    pub fn take_events(&mut self) -> Option<mpsc::Receiver<MediaEvent>> {
        self.events.take()
    }

    /// Our RTP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Stop the task, close the device (a recording is finalized), and
    /// return the totals.
    pub async fn stop(mut self) -> MediaReport {
        let _ = self.ctl.send(Control::Stop);
        match self.task.take() {
            Some(t) => t.await.unwrap_or_default(),
            None => MediaReport::default(),
        }
    }
}

impl Drop for MediaHandle {
    fn drop(&mut self) {
        let _ = self.ctl.send(Control::Stop);
    }
}

pub struct MediaSession;

impl MediaSession {
    /// Start the audio task on the leg's RTP socket. Must be called inside a
    /// tokio runtime.
    pub fn start(
        socket: StdUdpSocket,
        remote: SocketAddr,
        params: MediaParams,
        device: Box<dyn AudioDevice>,
    ) -> Result<MediaHandle, MediaError> {
        // G.711 is one family: the payload type picks the law.
        let codec = match (
            params.codec,
            AudioCodec::from_static_pt(params.payload_type),
        ) {
            (
                AudioCodec::Pcmu | AudioCodec::Pcma,
                Some(law @ (AudioCodec::Pcmu | AudioCodec::Pcma)),
            ) => law,
            (c, _) => c,
        };
        if codec
            .static_pt()
            .is_some_and(|pt| pt != params.payload_type)
        {
            return Err(MediaError::Codec(params.payload_type));
        }
        let device_rate = device.sample_rate();
        let pcm_rate = codec.pcm_rate(device_rate);
        let enc = Encoder::new(codec, pcm_rate)?;
        let dec = Decoder::new(codec, pcm_rate)?;
        socket.set_nonblocking(true)?;
        let local = socket.local_addr()?;
        let sock = UdpSocket::from_std(socket)?;
        let rtcp_sock = if params.rtcp == RtcpMode::NextPort {
            StdUdpSocket::bind(SocketAddr::new(local.ip(), local.port().wrapping_add(1)))
                .and_then(|s| {
                    s.set_nonblocking(true)?;
                    UdpSocket::from_std(s)
                })
                .map_err(
                    |e| tracing::debug!(error = %e, "no RTCP port; RTCP leaves from the RTP port"),
                )
                .ok()
        } else {
            None
        };
        let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::channel(256);
        let ssrc: u32 = rand::random();
        let params = MediaParams { codec, ..params };
        let task = Task {
            codec,
            pcm_rate,
            device_rate,
            enc,
            dec,
            mic_in: Resampler::new(device_rate, pcm_rate),
            speaker_out: Resampler::new(pcm_rate, device_rate),
            scratch: Vec::new(),
            payload: Vec::with_capacity(256),
            params: params.clone(),
            device,
            remote,
            latched: false,
            rtp: RtpSender::new(ssrc, rand::random(), rand::random()),
            jitter: JitterBuffer::new(jitter_config(&params, codec)),
            dtmf_tx: DtmfSender::default(),
            dtmf_rx: DtmfReceiver::default(),
            rx_stats: None,
            muted: false,
            send: true,
            recv: true,
            events: ev_tx,
            mic_peak: 0.0,
            speaker_peak: 0.0,
            last_sr: None,
            rtt_ms: None,
            sent_since_report: false,
            quality_prior: (0, 0, 0),
            report: MediaReport::default(),
            playout: Playout::new(pcm_rate, codec.clock_rate()),
            out: Vec::with_capacity(256),
            lateness: TickLateness::default(),
            last_wake: Instant::now(),
        };
        let handle = tokio::spawn(task.run(sock, rtcp_sock, ctl_rx));
        Ok(MediaHandle {
            ctl: ctl_tx,
            events: Some(ev_rx),
            task: Some(handle),
            local,
        })
    }
}

/// The jitter buffer runs at the codec's RTP clock.
fn jitter_config(params: &MediaParams, codec: AudioCodec) -> JitterConfig {
    let ms = params.ptime.as_millis() as u64;
    JitterConfig {
        clock_rate: codec.clock_rate(),
        frame_samples: (u64::from(codec.clock_rate()) * ms / 1000) as u32,
        ..params.jitter.clone()
    }
}

struct Task {
    codec: AudioCodec,
    /// The encoder's and decoder's rate, and the device's.
    pcm_rate: u32,
    device_rate: u32,
    enc: Encoder,
    dec: Decoder,
    /// Device → codec and codec → device rates (identity normally).
    mic_in: Resampler,
    speaker_out: Resampler,
    scratch: Vec<i16>,
    payload: Vec<u8>,
    params: MediaParams,
    device: Box<dyn AudioDevice>,
    remote: SocketAddr,
    latched: bool,
    rtp: RtpSender,
    jitter: JitterBuffer,
    dtmf_tx: DtmfSender,
    dtmf_rx: DtmfReceiver,
    rx_stats: Option<ReceiverStats>,
    muted: bool,
    send: bool,
    recv: bool,
    events: mpsc::Sender<MediaEvent>,
    mic_peak: f32,
    speaker_peak: f32,
    /// The peer's last SR: (middle NTP bits, when it arrived).
    last_sr: Option<(u32, Instant)>,
    rtt_ms: Option<f32>,
    sent_since_report: bool,
    /// (expected, received, late) at the last quality event.
    quality_prior: (u32, u32, u64),
    report: MediaReport,
    /// Decoded audio waiting to be played.
    playout: Playout,
    out: Vec<u8>,
    lateness: TickLateness,
    /// When the task last finished handling anything.
    last_wake: Instant,
}

/// How late our 20 ms ticks ran against their schedule.
#[derive(Debug, Default)]
struct TickLateness {
    /// Ticks more than 5 ms late.
    late: u64,
    max_ms: f64,
}

impl TickLateness {
    fn record(&mut self, late: Duration) {
        let ms = late.as_secs_f64() * 1000.0;
        if ms > 5.0 {
            self.late += 1;
        }
        self.max_ms = self.max_ms.max(ms);
    }
}

impl Task {
    /// Samples per frame at the device's rate.
    fn frame_samples(&self) -> usize {
        (u128::from(self.device_rate) * self.params.ptime.as_millis() / 1000) as usize
    }

    /// Samples per frame at the codec's PCM rate.
    fn codec_frame(&self) -> usize {
        (u128::from(self.pcm_rate) * self.params.ptime.as_millis() / 1000) as usize
    }

    /// RTP clock units per frame.
    fn frame_ticks(&self) -> u32 {
        self.codec.ticks(self.codec_frame(), self.pcm_rate)
    }

    /// Is `pt` audio of the current codec? G.711 takes either law;
    /// Opus its payload type in either SDP (ours and the peer's may differ).
    fn is_audio(&self, pt: u8) -> bool {
        match self.codec {
            AudioCodec::Pcmu | AudioCodec::Pcma => pt == 0 || pt == 8,
            AudioCodec::G722 => pt == 9,
            AudioCodec::Opus => pt == self.params.payload_type || pt == OPUS_PT,
        }
    }

    /// Follow a re-INVITE to another codec: new coder state, a buffer on
    /// the new clock, and resampling if the device's rate no longer fits.
    fn switch_codec(&mut self, codec: AudioCodec) {
        let pcm_rate = codec.pcm_rate(self.device_rate);
        let (enc, dec) = match (Encoder::new(codec, pcm_rate), Decoder::new(codec, pcm_rate)) {
            (Ok(e), Ok(d)) => (e, d),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "cannot switch to {codec}; keeping {}", self.codec);
                return;
            }
        };
        tracing::debug!(from = %self.codec, to = %codec, "codec change");
        self.codec = codec;
        self.pcm_rate = pcm_rate;
        self.enc = enc;
        self.dec = dec;
        self.mic_in = Resampler::new(self.device_rate, pcm_rate);
        self.speaker_out = Resampler::new(pcm_rate, self.device_rate);
        self.jitter = JitterBuffer::new(jitter_config(&self.params, codec));
        self.rx_stats = None;
        self.playout = Playout::new(pcm_rate, codec.clock_rate());
        self.rtp.mark_talkspurt();
    }

    async fn run(
        mut self,
        sock: UdpSocket,
        rtcp_sock: Option<UdpSocket>,
        mut ctl: mpsc::UnboundedReceiver<Control>,
    ) -> MediaReport {
        let start = tokio::time::Instant::now();
        let mut tick = tokio::time::interval_at(start + self.params.ptime, self.params.ptime);
        tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let mut next_levels = Instant::now() + self.params.level_interval;
        let mut next_quality = Instant::now() + self.params.quality_interval;
        // The first report early (half an interval, RFC 3550 §6.2), then regular.
        let mut next_rtcp = Instant::now() + self.params.rtcp_interval / 2;
        let mut buf = vec![0u8; 2048];
        let mut rbuf = vec![0u8; 2048];
        let mut mic = vec![0i16; self.frame_samples()];
        // With kernel arrival stamps, RTP is read once a tick (no wake per
        // packet; see `rx_stamp`).
        let stamped = rx_stamp::enable(&sock);
        loop {
            tokio::select! {
                due = tick.tick() => {
                    // What the socket already holds is read before the pop:
                    // after our task was held up, select! may take the tick
                    // first, and the pop would miss a packet that is here
                    // (an underrun, a stretch, later a shrink: two cuts).
                    // When this tick ran late, those packets came in while we
                    // were held up, not now: stamped at the tick's due time,
                    // they do not read as near misses to the buffer.
                    let due = due.into_std();
                    if stamped {
                        self.read_stamped(due, &sock, &mut buf).await;
                    }
                    while let Ok((n, from)) = sock.try_recv_from(&mut buf) {
                        let at = Instant::now().min(due.max(self.last_wake));
                        self.on_datagram(at, &buf[..n], from, &sock).await;
                    }
                    let now = Instant::now();
                    self.lateness.record(now.saturating_duration_since(due));
                    self.on_tick(now, &sock, &mut mic).await;
                    if now >= next_levels {
                        next_levels = now + self.params.level_interval;
                        let ev = MediaEvent::Levels { mic: self.mic_peak, speaker: self.speaker_peak };
                        self.mic_peak = 0.0;
                        self.speaker_peak = 0.0;
                        let _ = self.events.try_send(ev);
                    }
                    if now >= next_quality {
                        next_quality = now + self.params.quality_interval;
                        self.quality();
                    }
                    if self.params.rtcp != RtcpMode::Off && now >= next_rtcp {
                        next_rtcp = now + self.params.rtcp_interval;
                        let pkt = self.rtcp_report(now, false);
                        self.send_rtcp(&sock, rtcp_sock.as_ref(), &pkt).await;
                    }
                }
                r = sock.recv_from(&mut buf), if !stamped => {
                    if let Ok((n, from)) = r {
                        self.on_datagram(Instant::now(), &buf[..n], from, &sock).await;
                    }
                }
                r = recv_opt(rtcp_sock.as_ref(), &mut rbuf) => {
                    if let Ok((n, _)) = r {
                        self.on_rtcp(&rbuf[..n]);
                    }
                }
                c = ctl.recv() => {
                    match c {
                        None | Some(Control::Stop) => break,
                        Some(c) => self.control(c),
                    }
                }
            }
            self.last_wake = Instant::now();
        }
        if self.params.rtcp != RtcpMode::Off {
            let pkt = self.rtcp_report(Instant::now(), true);
            self.send_rtcp(&sock, rtcp_sock.as_ref(), &pkt).await;
        }
        if let Err(e) = self.device.close() {
            let _ = self.events.try_send(MediaEvent::DeviceLost(e.0));
        }
        self.report.jitter = self.jitter.stats();
        self.report.playout = self.playout.stats();
        // One line a call tells the buffer's own decisions (dropped,
        // stretched) from our task being late (a loaded machine, a debug
        // build): tests that hunt for cuts read it.
        let j = &self.report.jitter;
        tracing::debug!(
            codec = %self.codec,
            played = j.played,
            dropped = j.dropped,
            stretched = j.stretched,
            accelerated = j.accelerated,
            expanded = j.expanded,
            lost = j.lost,
            late = j.late,
            skipped = j.skipped,
            mean_delay_ms = format!("{:.1}", j.mean_delay_ms),
            late_ticks = self.lateness.late,
            max_tick_late_ms = format!("{:.1}", self.lateness.max_ms),
            jitter_ms = format!("{:.1}", j.jitter_ms),
            target_ms = format!("{:.1}", j.target_ms),
            "jitter buffer at the end of the call"
        );
        self.report.rtt_ms = self.rtt_ms;
        self.report.remote = Some(self.remote);
        self.report.codec = Some(self.codec);
        self.report
    }

    fn control(&mut self, c: Control) {
        match c {
            Control::Mute(m) => self.muted = m,
            Control::Direction { send, recv } => {
                if send && !self.send {
                    self.rtp.mark_talkspurt();
                }
                if recv != self.recv {
                    // Start clean either way: no stale audio after unhold.
                    self.jitter.reset();
                    self.dec.reset();
                    self.playout.clear();
                }
                self.send = send;
                self.recv = recv;
            }
            Control::Remote {
                addr,
                codec,
                payload_type,
                telephone_event,
            } => {
                if codec != self.codec {
                    self.switch_codec(codec);
                }
                if self.codec == codec {
                    self.params.codec = codec;
                    self.params.payload_type = payload_type;
                }
                self.params.telephone_event = telephone_event;
                if addr != self.remote {
                    self.remote = addr;
                    self.latched = false;
                }
            }
            Control::Dtmf(d) => {
                if self.params.telephone_event.is_none() {
                    tracing::debug!("no telephone-event negotiated; digit {d} not sent in RTP");
                } else if self.dtmf_tx.push(d).is_err() {
                    tracing::debug!("not a digit: {d}");
                }
            }
            Control::Stop => {}
        }
    }

    /// Everything the socket holds, each datagram at its kernel arrival
    /// time; one that came in after `due` (our task was held up) counts
    /// as arrived at `due`, as in the per-packet path: the wait was ours,
    /// not the network's, and must not read as a near miss.
    async fn read_stamped(&mut self, due: Instant, sock: &UdpSocket, buf: &mut [u8]) {
        let now = Instant::now();
        let wall = SystemTime::now();
        let oldest = now.checked_sub(Duration::from_secs(1)).unwrap_or(now);
        while let Ok((n, from, stamp)) = rx_stamp::recv(sock, buf) {
            let arrived = stamp.map_or(now, |s| rx_stamp::to_instant(s, now, wall, oldest));
            self.on_datagram(arrived.min(due), &buf[..n], from, sock)
                .await;
        }
    }

    async fn on_tick(&mut self, now: Instant, sock: &UdpSocket, mic: &mut [i16]) {
        let ticks = self.frame_ticks();
        let want = self.codec_frame();
        // Microphone.
        if let Err(e) = self.device.read(mic) {
            self.device_lost(e.0);
            mic.fill(0);
        }
        let level = if self.muted { 0.0 } else { tone::meter(mic) };
        self.mic_peak = self.mic_peak.max(level);
        if self.send {
            let ts = self.rtp.timestamp();
            let te = self.params.telephone_event;
            let dtmf = match te {
                Some(_) => self.dtmf_tx.tick(ts, ticks),
                None => None,
            };
            let mut ready = true;
            match (dtmf, te) {
                (Some(p), Some(pt)) => {
                    self.rtp.packet(
                        pt,
                        p.marker,
                        p.timestamp,
                        &p.payload.to_bytes(),
                        &mut self.out,
                    );
                    if p.payload.end {
                        // Audio after an event starts a new talk spurt.
                        self.rtp.mark_talkspurt();
                    }
                }
                _ => {
                    self.payload.clear();
                    let pcm: &[i16] = if self.muted {
                        // Encoded digital silence (G.711: its silence code).
                        self.scratch.clear();
                        self.scratch.resize(want, 0);
                        &self.scratch
                    } else if self.mic_in.is_identity() {
                        mic
                    } else {
                        self.scratch.clear();
                        self.mic_in.frame(mic, want, &mut self.scratch);
                        &self.scratch
                    };
                    if let Err(e) = self.enc.encode(pcm, &mut self.payload) {
                        tracing::debug!(error = %e, "encoder failed; frame not sent");
                        ready = false;
                    }
                    self.rtp
                        .audio(self.params.payload_type, &self.payload, &mut self.out);
                }
            }
            if ready && sock.send_to(&self.out, self.remote).await.is_ok() {
                self.report.packets_sent += 1;
                self.sent_since_report = true;
            }
        }
        self.rtp.tick(ticks);
        // Speaker.
        if self.recv {
            self.playout
                .fill(&mut self.jitter, now, want, &mut self.dec);
        } else {
            self.playout.pad(want);
        }
        let pcm = self.playout.pcm();
        let n = want.min(pcm.len());
        let speaker = if self.recv {
            tone::meter(&pcm[..n])
        } else {
            0.0
        };
        self.speaker_peak = self.speaker_peak.max(speaker);
        let written = if self.speaker_out.is_identity() {
            self.device.write(&pcm[..n])
        } else {
            self.scratch.clear();
            let frame = mic.len();
            self.speaker_out.frame(&pcm[..n], frame, &mut self.scratch);
            self.device.write(&self.scratch)
        };
        self.playout.consume(n);
        if let Err(e) = written {
            self.device_lost(e.0);
        } else if let Some(r) = self.device.take_recording_stopped() {
            let _ = self.events.try_send(MediaEvent::RecordingStopped(r));
        }
    }

    fn device_lost(&mut self, why: String) {
        tracing::warn!(device = %self.device.name(), error = %why, "audio device lost");
        let _ = self.events.try_send(MediaEvent::DeviceLost(why));
        self.device = Box::new(NullDevice::new(self.device_rate));
    }

    async fn on_datagram(&mut self, now: Instant, buf: &[u8], from: SocketAddr, sock: &UdpSocket) {
        if rtp::is_rtcp(buf) {
            self.on_rtcp(buf);
            return;
        }
        let Ok(p) = rtp::parse(buf) else {
            return;
        };
        let pt = p.header.payload_type;
        let is_te = self.params.telephone_event == Some(pt);
        if !is_te && !self.is_audio(pt) {
            // Comfort noise (13) or anything unexpected: not audio we play.
            return;
        }
        if !self.latched {
            self.latched = true;
            if from != self.remote {
                tracing::debug!(%from, sdp = %self.remote, "symmetric RTP: latching");
                self.remote = from;
                let _ = self.events.try_send(MediaEvent::Latched(from));
            }
        }
        let _ = sock;
        self.report.packets_received += 1;
        let h = p.header;
        match &mut self.rx_stats {
            Some(s) if s.ssrc == h.ssrc => s.update(now, h.sequence, h.timestamp),
            _ => {
                let mut s = ReceiverStats::new(h.ssrc, h.sequence, self.codec.clock_rate(), now);
                s.update(now, h.sequence, h.timestamp);
                self.rx_stats = Some(s);
            }
        }
        if is_te {
            if let Some(d) = self.dtmf_rx.on_packet(h.timestamp, p.payload) {
                self.report.dtmf_received.push(d);
                let _ = self.events.try_send(MediaEvent::Dtmf(d));
            }
            // The event replaces audio in the slots it covers: fill the
            // latest one with silence (an empty payload) so the buffer sees
            // no loss. (End packets repeat the last duration: their slot is
            // filled.)
            let slot = self.frame_ticks();
            if self.recv
                && let Some(ev) = super::dtmf::EventPayload::parse(p.payload)
                && !ev.end
                && u32::from(ev.duration) >= slot
            {
                let silence = RtpPacket {
                    header: RtpHeader {
                        payload_type: self.params.payload_type,
                        timestamp: h.timestamp.wrapping_add(u32::from(ev.duration) - slot),
                        marker: false,
                        ..h
                    },
                    payload: &[],
                };
                self.jitter.push(now, &silence, slot);
            }
            return;
        }
        if self.recv {
            let ticks = self.dec.clock_samples(p.payload);
            self.jitter.push(now, &p, ticks);
        }
    }

    fn on_rtcp(&mut self, buf: &[u8]) {
        let Ok(packets) = rtcp::parse(buf) else {
            return;
        };
        let arrival = rtcp::ntp_time(SystemTime::now());
        for p in packets {
            let blocks = match p {
                RtcpPacket::SenderReport { info, blocks, .. } => {
                    self.last_sr = Some((rtcp::ntp_middle(info.ntp), Instant::now()));
                    blocks
                }
                RtcpPacket::ReceiverReport { blocks, .. } => blocks,
                _ => continue,
            };
            for b in blocks.iter().filter(|b| b.ssrc == self.rtp.ssrc) {
                if let Some(rtt) = rtcp::rtt(arrival, b) {
                    self.rtt_ms = Some(rtt.as_secs_f32() * 1000.0);
                }
            }
        }
    }

    fn rtcp_report(&mut self, now: Instant, bye: bool) -> Vec<u8> {
        let sender = self.sent_since_report.then(|| SenderInfo {
            ntp: rtcp::ntp_time(SystemTime::now()),
            rtp_ts: self.rtp.timestamp(),
            packets: self.rtp.packets,
            octets: self.rtp.octets,
        });
        self.sent_since_report = false;
        let mut blocks = Vec::new();
        if let Some(s) = &mut self.rx_stats {
            let (lsr, dlsr) = match self.last_sr {
                Some((lsr, at)) => {
                    let d = now.saturating_duration_since(at).as_secs_f64() * 65536.0;
                    (lsr, d as u32)
                }
                None => (0, 0),
            };
            blocks.push(ReportBlock::from_reception(s.ssrc, s.report(), lsr, dlsr));
        }
        let mut pkt = rtcp::build_report(self.rtp.ssrc, sender, &blocks, &self.params.cname);
        if bye {
            rtcp::build_bye(self.rtp.ssrc, &mut pkt);
        }
        pkt
    }

    async fn send_rtcp(&mut self, sock: &UdpSocket, rtcp_sock: Option<&UdpSocket>, pkt: &[u8]) {
        let to = match self.params.rtcp {
            RtcpMode::Off => return,
            RtcpMode::Mux => self.remote,
            RtcpMode::NextPort => {
                SocketAddr::new(self.remote.ip(), self.remote.port().wrapping_add(1))
            }
        };
        let s = match (self.params.rtcp, rtcp_sock) {
            (RtcpMode::NextPort, Some(r)) => r,
            _ => sock,
        };
        let _ = s.send_to(pkt, to).await;
    }

    fn quality(&mut self) {
        let Some(s) = &self.rx_stats else {
            return;
        };
        let js = self.jitter.stats();
        let (e0, r0, l0) = self.quality_prior;
        let (e1, r1, l1) = (s.expected(), s.received(), js.late);
        self.quality_prior = (e1, r1, l1);
        let expected = e1.wrapping_sub(e0);
        let lost = i64::from(expected) - i64::from(r1.wrapping_sub(r0)) + (l1 - l0) as i64;
        let loss_pct = if expected == 0 {
            0.0
        } else {
            (lost.max(0) as f64 * 100.0 / f64::from(expected)).min(100.0)
        };
        let ptime_ms = self.params.ptime.as_secs_f64() * 1000.0;
        // Mouth to ear: half the RTT, our buffer, one frame of packetization
        // at each end.
        let delay = f64::from(self.rtt_ms.unwrap_or(0.0)) / 2.0 + js.target_ms + 2.0 * ptime_ms;
        let _ = self.events.try_send(MediaEvent::Quality {
            jitter_ms: s.jitter_ms() as f32,
            loss_pct: loss_pct as f32,
            rtt_ms: self.rtt_ms,
            mos: rtcp::mos(delay, loss_pct) as f32,
        });
    }
}

async fn recv_opt(s: Option<&UdpSocket>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match s {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}
