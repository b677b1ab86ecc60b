#!/bin/bash
# Self-test of the baresip tooling through our Kamailio, all on 127.0.0.1:
#  1. alice (mic: 600 Hz WAV) and bob (mic: default 440 Hz) register over UDP;
#  2. alice dials bob with ctl.py, bob auto-answers, DTMF + hold/resume are
#     sent, both see the call established, bob hangs up; bob's recording of
#     what he heard must be a ~600 Hz tone and alice's a ~440 Hz tone;
#  3. a SIPp UAC (uac_call_hangup.xml) calls bob through Kamailio.
# Usage: selftest.sh [base_port] (default 25260). Exit 0 when all passed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
peers=$(dirname "$here")
C="$here/ctl.py"
base=${1:-25260}
kp=$base; kws=$((base + 8)); ca=$((base + 11)); cb=$((base + 12))
work=$(mktemp -d "${TMPDIR:-/tmp}/tongdai-baresip-selftest.XXXXXX")
fails=0; pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    "$peers/kamailio/stop.sh" "$work/k"
}
trap cleanup EXIT
result() { if [ "$2" = 0 ]; then echo "PASS $1"; else echo "FAIL $1 ($3)"; fails=$((fails + 1)); fi; }
# wait_for SECONDS CMD...: poll a condition every 0.2 s
wait_for() { local n=$(($1 * 5)); shift; while ! "$@" >/dev/null 2>&1; do n=$((n - 1)); [ $n -le 0 ] && return 1; sleep 0.2; done; }

"$peers/kamailio/start.sh" "$work/k" "$kp" "$kws" >/dev/null || { echo "FAIL kamailio start"; exit 1; }
sox -n -r 8000 -c 1 -b 16 "$work/tone600.wav" synth 3 sine 600 vol 0.5
"$here/make_config.sh" "$work/alice" alice secret "127.0.0.1:$kp" "$work/tone600.wav" "$ca" >/dev/null
"$here/make_config.sh" "$work/bob" bob secret "127.0.0.1:$kp" "" "$cb" >/dev/null
for u in alice bob; do
    baresip -f "$work/$u" -t 90 </dev/null >"$work/$u/baresip.log" 2>&1 &
    pids="$pids $!"
done
echo "kamailio udp/tcp $kp, baresip ctrl alice $ca bob $cb, logs in $work"

registered() { "$C" "$1" reginfo | grep -q 'OK'; }
wait_for 10 registered "$ca"; result alice_registered $? "see $work/alice/baresip.log"
wait_for 10 registered "$cb"; result bob_registered $? "see $work/bob/baresip.log"

"$C" "$ca" dial "sip:bob@127.0.0.1:$kp" >/dev/null
established() { "$C" "$1" listcalls | grep -q ESTABLISHED; }
wait_for 10 established "$ca"; result alice_call_established $? "alice listcalls: $("$C" "$ca" listcalls)"
wait_for 10 established "$cb"; result bob_call_established $? "bob listcalls: $("$C" "$cb" listcalls)"
grep -q 'answering call' "$work/bob/baresip.log"; result bob_auto_answered $? "no 'answering call' in bob's log"
sleep 1
"$C" "$ca" dtmf 5 >/dev/null; result dtmf_sent $? "sndcode failed"
"$C" "$ca" hold >/dev/null && sleep 1 && "$C" "$ca" resume >/dev/null; result hold_resume $? "hold/resume failed"
sleep 2
"$C" "$cb" hangup >/dev/null
none() { "$C" "$1" listcalls | grep -q 'Active calls (0)'; }
wait_for 5 none "$ca"; result alice_sees_hangup $? "alice still has a call"

# What did each hear? sox's "Rough frequency" of the decoded recording.
freq() { sox "$1" -n stat 2>&1 | awk '/Rough[ ]+frequency/ { print $3 }'; }
near() { awk -v f="$1" -v w="$2" 'BEGIN { exit !(f > w * 0.9 && f < w * 1.1) }'; }
fb=$(freq "$(ls "$work"/bob/dump-*-dec.wav | head -1)")
near "${fb:-0}" 600; result bob_heard_600Hz $? "bob heard ${fb:-nothing} Hz"
fa=$(freq "$(ls "$work"/alice/dump-*-dec.wav | head -1)")
near "${fa:-0}" 440; result alice_heard_440Hz $? "alice heard ${fa:-nothing} Hz"

# A SIPp caller reaches bob through Kamailio (From "sipp": not challenged).
(cd "$work" && sipp "127.0.0.1:$kp" -sf "$peers/sipp/uac_call_hangup.xml" -s bob -i 127.0.0.1 -p $((base + 13)) \
    -m 1 -timeout 30 -timeout_error -nostdin -trace_msg -trace_err >sipp.out 2>&1)
result sipp_calls_bob $? "see $work/*messages.log"

for p in "$ca" "$cb"; do "$C" "$p" quit >/dev/null 2>&1; done
sleep 0.5
[ "$fails" = 0 ] && echo "baresip selftest: all passed" || echo "baresip selftest: $fails FAILED"
[ "$fails" = 0 ]
