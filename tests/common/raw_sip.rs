//! A SIP peer made of raw sockets, for hostile-PBX and hostile-caller tests:
//! it sends exactly what the test writes (or nothing at all), and shows
//! every byte the console put on the wire.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

/// One SIP message as received.
#[derive(Debug, Clone)]
pub struct Msg {
    pub raw: String,
    pub from: SocketAddr,
}

impl Msg {
    pub fn first_line(&self) -> &str {
        self.raw.lines().next().unwrap_or("")
    }

    /// `INVITE`, `CANCEL`, … for a request; `None` for a response.
    pub fn method(&self) -> Option<&str> {
        let m = self.first_line().split(' ').next()?;
        (!m.starts_with("SIP/")).then_some(m)
    }

    /// The status code of a response.
    pub fn code(&self) -> Option<u16> {
        let mut it = self.first_line().split(' ');
        it.next()
            .filter(|v| v.starts_with("SIP/"))
            .and(it.next())
            .and_then(|c| c.parse().ok())
    }

    /// Every value of header `name` (case-insensitive, compact forms not
    /// expanded), in order.
    pub fn headers(&self, name: &str) -> Vec<&str> {
        self.raw
            .split("\r\n\r\n")
            .next()
            .unwrap_or("")
            .lines()
            .skip(1)
            .filter_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
            })
            .collect()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers(name).first().copied().unwrap_or("")
    }

    /// A response to this request: its Via, From, Call-ID and CSeq, its To
    /// with `to_tag` added (when it has none), then `extra` header lines.
    pub fn response(&self, code: u16, reason: &str, to_tag: &str, extra: &[String]) -> String {
        let mut out = format!("SIP/2.0 {code} {reason}\r\n");
        for v in self.headers("Via") {
            out.push_str(&format!("Via: {v}\r\n"));
        }
        let to = self.header("To");
        let to = if to.contains("tag=") || to_tag.is_empty() {
            to.to_string()
        } else {
            format!("{to};tag={to_tag}")
        };
        out.push_str(&format!("From: {}\r\nTo: {to}\r\n", self.header("From")));
        out.push_str(&format!(
            "Call-ID: {}\r\nCSeq: {}\r\n",
            self.header("Call-ID"),
            self.header("CSeq")
        ));
        for e in extra {
            out.push_str(e);
            out.push_str("\r\n");
        }
        out.push_str("Content-Length: 0\r\n\r\n");
        out
    }
}

/// A UDP SIP peer on loopback.
pub struct RawUdp {
    pub sock: UdpSocket,
}

impl Default for RawUdp {
    fn default() -> Self {
        Self::new()
    }
}

impl RawUdp {
    pub fn new() -> RawUdp {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        RawUdp { sock }
    }

    pub fn port(&self) -> u16 {
        self.sock.local_addr().expect("addr").port()
    }

    /// The next message within `within`, or `None`.
    pub fn recv(&self, within: Duration) -> Option<Msg> {
        let deadline = Instant::now() + within;
        let mut buf = vec![0u8; 65536];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.sock.set_read_timeout(Some(left)).expect("timeout");
            match self.sock.recv_from(&mut buf) {
                Ok((n, from)) => {
                    let raw = String::from_utf8_lossy(&buf[..n]).into_owned();
                    // Keep-alives (CRLF) are not messages.
                    if raw.trim().is_empty() {
                        continue;
                    }
                    return Some(Msg { raw, from });
                }
                Err(_) => return None,
            }
        }
    }

    /// The first message for which `pred` holds (others are skipped, e.g.
    /// retransmissions); panics after `within` naming what was seen.
    pub fn expect(&self, what: &str, within: Duration, pred: impl Fn(&Msg) -> bool) -> Msg {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        while let Some(m) = self.recv(deadline.saturating_duration_since(Instant::now())) {
            if pred(&m) {
                return m;
            }
            seen.push(m.first_line().to_string());
        }
        panic!("no {what} within {within:?}; saw {seen:?}");
    }

    pub fn send(&self, to: SocketAddr, text: &str) {
        self.sock.send_to(text.as_bytes(), to).expect("send");
    }

    /// Everything that arrives within `within`.
    pub fn drain(&self, within: Duration) -> Vec<Msg> {
        let deadline = Instant::now() + within;
        let mut out = Vec::new();
        while let Some(m) = self.recv(deadline.saturating_duration_since(Instant::now())) {
            out.push(m);
        }
        out
    }
}

/// An INVITE from a caller at `from_port` to the console at `to`, over
/// `transport` (`UDP` or `TCP`), with a PCMU offer.
pub fn invite(
    to: SocketAddr,
    from_port: u16,
    call_id: &str,
    caller: &str,
    transport: &str,
) -> String {
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
        from_port + 2
    );
    format!(
        "INVITE sip:alice@{to} SIP/2.0\r\n\
         Via: SIP/2.0/{transport} 127.0.0.1:{from_port};branch=z9hG4bK-{call_id}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{caller}@127.0.0.1:{from_port}>;tag=caller-{call_id}\r\n\
         To: <sip:alice@{to}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:{caller}@127.0.0.1:{from_port};transport={}>\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        transport.to_ascii_lowercase(),
        sdp.len()
    )
}

/// The ACK for a non-2xx final response to our `invite` (RFC 3261 §17.1.1.3).
pub fn ack_for(invite: &str, response: &Msg) -> String {
    let line = |name: &str| {
        invite
            .lines()
            .find(|l| {
                l.to_ascii_lowercase()
                    .starts_with(&format!("{}:", name.to_ascii_lowercase()))
            })
            .unwrap_or("")
            .to_string()
    };
    let uri = invite
        .lines()
        .next()
        .unwrap_or("")
        .split(' ')
        .nth(1)
        .unwrap_or("");
    let cseq = line("CSeq").replace("INVITE", "ACK");
    format!(
        "ACK {uri} SIP/2.0\r\n{}\r\nMax-Forwards: 70\r\n{}\r\nTo: {}\r\n{}\r\n{cseq}\r\nContent-Length: 0\r\n\r\n",
        line("Via"),
        line("From"),
        response.header("To"),
        line("Call-ID"),
    )
}

/// A TCP SIP connection: read whole messages (headers + Content-Length body).
pub struct RawTcp {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawTcp {
    pub fn connect(to: SocketAddr) -> std::io::Result<RawTcp> {
        let stream = TcpStream::connect_timeout(&to, Duration::from_secs(2))?;
        Ok(RawTcp {
            stream,
            buf: Vec::new(),
        })
    }

    pub fn send(&mut self, text: &str) {
        self.stream.write_all(text.as_bytes()).expect("tcp send");
    }

    /// The next message within `within`.
    pub fn recv(&mut self, within: Duration) -> Option<Msg> {
        let deadline = Instant::now() + within;
        let from = self.stream.peer_addr().ok()?;
        loop {
            let text = String::from_utf8_lossy(&self.buf).into_owned();
            let trimmed = text.trim_start_matches("\r\n");
            if let Some(end) = trimmed.find("\r\n\r\n") {
                let head = &trimmed[..end];
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        (k.trim().eq_ignore_ascii_case("content-length") || k.trim() == "l")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                let skipped = text.len() - trimmed.len();
                let total = skipped + end + 4 + len;
                if self.buf.len() >= total {
                    let raw = String::from_utf8_lossy(&self.buf[skipped..total]).into_owned();
                    self.buf.drain(..total);
                    return Some(Msg { raw, from });
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.stream.set_read_timeout(Some(left)).ok()?;
            let mut chunk = [0u8; 8192];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}
