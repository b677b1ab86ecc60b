#!/usr/bin/env python3
"""Write the seed corpora under fuzz/seeds/<target>/ (small, realistic inputs).

Run from anywhere: python3 fuzz/seeds/make_seeds.py. The output is committed;
re-run it only when a format changes. Contacts seeds are copied from
tests/contacts_import/ (the import tests' own files).
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def put(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def crlf(text):
    return "\r\n".join(text.strip("\n").split("\n")) + "\r\n"


SDP_OFFER = crlf("""v=0
o=sipp 1 1 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=sendrecv""")

SDP_BARESIP = crlf("""v=0
o=- 1 2 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 10000 RTP/AVP 96 9 0 8 101
a=rtpmap:96 opus/48000/2
a=fmtp:96 stereo=1;sprop-stereo=1
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv""")

SDP_HOLD_OLD = crlf("""v=0
o=pbx 5 6 IN IP4 10.0.0.1
s=-
c=IN IP4 0.0.0.0
t=0 0
m=audio 7000 RTP/AVP 8
a=rtpmap:8 PCMA/8000""")

SDP_ANSWER_SENDONLY = crlf("""v=0
o=tongdai 1 2 IN IP6 ::1
s=tongdai
c=IN IP6 ::1
t=0 0
m=audio 40000 RTP/AVP 111 110
a=rtpmap:111 opus/48000/2
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:110 telephone-event/48000
a=fmtp:110 0-16
a=ptime:20
a=sendonly""")

SDP_WEBRTC = crlf("""v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0
m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8
c=IN IP4 0.0.0.0
a=fingerprint:sha-256 12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD
a=rtpmap:111 opus/48000/2
a=sendrecv""")

for name, sdp in [("offer_sipp", SDP_OFFER), ("offer_baresip", SDP_BARESIP),
                  ("hold_c0", SDP_HOLD_OLD), ("answer_sendonly_ip6", SDP_ANSWER_SENDONLY),
                  ("offer_webrtc", SDP_WEBRTC)]:
    put("sdp", name, sdp)


def sip(head, body=""):
    head = crlf(head)
    if body:
        head = head.replace("Content-Length: 0", "Content-Length: %d" % len(body.encode()))
    return head + "\r\n" + body


INVITE = sip("""INVITE sip:1001@192.0.2.10:5060 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-524287-1
Max-Forwards: 70
From: "Nguyễn Văn A" <sip:0912345678@192.0.2.1;user=phone>;tag=1928301774
To: <sip:1001@192.0.2.10>
Call-ID: a84b4c76e66710@pc33.example.com
CSeq: 314159 INVITE
Contact: <sip:0912345678@192.0.2.1:5060>
P-Asserted-Identity: "Khách hàng" <tel:+84912345678>
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY, REFER
Content-Type: application/sdp
Content-Length: 0""", SDP_OFFER)

OK_200 = sip("""SIP/2.0 200 OK
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;received=192.0.2.10
To: <sip:0987654321@pbx.example.com>;tag=a6c85cf
From: <sip:1001@pbx.example.com>;tag=1928301774
Call-ID: 3848276298220188511@192.0.2.10
CSeq: 1 INVITE
Contact: <sip:0987654321@192.0.2.1:5060;transport=udp>
Record-Route: <sip:192.0.2.1;lr>
Content-Type: application/sdp
Content-Length: 0""", SDP_BARESIP)

INFO = sip("""INFO sip:1001@192.0.2.10:5060 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-info-1
Max-Forwards: 70
From: <sip:0912345678@192.0.2.1>;tag=1928301774
To: <sip:1001@192.0.2.10>;tag=abc
Call-ID: a84b4c76e66710@pc33.example.com
CSeq: 314160 INFO
Content-Type: application/dtmf-relay
Content-Length: 0""", "Signal=5\r\nDuration=160\r\n")

NOTIFY = sip("""NOTIFY sip:1001@192.0.2.10:5060 SIP/2.0
Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK-notify-1
Max-Forwards: 70
From: <sip:0987654321@pbx.example.com>;tag=a6c85cf
To: <sip:1001@pbx.example.com>;tag=1928301774
Call-ID: 3848276298220188511@192.0.2.10
CSeq: 2 NOTIFY
Event: refer
Subscription-State: terminated;reason=noresource
Content-Type: message/sipfrag;version=2.0
Content-Length: 0""", "SIP/2.0 200 OK\r\n")

BYE = sip("""BYE sip:1001@192.0.2.10:5060 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-bye-1;rport
Max-Forwards: 70
From: sip:0912345678@192.0.2.1;tag=1928301774
To: <sip:1001@192.0.2.10>;tag=abc
Call-ID: a84b4c76e66710@pc33.example.com
CSeq: 314161 BYE
Content-Length: 0""")

RINGING = sip("""SIP/2.0 180 Ringing
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds
To: <sip:0987654321@pbx.example.com>;tag=a6c85cf
From: <sip:1001@pbx.example.com>;tag=1928301774
Call-ID: 3848276298220188511@192.0.2.10
CSeq: 1 INVITE
Content-Length: 0""")

for name, m in [("invite_pai", INVITE), ("200_invite_sdp", OK_200), ("info_dtmf", INFO),
                ("notify_sipfrag", NOTIFY), ("bye", BYE), ("180", RINGING)]:
    put("sip_message", name, m)

# Softphone scripts (see fuzz_targets/softphone.rs).
put("softphone", "inbound_answer_hold_bye",
    'I1"Nguyen Van A" <sip:0912345678@pbx;user=phone>;tag=1\na\nC1\nh\nO111\nh\nO101\nD1Signal=7\nB1\n')
put("softphone", "outbound_ring_timeout",
    "c0912 345 678\nP1180\n+29000\n+2000\nF1487\n")
put("softphone", "outbound_transfer",
    "csip:1002@pbx\nP1183\nA1\nd5\nt1003\nN1SIP/2.0 100 Trying\nN1SIP/2.0 200 OK\nB1\n")
put("softphone", "second_call_waiting",
    "I1<tel:+84912345678>\na\nC1\nI2sip:alice@10.0.0.1;tag=9\na\nO111\nC2\ne\nH11\nX2\nL\n")
put("softphone", "shutdown_mid_call",
    "c0987654321\nP1180\nA1\nm\ns\n+5000\n")

# VCC scripts (see fuzz_targets/vcc_push.rs); frames as the platform sends them.
REFRESH = '{"objectId":1010003,"agentStatus":"NOT AVAILABLE","isVoiceChannel":1,"deviceType":1}'
RING = ('{"objectId":1038,"extension":"1001","callId":"c-77","caller":"0912345678",'
        '"line":"19001234","queueDescription":"Sales","callDirection":1}')
ANSWER = '{"objectId":1039,"extension":"1001","callId":"c-77"}'
END = '{"objectId":1009,"extension":"1001","callId":"c-77"}'
CALLOUT = ('{"objectId":1055,"status":"ringing","callId":"c-78","telephoneNumber":"0987654321",'
           '"line":"19001234","extension":"1001","errorCode":"","sipCode":"180"}')
CALLOUT_FAIL = ('{"objectId":1055,"status":"error","callId":"c-78","telephoneNumber":"0987654321",'
                '"line":"19001234","extension":"1001","errorCode":"IPCC_NOT_CONNECT_CUSTOMER","sipCode":"486"}')
put("vcc_push", "login_ring_answer_end",
    "\n".join(["n", "b21001", "u", REFRESH, "y", '{"objectId":1027,"status":"On"}', RING, "a", ANSWER,
               "h", '{"objectId":1029,"status":"ok","callId":"c-77"}', END, "+30000"]) + "\n")
put("vcc_push", "callout_fails",
    "\n".join(["n", "b11001", "u", REFRESH, "c0987654321", CALLOUT, CALLOUT_FAIL, "e"]) + "\n")
put("vcc_push", "voice_leg_and_reconnect",
    "\n".join(["n", "b21001", "u", REFRESH, "v", '{"objectId":1511231001,"result":1,"deviceType":1}',
               "G2", 'I5"Agent 1002" <sip:1002@vcc>', "A5", "E51", "xconnection reset", "+2000",
               "u", '{"objectId":1511231002}', "s", "+10000"]) + "\n")
put("vcc_push", "transfer_offer_newer",
    "\x01\n" + "\n".join(["n", "b21001", "u", REFRESH, RING,
               '{"objectId":1410122076,"callId":"c-77","dropAgentId":"1002","newAgentId":"1001"}',
               "o1", '{"objectId":1410121118,"agents":[{"agentId":"1003","agentName":"Lan","agentStatus":"AVAILABLE"}]}',
               "l", "ta1003", "D30912345678"]) + "\n")

# Control socket sessions.
put("control_line", "session",
    '{"id":1,"cmd":"status"}\n{"id":2,"cmd":"subscribe","only":["ring","ended"]}\n'
    '{"id":3,"cmd":"call","number":"tel:+84-912-345-678"}\n{"id":"a","cmd":"hold","on":true}\n'
    '{"id":4,"cmd":"dtmf","digits":"12#"}\n{"id":5,"cmd":"end"}\n')
put("control_line", "transfer_device_auth",
    '{"id":6,"cmd":"transfer","agent":"1003"}\n{"id":7,"cmd":"transfer","number":"sip:0912345678@pbx"}\n'
    '{"id":8,"cmd":"device","type":"mobile","number":"0912345678"}\n{"id":9,"cmd":"auth","token":"x"}\n'
    '{"id":10,"cmd":"availability","on":false}\n{"cmd":"transfer_answer","accept":true}\n')
put("control_line", "bad", 'not json\n[1,2]\n{"id":{"x":1},"cmd":"nope"}\n{"id":2,"cmd":"call"}\n')

# Config files (env overrides after %%env).
with open(os.path.join(ROOT, "src", "config", "default.toml"), "rb") as f:
    put("config_toml", "default", f.read())
put("config_toml", "sip", """backend = "sip"

[sip]
server = "pbx.example.com:5060"
user = "1001"
transport = "udp"
register = true
codecs = ["g722", "pcmu", "pcma"]
second_call = "offer"
ring_timeout_s = 45

[ui]
language = "vi"
theme = "dark"
""")
put("config_toml", "vcc_env", """backend = "vcc"

[vcc]
domain = "example"
generation = "newer"
reconnect_interval_s = 3

[log]
level = "tongdai=debug"
%%env
TONGDAI_BACKEND="sip"
TONGDAI_SIP_SERVER="10.0.0.1"
TONGDAI_UI_LANGUAGE=en
""")
put("config_toml", "crm", """[crm]
url = "https://crm.example.com/api/lookup?phone={number}"
name = "$.data.name"
""")

# Contacts CSVs: the import tests' files.
src = os.path.join(ROOT, "tests", "contacts_import")
for name in sorted(os.listdir(src)):
    if name.endswith(".csv") and os.path.getsize(os.path.join(src, name)) > 0:
        with open(os.path.join(src, name), "rb") as f:
            put("contacts_csv", name, f.read())


def rtp(pt, seq, ts, ssrc, payload, marker=False, pad=0, csrc=0, ext=None):
    b0 = 0x80 | (0x20 if pad else 0) | (0x10 if ext is not None else 0) | csrc
    out = struct.pack("!BBHII", b0, (0x80 if marker else 0) | pt, seq, ts, ssrc)
    out += b"\x00\x00\x00\x01" * csrc
    if ext is not None:
        out += struct.pack("!HH", 0xBEDE, len(ext) // 4) + ext
    out += payload
    if pad:
        out += b"\x00" * (pad - 1) + bytes([pad])
    return out


def rtcp_rr(ssrc, src, lsr, dlsr):
    block = struct.pack("!IIIIII", src, (3 << 24) | 5, 0x10042, 20, lsr, dlsr)
    return struct.pack("!BBHI", 0x81, 201, 7, ssrc) + block


def rtcp_sr(ssrc, ntp):
    body = struct.pack("!IQIII", ssrc, ntp, 160000, 100, 16000)
    return struct.pack("!BBH", 0x80, 200, 6) + body


def sdes(ssrc, cname):
    item = bytes([1, len(cname)]) + cname + b"\x00"
    while (len(item) + 4) % 4:
        item += b"\x00"
    n = (4 + 4 + len(item)) // 4 - 1
    return struct.pack("!BBHI", 0x81, 202, n, ssrc) + item


def record(advance_ms, pops, datagram):
    return bytes([advance_ms, pops]) + struct.pack("!H", len(datagram)) + datagram


SSRC = 0x1234ABCD
# G.711 20 ms stream with reordering, a loss, a DTMF event and an RTCP SR.
stream = bytearray([0])
seq, ts = 1000, 160000
order = [0, 1, 3, 2, 4, 6, 7]
for i in order:
    stream += record(20, 1, rtp(0, seq + i, ts + 160 * i, SSRC, b"\xff" * 160, marker=(i == 0)))
stream += record(20, 2, rtp(101, seq + 8, ts + 160 * 8, SSRC, bytes([5, 0x0A, 0x01, 0x40])))
stream += record(20, 2, rtp(101, seq + 9, ts + 160 * 8, SSRC, bytes([5, 0x8A, 0x01, 0x40])))
stream += record(5, 0, rtcp_sr(SSRC, 0xE5F0_0000_8000_0000) + sdes(SSRC, b"pbx@10.0.0.1"))
put("rtp_jitter", "pcmu_reorder_loss_dtmf", bytes(stream))
# G.722 40 ms with padding, CSRC and an extension, then a new SSRC.
g = bytearray([0x80])
for i in range(5):
    g += record(40, 1, rtp(9, 7 + i, 320 * i, 77, bytes(range(160)) * 2, pad=4 if i == 2 else 0,
                           csrc=1 if i == 3 else 0, ext=b"\x10\xaa\x00\x00" if i == 1 else None))
g += record(40, 3, rtp(9, 500, 999999, 78, b"\x55" * 320))
put("rtp_jitter", "g722_pad_csrc_ext_newssrc", bytes(g))

put("rtcp", "sr_sdes", rtcp_sr(SSRC, 0xE5F0_0000_8000_0000) + sdes(SSRC, b"pbx@10.0.0.1"))
put("rtcp", "rr_bye", rtcp_rr(0x99, 0x55, 0x12345678, 0x10000) + struct.pack("!BBHI", 0x81, 203, 1, 0x99))
put("rtcp", "rr_sr_blocks", rtcp_rr(1, 2, 0, 0) + rtcp_rr(3, 4, 0xFFFFFFFF, 0xFFFFFFFF))

put("codecs", "pcmu_tone", bytes([0]) + bytes((0x80 + (i * 37) % 128) for i in range(320)))
put("codecs", "pcma_16k", bytes([0x15]) + bytes(range(256)))
put("codecs", "g722_48k", bytes([0x2A]) + bytes((i * 73) % 256 for i in range(480)))
