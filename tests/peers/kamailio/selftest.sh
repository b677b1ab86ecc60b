#!/bin/bash
# Self-test of kamailio.cfg with SIPp on both sides (no tongdai needed):
# starts a private Kamailio, registers user "bob" for a SIPp UAS (digest
# bob/secret), then runs SIPp callers through the proxy over UDP and TCP.
# Also checks: REGISTER with a wrong password is refused, unknown user 404,
# OPTIONS to the server 200, and a WS phone (ws_probe.py) called over UDP. Usage: selftest.sh [base_port] (default 25160)
set -u
here=$(cd "$(dirname "$0")" && pwd)
S=$(dirname "$here")/sipp
base=${1:-25160}
kp=$base; kws=$((base + 8)); port=$((base + 10))
work=$(mktemp -d "${TMPDIR:-/tmp}/tongdai-kamailio-selftest.XXXXXX")
fails=0
B=(-i 127.0.0.1 -m 1 -timeout 30 -timeout_error -nostdin -trace_msg -trace_err)
trap '"$here/stop.sh" "$work/k"' EXIT

"$here/start.sh" "$work/k" "$kp" "$kws" >/dev/null || { echo "FAIL kamailio start"; exit 1; }
echo "kamailio on udp/tcp $kp ws $kws, logs in $work"

result() { # name ok(0/1) detail
    if [ "$2" = 0 ]; then echo "PASS $1"; else echo "FAIL $1 ($3)"; fails=$((fails + 1)); fi
}

# via NAME UAS_XML UAC_XML [uac args...]: UAS registered as bob, UAC calls bob via Kamailio
via() {
    local name=$1 uas=$2 uac=$3; shift 3
    local d="$work/$name" up=$port; port=$((port + 3))
    mkdir -p "$d"
    (cd "$d" && exec sipp -sf "$uas" -p "$up" "${B[@]}" -message_file uas.msg -error_file uas.err >uas.out 2>&1) &
    local upid=$!
    sleep 0.3
    (cd "$d" && sipp "127.0.0.1:$kp" -sf "$S/uac_register.xml" -s bob -au bob -ap secret \
        -set contact_port "$up" -p $((up + 1)) "${B[@]}" -message_file reg.msg -error_file reg.err >reg.out 2>&1)
    local rrc=$?
    (cd "$d" && sipp "127.0.0.1:$kp" -sf "$uac" -s bob -p $((up + 2)) "${B[@]}" "$@" \
        -message_file uac.msg -error_file uac.err >uac.out 2>&1)
    local crc=$?
    wait "$upid"; local src=$?
    [ "$rrc$crc$src" = 000 ]
    result "$name" $? "register rc=$rrc uac rc=$crc uas rc=$src, logs $d"
}

via udp_answer_hangup   "$S/uas_answer.xml"                 "$S/uac_call_hangup.xml"
via tcp_to_udp_hangup   "$S/uas_answer.xml"                 "$S/uac_call_hangup.xml" -t t1
via udp_callee_byes     "$S/uas_answer_then_bye.xml"        "$S/uac_call_wait_bye.xml"
via tcp_callee_byes     "$S/uas_answer_then_bye.xml"        "$S/uac_call_wait_bye.xml" -t t1
via udp_cancel          "$S/selftest/uas_ring_cancel.xml"   "$S/uac_call_cancel.xml"
via tcp_cancel          "$S/selftest/uas_ring_cancel.xml"   "$S/uac_call_cancel.xml" -t t1
via udp_hold_resume     "$S/selftest/uas_hold.xml"          "$S/uac_call_reinvite_hold.xml"
via tcp_hold_resume     "$S/selftest/uas_hold.xml"          "$S/uac_call_reinvite_hold.xml" -t t1
via udp_busy            "$S/uas_reject_486.xml"             "$(sed 's/CODE/486/g' "$S/selftest/uac_expect_reject.xml" > "$work/x486.xml"; echo "$work/x486.xml")"

# A wrong password must not register (SIPp sees 401 again instead of 200).
d="$work/wrong_password"; mkdir -p "$d"
(cd "$d" && sipp "127.0.0.1:$kp" -sf "$S/uac_register.xml" -s alice -au alice -ap wrong \
    -set contact_port 9 -p "$port" "${B[@]}" >reg.out 2>&1)
[ $? != 0 ]; result wrong_password_refused $? "registered with a wrong password"
port=$((port + 1))

# Unknown (unregistered) user: 404 from the proxy.
sed 's/CODE/404/g; /<recv response="180"\/>/d; s/<recv response="100"\/>/<recv response="100" optional="true"\/>/' "$S/selftest/uac_expect_reject.xml" > "$work/x404.xml"
d="$work/unknown_user"; mkdir -p "$d"
(cd "$d" && sipp "127.0.0.1:$kp" -sf "$work/x404.xml" -s nobody -p "$port" "${B[@]}" >uac.out 2>&1)
result unknown_user_404 $? "see $d"
port=$((port + 1))

# OPTIONS to the server: 200 (health check used by start/stop users).
d="$work/options"; mkdir -p "$d"
cat > "$work/options.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<scenario name="options">
  <send retrans="500"><![CDATA[

      OPTIONS sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:probe@[local_ip]:[local_port]>;tag=[pid]o[call_number]
      To: <sip:[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="200"/>
</scenario>
XML
(cd "$d" && sipp "127.0.0.1:$kp" -sf "$work/options.xml" -p "$port" "${B[@]}" >uac.out 2>&1)
result options_200 $? "see $d"

port=$((port + 1))

# WebSocket: ws_probe.py registers carol over ws:// (digest) and answers a
# SIPp UDP caller; ACK/BYE must find it via the double Record-Route and the
# ;alias= Kamailio put on its Contact.
d="$work/ws"; mkdir -p "$d"
python3 "$here/ws_probe.py" "$kws" carol secret 20 >"$d/ws.out" 2>&1 &
wpid=$!
wait_reg=0; while ! grep -q registered "$d/ws.out" && [ $wait_reg -lt 50 ]; do sleep 0.1; wait_reg=$((wait_reg + 1)); done
(cd "$d" && sipp "127.0.0.1:$kp" -sf "$S/uac_call_hangup.xml" -s carol -p "$port" "${B[@]}" >uac.out 2>&1)
crc=$?
wait "$wpid"; wrc=$?
[ "$crc$wrc" = 00 ] && grep -q bye "$d/ws.out"
result udp_to_ws_call $? "uac rc=$crc ws_probe rc=$wrc, see $d"

[ "$fails" = 0 ] && echo "kamailio selftest: all passed" || echo "kamailio selftest: $fails FAILED"
[ "$fails" = 0 ]
