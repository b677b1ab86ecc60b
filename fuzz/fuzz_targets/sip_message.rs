//! Raw SIP datagrams as the UDP transport parses them (rsipstack's parser),
//! then what the UA reads from them (src/sip/ua.rs): the caller identity
//! (P-Asserted-Identity, then From), name-addr headers, INFO dtmf-relay and
//! NOTIFY sipfrag bodies, and the SDP offer / answer in the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rsipstack::sip::SipMessage;
use tongdai::sip::ua;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = SipMessage::try_from(data) else {
        return;
    };
    let (headers, body) = match &msg {
        SipMessage::Request(req) => {
            let (number, _name) = ua::caller_identity(req);
            assert!(!number.is_empty());
            (&req.headers, &req.body)
        }
        SipMessage::Response(resp) => (&resp.headers, &resp.body),
    };
    for h in headers.iter() {
        let _ = ua::parse_name_addr(h.value());
    }
    let body = String::from_utf8_lossy(body);
    let _ = ua::parse_dtmf_relay(&body);
    let _ = ua::parse_sipfrag(&body);
    tongdai_fuzz::sdp_offer_answer(&body);
});
