//! Helpers shared by the fuzz targets: the small text "scripts" that drive
//! the sans-IO cores (one step per line, the first character names the step,
//! the rest is its argument), and a fake clock.
//!
//! A text format keeps the seeds readable and lets libFuzzer's mutations
//! (insert a line, splice two inputs, change a digit) make meaningful new
//! sequences.

use std::time::{Duration, Instant};

/// The steps of a script: `(op, argument)` per non-empty line. Invalid UTF-8
/// is replaced (the cores only ever see `&str` from the UA and the socket).
pub fn steps(data: &[u8]) -> Vec<(char, String)> {
    String::from_utf8_lossy(data)
        .split('\n')
        .filter_map(|line| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let mut chars = line.chars();
            let op = chars.next()?;
            Some((op, chars.as_str().to_string()))
        })
        .collect()
}

/// A leading decimal number of `arg` (saturating), and the rest.
pub fn number(arg: &str) -> (u64, &str) {
    let end = arg
        .char_indices()
        .find(|(_, c)| !c.is_ascii_digit())
        .map(|(i, _)| i)
        .unwrap_or(arg.len());
    let n = arg[..end].chars().fold(0u64, |n, c| {
        n.saturating_mul(10)
            .saturating_add(u64::from(c.to_digit(10).unwrap_or(0)))
    });
    (n, &arg[end..])
}

/// The first character of `arg` as a small id (a call leg), and the rest.
pub fn small_id(arg: &str) -> (u64, &str) {
    let mut chars = arg.chars();
    match chars.next() {
        Some(c) => (u64::from(c.to_digit(10).unwrap_or(0)), chars.as_str()),
        None => (0, arg),
    }
}

/// A clock that only moves when the script says so (`+<ms>` steps), at most
/// a day per step so `Instant` arithmetic stays in range.
pub struct FakeClock {
    pub now: Instant,
}

impl Default for FakeClock {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeClock {
    pub fn new() -> Self {
        FakeClock {
            now: Instant::now(),
        }
    }

    pub fn advance_ms(&mut self, ms: u64) {
        self.now += Duration::from_millis(ms.min(86_400_000));
    }
}

/// Run an SDP body through what the UA does with it: parse; as an offer,
/// choose a codec and render our answer; as an answer, map its payload types
/// to codecs. Our own answer must parse back to the codec we chose (anything
/// else is a bug: the peer would get an SDP we cannot read ourselves).
pub fn sdp_offer_answer(body: &str) {
    use std::net::{IpAddr, Ipv4Addr};
    use tongdai::media::audio_codec::AudioCodec;
    use tongdai::sip::sdp;

    let Ok(remote) = sdp::parse(body) else {
        return;
    };
    // As an answer to our offer (the UA's 200 / 183 path).
    for &pt in &remote.payload_types {
        if let Some(kind) = remote.codec_of(pt) {
            let _ = remote.telephone_event_for(kind);
        }
    }
    // As an offer: every preference order the config can give.
    for prefs in [
        &AudioCodec::ALL[..],
        &[AudioCodec::Pcmu, AudioCodec::Pcma][..],
        &[AudioCodec::G722][..],
    ] {
        let Ok(codec) = sdp::choose_codec(&remote, prefs) else {
            continue;
        };
        let local = sdp::LocalAudio {
            addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
            port: 40_000,
            codecs: sdp::SUPPORTED.to_vec(),
            telephone_events: sdp::our_telephone_events(&sdp::SUPPORTED),
            direction: sdp::Direction::SendRecv,
            session_id: 1,
            version: 1,
        };
        for we_hold in [false, true] {
            let answer = local.answer(&remote, codec, we_hold);
            let back = sdp::parse(&answer).expect("our own answer must parse");
            assert_eq!(back.payload_types.first(), Some(&codec.pt));
            assert_eq!(back.codec_of(codec.pt), Some(codec.kind));
        }
    }
}
