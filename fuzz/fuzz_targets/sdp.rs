//! SDP offers and answers from the peer (src/sip/sdp.rs), the way the UA
//! reads INVITE / 200 / re-INVITE bodies (lossy UTF-8).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tongdai_fuzz::sdp_offer_answer(&String::from_utf8_lossy(data));
});
