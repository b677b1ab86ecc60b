#!/usr/bin/env python3
"""Minimal SIP-over-WebSocket phone to prove Kamailio's WS path (stdlib only).

  ws_probe.py <ws_port> <user> <password> [answer_seconds]

Registers <user> over ws://127.0.0.1:<ws_port>/ (digest, answering the 401),
prints "registered", then - if answer_seconds is given - waits that long for
one INVITE, answers 180 then 200 (PCMU SDP), and answers the BYE with 200; prints
"answered" / "bye". Exit 0 on success. Not a real phone: no RTP, one call.
"""
import base64, hashlib, os, re, socket, struct, sys, time


def ws_connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n"
               % (port, key)).encode())
    resp = b""
    while b"\r\n\r\n" not in resp:
        resp += s.recv(4096)
    if b" 101 " not in resp.split(b"\r\n")[0]:
        raise SystemExit("handshake failed: %r" % resp[:200])
    return s


def ws_send(s, text):
    data = text.encode()
    mask = os.urandom(4)  # client frames must be masked (RFC 6455 5.3)
    n = len(data)
    head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack("!H", n))
    s.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def ws_recv(s):
    def rd(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                raise EOFError
            b += c
        return b
    while True:
        b0, b1 = rd(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", rd(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", rd(8))[0]
        payload = rd(n)
        if b0 & 0x0F == 0x9:  # ping -> pong
            s.sendall(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
            continue
        if b0 & 0x0F == 0x1:
            return payload.decode()


def hdr(msg, name):
    m = re.search(r"^%s:\s*(.*)$" % name, msg, re.I | re.M)
    return m.group(1).strip() if m else ""


def main():
    port, user, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    wait = float(sys.argv[4]) if len(sys.argv) > 4 else 0
    s = ws_connect(port)
    host = "%s.invalid" % os.urandom(4).hex()  # as JsSIP does
    callid, tag = os.urandom(8).hex(), os.urandom(4).hex()
    ruri = "sip:127.0.0.1"
    contact = "<sip:%s@%s;transport=ws>" % (user, host)

    def register(cseq, auth=""):
        ws_send(s, "REGISTER %s SIP/2.0\r\nVia: SIP/2.0/WS %s;branch=z9hG4bK%s\r\n"
                "From: <sip:%s@127.0.0.1>;tag=%s\r\nTo: <sip:%s@127.0.0.1>\r\n"
                "Call-ID: %s\r\nCSeq: %d REGISTER\r\nContact: %s\r\nExpires: 120\r\n"
                "Max-Forwards: 70\r\n%sContent-Length: 0\r\n\r\n"
                % (ruri, host, os.urandom(6).hex(), user, tag, user, callid, cseq, contact, auth))
        return ws_recv(s)

    r = register(1)
    if r.startswith("SIP/2.0 401"):
        ch = hdr(r, "WWW-Authenticate")
        realm = re.search(r'realm="([^"]*)"', ch).group(1)
        nonce = re.search(r'nonce="([^"]*)"', ch).group(1)
        md5 = lambda x: hashlib.md5(x.encode()).hexdigest()
        ha1, ha2, cn = md5("%s:%s:%s" % (user, realm, pw)), md5("REGISTER:" + ruri), os.urandom(4).hex()
        resp = md5("%s:%s:00000001:%s:auth:%s" % (ha1, nonce, cn, ha2))
        r = register(2, 'Authorization: Digest username="%s", realm="%s", nonce="%s", uri="%s", '
                        'response="%s", algorithm=MD5, qop=auth, nc=00000001, cnonce="%s"\r\n'
                     % (user, realm, nonce, ruri, resp, cn))
    if not r.startswith("SIP/2.0 200"):
        raise SystemExit("register failed: " + r.split("\r\n")[0])
    print("registered", flush=True)
    if not wait:
        return
    s.settimeout(wait)
    state = "idle"
    while True:
        m = ws_recv(s)
        first = m.split("\r\n")[0]
        vias = "\r\n".join(l for l in m.split("\r\n") if re.match(r"^(Via|v):", l, re.I))
        base = "%s\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n" % (
            vias, hdr(m, "From"), hdr(m, "To"), hdr(m, "Call-ID"), hdr(m, "CSeq"))
        if first.startswith("INVITE"):
            totag = "" if "tag=" in hdr(m, "To") else ";tag=" + os.urandom(4).hex()
            base = base.replace("To: %s" % hdr(m, "To"), "To: %s%s" % (hdr(m, "To"), totag))
            rr = "".join("Record-Route: %s\r\n" % v for v in re.findall(r"^Record-Route:\s*(.*)$", m, re.I | re.M))
            sdp = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                   "m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n")
            ws_send(s, "SIP/2.0 180 Ringing\r\n%s%sContact: %s\r\nContent-Length: 0\r\n\r\n"
                    % (base, rr, contact))
            ws_send(s, "SIP/2.0 200 OK\r\n%s%sContact: %s\r\nContent-Type: application/sdp\r\n"
                       "Content-Length: %d\r\n\r\n%s" % (base, rr, contact, len(sdp), sdp))
            state = "answered"
            print("answered", flush=True)
        elif first.startswith("BYE"):
            ws_send(s, "SIP/2.0 200 OK\r\n%sContent-Length: 0\r\n\r\n" % base)
            print("bye", flush=True)
            return
        elif first.startswith("ACK"):
            print("ack", flush=True)
        elif not first.startswith("SIP/2.0"):
            ws_send(s, "SIP/2.0 200 OK\r\n%sContent-Length: 0\r\n\r\n" % base)


if __name__ == "__main__":
    main()
