//! Control-socket request lines (src/control/protocol.rs): each input is a
//! session, one request per line as the server reads them (at most
//! MAX_LINE bytes, lossy UTF-8), parsed, answered, and the numbers it
//! carries classified the way the SIP and VCC call logic would.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Map;
use tongdai::call::{softphone, vcc};
use tongdai::control::protocol::{self, MAX_LINE, Op};
use tongdai::engine::{Command, TransferTarget};

fuzz_target!(|data: &[u8]| {
    for line in data.split(|b| *b == b'\n').take(64) {
        if line.len() > MAX_LINE {
            continue;
        }
        let line = String::from_utf8_lossy(line);
        let line = line.strip_suffix('\r').unwrap_or(&line);
        let reply = match protocol::parse_request(line) {
            Ok(req) => {
                let _ = (req.op.name(), req.op.is_control());
                let number = match &req.op {
                    Op::Engine(Command::CallOut(n)) => Some(n.as_str()),
                    Op::Engine(Command::Transfer(TransferTarget::Number(n))) => Some(n.as_str()),
                    _ => None,
                };
                if let Some(n) = number {
                    let _ = softphone::normalise_target(n);
                    let _ = vcc::classify_number(n);
                }
                protocol::ok(&req.id, Map::new())
            }
            Err((id, e)) => protocol::error(&id, &e),
        };
        // Every reply must serialise to one line.
        let text = reply.to_string();
        assert!(!text.contains('\n'));
    }
});
