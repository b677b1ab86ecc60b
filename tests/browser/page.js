// The phone that runs inside Chromium. phone.mjs loads it (with the JsSIP
// bundle) and drives it through window.phone.cmd(); everything worth telling
// the test goes out through window.emit(), a function phone.mjs exposes, which
// prints it as one JSON line on stdout.
//
// One call at a time: a test peer does not need call waiting, and refusing a
// second call (486) keeps the reported state unambiguous.
'use strict';
(() => {
  const emit = (event, fields = {}) => window.emit(JSON.stringify({ event, ...fields }));

  let ua = null;
  let session = null;
  let opts = null;
  // WebAudio tone detector on the remote stream (see attachRemote).
  let audioCtx = null;
  let analyser = null;

  function start(o) {
    opts = o;
    if (o.debug) JsSIP.debug.enable('JsSIP:*');
    const socket = new JsSIP.WebSocketInterface(o.ws);
    ua = new JsSIP.UA({
      sockets: [socket],
      uri: o.uri,
      password: o.password || undefined,
      display_name: o.display || undefined,
      register: o.register !== false,
      register_expires: o.expires || 600,
      session_timers: !!o.sessionTimers,
      // Keep reconnects quick: a test that restarts Kamailio should not wait a minute.
      connection_recovery_min_interval: 1,
      connection_recovery_max_interval: 4,
    });
    ua.on('connected', () => emit('connected'));
    ua.on('disconnected', (e) => emit('disconnected', { code: e && e.code }));
    ua.on('registered', (e) => emit('registered', { status: e.response && e.response.status_code }));
    ua.on('unregistered', () => emit('unregistered'));
    ua.on('registrationFailed', (e) => emit('registrationFailed', {
      cause: e.cause, status: e.response ? e.response.status_code : null,
    }));
    ua.on('newRTCSession', (e) => {
      if (e.originator === 'remote') {
        if (session) {
          // Busy: one call at a time.
          e.session.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
          emit('rejectedBusy', { from: e.request.from.uri.toString() });
          return;
        }
        bind(e.session);
        emit('incoming', {
          from: e.request.from.uri.toString(),
          display: e.request.from.display_name || null,
          to: e.request.to.uri.toString(),
          callId: e.request.call_id,
        });
        if (opts.autoAnswer) answer();
      } else {
        bind(e.session);
      }
    });
    ua.on('newMessage', (e) => {
      if (e.originator === 'remote') emit('message', { from: e.request.from.uri.toString(), body: e.request.body });
    });
    ua.start();
  }

  // Session events are the ones a Rust test asserts on; names follow JsSIP's.
  function bind(s) {
    session = s;
    s.on('peerconnection', (e) => watchPc(e.peerconnection));
    if (s.connection) watchPc(s.connection); // outgoing: the RTCPeerConnection exists already
    s.on('progress', (e) => emit('progress', { originator: e.originator, status: e.response ? e.response.status_code : null }));
    s.on('accepted', (e) => emit('accepted', { originator: e.originator }));
    s.on('confirmed', (e) => emit('confirmed', { originator: e.originator }));
    s.on('ended', (e) => { emit('ended', { originator: e.originator, cause: e.cause }); done(s); });
    s.on('failed', (e) => {
      emit('failed', { originator: e.originator, cause: e.cause, status: e.message && e.message.status_code || null });
      done(s);
    });
    s.on('hold', (e) => emit('hold', { originator: e.originator }));
    s.on('unhold', (e) => emit('unhold', { originator: e.originator }));
    s.on('reinvite', () => emit('reinvite'));
    s.on('update', () => emit('update'));
    s.on('newDTMF', (e) => { if (e.originator === 'remote') emit('dtmf', { tone: e.dtmf.tone, duration: e.dtmf.duration }); });
    s.on('newInfo', (e) => { if (e.originator === 'remote') emit('info', { contentType: e.info.contentType, body: e.info.body }); });
    s.on('sdp', (e) => { if (opts.emitSdp) emit('sdp', { originator: e.originator, type: e.type, sdp: e.sdp }); });
    s.on('getusermediafailed', (e) => emit('error', { where: 'getUserMedia', message: String(e) }));
    s.on('peerconnection:createofferfailed', (e) => emit('error', { where: 'createOffer', message: String(e) }));
    s.on('peerconnection:createanswerfailed', (e) => emit('error', { where: 'createAnswer', message: String(e) }));
    s.on('peerconnection:setremotedescriptionfailed', (e) => emit('error', { where: 'setRemoteDescription', message: String(e) }));
  }

  function done(s) { if (session === s) session = null; }

  function watchPc(pc) {
    if (pc.__watched) return;
    pc.__watched = true;
    pc.addEventListener('track', (e) => attachRemote(e.streams[0] || new MediaStream([e.track])));
    pc.addEventListener('iceconnectionstatechange', () => emit('ice', { state: pc.iceConnectionState }));
  }

  // The remote audio goes to an <audio> element *and* to an AnalyserNode.
  // Why the element: Chromium only pulls (decodes) remote WebRTC audio when a
  // sink plays it; a MediaStreamSource alone can stay silent.
  function attachRemote(stream) {
    const el = document.getElementById('remote');
    el.srcObject = stream;
    el.play().catch((err) => emit('error', { where: 'audio.play', message: String(err) }));
    audioCtx = audioCtx || new AudioContext();
    audioCtx.resume();
    analyser = audioCtx.createAnalyser();
    analyser.fftSize = 8192; // 48 kHz / 8192 = 5.9 Hz bins, refined below by interpolation
    // No smoothing: stats are asked for rarely, and smoothing only advances when
    // read, so a smoothed spectrum would show audio from long ago.
    analyser.smoothingTimeConstant = 0;
    audioCtx.createMediaStreamSource(stream).connect(analyser);
    emit('remoteStream', { tracks: stream.getAudioTracks().length });
  }

  // Dominant frequency (Hz, parabolic interpolation over the dB spectrum) and
  // the RMS level of the remote audio in dBFS, as the page hears it now.
  function tone() {
    if (!analyser) return { toneHz: null, toneDb: null, rmsDb: null };
    const spec = new Float32Array(analyser.frequencyBinCount);
    analyser.getFloatFrequencyData(spec);
    let k = 1;
    for (let i = 2; i < spec.length - 1; i++) if (spec[i] > spec[k]) k = i;
    const a = spec[k - 1], b = spec[k], c = spec[k + 1];
    const d = (a - 2 * b + c) !== 0 ? 0.5 * (a - c) / (a - 2 * b + c) : 0;
    const binHz = audioCtx.sampleRate / analyser.fftSize;
    const wave = new Float32Array(analyser.fftSize);
    analyser.getFloatTimeDomainData(wave);
    let sum = 0;
    for (const v of wave) sum += v * v;
    const rms = Math.sqrt(sum / wave.length);
    return {
      toneHz: Number.isFinite(b) ? Math.round((k + d) * binHz * 10) / 10 : null,
      toneDb: Number.isFinite(b) ? Math.round(b * 10) / 10 : null,
      rmsDb: rms > 0 ? Math.round(20 * Math.log10(rms) * 10) / 10 : -Infinity,
    };
  }

  async function stats() {
    const out = { inCall: !!session };
    const pc = session && session.connection;
    if (pc && pc.localDescription) {
      out.ufrag = (/a=ice-ufrag:(\S+)/.exec(pc.localDescription.sdp) || [])[1] || null;
    }
    if (pc) {
      const report = await pc.getStats();
      const byId = new Map();
      report.forEach((r) => byId.set(r.id, r));
      report.forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'audio') {
          Object.assign(out, {
            bytesReceived: r.bytesReceived, packetsReceived: r.packetsReceived, packetsLost: r.packetsLost,
            jitter: r.jitter, audioLevel: r.audioLevel, totalAudioEnergy: r.totalAudioEnergy,
            codec: r.codecId && byId.get(r.codecId) ? byId.get(r.codecId).mimeType : null,
          });
        } else if (r.type === 'outbound-rtp' && r.kind === 'audio') {
          Object.assign(out, {
            bytesSent: r.bytesSent, packetsSent: r.packetsSent,
            sendCodec: r.codecId && byId.get(r.codecId) ? byId.get(r.codecId).mimeType : null,
          });
        } else if (r.type === 'candidate-pair' && (r.selected || r.nominated) && r.state === 'succeeded') {
          const l = byId.get(r.localCandidateId), rm = byId.get(r.remoteCandidateId);
          if (l && rm) {
            out.localAddress = `${l.address}:${l.port}/${l.protocol}`;
            out.remoteAddress = `${rm.address}:${rm.port}/${rm.protocol}`;
          }
        } else if (r.type === 'transport') {
          out.dtlsState = r.dtlsState;
          out.dtlsCipher = r.dtlsCipher;
          out.srtpCipher = r.srtpCipher;
        }
      });
    }
    Object.assign(out, tone());
    return out;
  }

  // Chromium's default capture processing (echo cancellation, noise
  // suppression, AGC) attenuates and may gate a steady test tone: off unless
  // asked for (--audio-processing), so the far end hears the WAV as it is.
  function media() {
    const p = !!opts.audioProcessing;
    return { audio: { echoCancellation: p, noiseSuppression: p, autoGainControl: p }, video: false };
  }

  // The RTCPeerConnection settings: none by default; `--pc-config` (JSON)
  // gives TURN servers and e.g. iceTransportPolicy "relay".
  function pcConfig() {
    return (opts && opts.pcConfig) || { iceServers: [] };
  }

  function answer() {
    if (!session) return emit('error', { where: 'answer', message: 'no session' });
    session.answer({
      mediaConstraints: media(),
      pcConfig: pcConfig(),
    });
  }

  // Commands from the test, one JSON object each (see README.md).
  async function cmd(c) {
    switch (c.cmd) {
      case 'start': return start(c.opts);
      case 'call':
        if (session) return emit('error', { where: 'call', message: 'busy' });
        ua.call(c.target, {
          mediaConstraints: media(),
          pcConfig: pcConfig(),
          extraHeaders: c.headers || [],
        });
        return;
      case 'answer': return answer();
      case 'reject':
        if (!session) return emit('error', { where: 'reject', message: 'no session' });
        session.terminate({ status_code: c.status || 486 });
        return;
      case 'hangup':
        // terminate() is CANCEL before the answer, BYE after, a rejection when ringing here.
        if (!session) return emit('error', { where: 'hangup', message: 'no session' });
        session.terminate();
        return;
      case 'hold':
        if (!session || !session.hold()) emit('error', { where: 'hold', message: 'not possible now' });
        return;
      case 'unhold':
        if (!session || !session.unhold()) emit('error', { where: 'unhold', message: 'not possible now' });
        return;
      case 'restartIce': {
        // An ICE restart by re-INVITE (new ufrag/pwd, RFC 8839 §4.4.1.1.1).
        if (!session) return emit('error', { where: 'restartIce', message: 'no session' });
        const ufrag = () => (/a=ice-ufrag:(\S+)/.exec(session.connection.localDescription.sdp) || [])[1];
        const ok = session.renegotiate({ rtcOfferConstraints: { iceRestart: true } },
          () => emit('renegotiated', { ufrag: ufrag() }));
        if (!ok) emit('error', { where: 'restartIce', message: 'not possible now' });
        return;
      }
      case 'dtmf':
        if (!session) return emit('error', { where: 'dtmf', message: 'no session' });
        // 'INFO' (JsSIP default, SIP INFO application/dtmf-relay) or 'RFC2833' (RTP telephone-event).
        session.sendDTMF(c.tones, { transportType: c.transport || 'INFO', duration: c.duration || 100, interToneGap: c.gap || 70 });
        emit('dtmfSent', { tones: c.tones });
        return;
      case 'message':
        ua.sendMessage(c.target, c.body || '');
        return;
      case 'stats': return emit('stats', await stats());
      case 'register': ua.register(); return;
      case 'unregister': ua.unregister(); return;
      case 'stop':
        // Hang up and un-REGISTER, so Kamailio keeps no stale binding.
        if (session) { try { session.terminate(); } catch (_) { /* already ending */ } }
        if (ua.isRegistered()) {
          await new Promise((res) => { ua.once('unregistered', res); ua.unregister(); setTimeout(res, 2000); });
        }
        ua.stop();
        return;
      default:
        emit('error', { where: 'cmd', message: `unknown command ${c.cmd}` });
    }
  }

  window.phone = { cmd };
  window.addEventListener('error', (e) => emit('error', { where: 'page', message: String(e.message) }));
  window.addEventListener('unhandledrejection', (e) => emit('error', { where: 'page', message: String(e.reason) }));
})();
