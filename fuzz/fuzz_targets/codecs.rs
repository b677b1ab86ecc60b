//! The G.711 (src/media/codec.rs) and G.722 (src/media/g722.rs) decoders on
//! any payload, directly and through the call's `Decoder` with its loss
//! concealment, split into packets at the sizes the input picks. G.711 must
//! be stable: a decoded sample, encoded and decoded again, is unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tongdai::media::audio_codec::{AudioCodec, Decoder};
use tongdai::media::codec::G711;
use tongdai::media::g722::G722Decoder;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, payload)) = data.split_first() else {
        return;
    };
    // Direct decoders on the whole payload.
    let mut pcm = Vec::new();
    for law in [G711::Ulaw, G711::Alaw] {
        pcm.clear();
        law.decode(payload, &mut pcm);
        assert_eq!(pcm.len(), payload.len());
        for (&code, &s) in payload.iter().zip(&pcm) {
            let again = law.decode_sample(law.encode_sample(s));
            assert_eq!(again, s, "{law:?} code {code:#04x}");
        }
    }
    pcm.clear();
    let mut g722 = G722Decoder::default();
    g722.decode(payload, &mut pcm);
    assert_eq!(pcm.len(), payload.len() * 2);

    // The call's decoder: packets of `size` octets, every fourth one lost.
    let codec = [AudioCodec::Pcmu, AudioCodec::Pcma, AudioCodec::G722][usize::from(mode % 3)];
    let rate = [8_000, 16_000, 48_000][usize::from((mode >> 2) % 3)];
    let size = usize::from(mode >> 4).max(1) * 10;
    let Ok(mut dec) = Decoder::new(codec, rate) else {
        return;
    };
    let pt = codec.static_pt().unwrap_or(0);
    for (i, packet) in payload.chunks(size).enumerate() {
        pcm.clear();
        if i % 4 == 3 {
            let next = payload.chunks(size).nth(i + 1);
            dec.conceal(packet.len(), next, &mut pcm);
        } else {
            let _ = dec.clock_samples(packet);
            dec.decode(pt, packet, &mut pcm);
        }
    }
    dec.reset();
});
