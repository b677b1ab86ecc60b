#!/bin/bash
# Self-test of the SIPp scenarios in ..: each one is paired with a SIPp peer
# (another scenario of ours or a selftest counterpart here) on 127.0.0.1 and
# both sides must exit 0. Negative cases check that the scenarios' own
# checks really fail. Usage: run.sh [base_port]   (default 25060)
# Exit 0 when every case behaved as expected. Logs: $TMPDIR/tongdai-sipp-selftest.*
set -u
here=$(cd "$(dirname "$0")" && pwd)
sc=$(dirname "$here")
port=${1:-25060}
work=$(mktemp -d "${TMPDIR:-/tmp}/tongdai-sipp-selftest.XXXXXX")
fails=0
# Common bounds, as the Rust tests use them. No -mp: without it SIPp picks the
# next free media port itself (with -mp it tries that one port only).
B=(-i 127.0.0.1 -m 1 -timeout 30 -timeout_error -nostdin -trace_msg -trace_err)

# pair NAME SERVER_XML CLIENT_XML|builtin:uac EXPECT_SERVER_RC EXPECT_CLIENT_RC [client args...]
pair() {
    local name=$1 srv=$2 cli=$3 want_s=$4 want_c=$5; shift 5
    local d="$work/$name" sp=$port cp=$((port + 1))
    port=$((port + 2))
    mkdir -p "$d"
    (cd "$d" && exec sipp -sf "$srv" -p "$sp" "${B[@]}" \
        -message_file srv.msg -error_file srv.err >srv.out 2>&1) &
    local spid=$!
    sleep 0.3   # let the server bind before the client sends
    local clis=(-sf "$cli")
    [ "$cli" = builtin:uac ] && clis=(-sn uac)
    (cd "$d" && exec sipp "127.0.0.1:$sp" "${clis[@]}" -p "$cp" -s tongdai "${B[@]}" "$@" \
        -message_file cli.msg -error_file cli.err >cli.out 2>&1)
    local crc=$?
    wait "$spid"; local src=$?
    # "nz" = any non-zero exit code
    ok() { [ "$1" = "$2" ] || { [ "$2" = nz ] && [ "$1" != 0 ]; }; }
    if ok "$src" "$want_s" && ok "$crc" "$want_c"; then
        echo "PASS $name (server rc=$src client rc=$crc)"
    else
        echo "FAIL $name (server rc=$src want $want_s, client rc=$crc want $want_c) logs: $d"
        fails=$((fails + 1))
    fi
}

pair answer_hangup        "$sc/uas_answer.xml"          "$sc/uac_call_hangup.xml"        0 0
pair answer_then_bye      "$sc/uas_answer_then_bye.xml" "$sc/uac_call_wait_bye.xml"      0 0
pair cancel               "$here/uas_ring_cancel.xml"   "$sc/uac_call_cancel.xml"        0 0
pair hold                 "$here/uas_hold.xml"          "$sc/uac_call_reinvite_hold.xml" 0 0
pair register_rechallenge "$sc/registrar_401.xml"       "$here/ua_register.xml"          0 0
pair register_preauth     "$sc/registrar_401.xml"       "$here/ua_register_preauth.xml"  0 0
# SIPp's built-in UAC (expects 100/180/200, then BYE) against our UAS.
pair builtin_uac          "$sc/uas_answer.xml"          builtin:uac                      0 0

for code in 404 486 408 403 487 480 500 603; do
    sed "s/CODE/$code/g" "$here/uac_expect_reject.xml" > "$work/uac_expect_$code.xml"
    pair "reject_$code" "$sc/uas_reject_$code.xml" "$work/uac_expect_$code.xml" 0 0
done

# Negative: a callee that answers a hold with sendrecv must fail the UAC's
# check (SIPp marks the call failed but plays the scenario to its end).
sed 's/a=recvonly/a=sendrecv/' "$here/uas_hold.xml" > "$work/uas_hold_wrong.xml"
pair hold_wrong_answer_fails "$work/uas_hold_wrong.xml" "$sc/uac_call_reinvite_hold.xml" 0 1
# Negative: a wrong password must make the registrar fail. With -nd the
# client does not send its abort BYE, so the registrar's own <error> action
# ends it with 255 ("wrong digest in REGISTER"); without -nd that BYE can
# arrive first and the registrar fails with 1 instead. Either is non-zero.
sed 's/password=secret/password=wrong/' "$here/ua_register.xml" > "$work/ua_register_wrong.xml"
pair register_wrong_password_fails "$sc/registrar_401.xml" "$work/ua_register_wrong.xml" 255 nz -nd
pair register_wrong_password_fails_bye "$sc/registrar_401.xml" "$work/ua_register_wrong.xml" nz 1

echo "logs in $work"
[ "$fails" = 0 ] && echo "selftest: all passed" || echo "selftest: $fails FAILED"
[ "$fails" = 0 ]
