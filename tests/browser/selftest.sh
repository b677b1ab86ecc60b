#!/usr/bin/env bash
# selftest.sh: proves the WebRTC reference peer works, end to end, with no tongdai involved.
#
# In a private netns: Kamailio (WS registrar/proxy, digest auth) + two phone.mjs
# (alice plays a 440 Hz tone, bob 1000 Hz). alice calls bob, bob answers; each
# must receive packets and hear the *other* side's tone; alice holds and
# unholds, media must flow again; a call of CALL_SECS (default 30) is measured
# for Chromium CPU-seconds and memory; alice hangs up, both see `ended`.
# Exits non-zero on the first failed check; always tears everything down.
#
# Env: CALL_SECS (30), NS (netns name), PREFIX (10.77.N), KEEP=1 keeps run/ logs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

NS="${NS:-tdself$((RANDOM % 1000))}"
PREFIX="${PREFIX:-10.77.$((RANDOM % 200 + 20))}"
IP="$PREFIX.1"
CALL_SECS="${CALL_SECS:-30}"
run="$here/run/$NS"
pids=()

cleanup() {
  local rc=$?
  set +e
  # A phone that already quit closed its FIFO: writing to it must not kill us by SIGPIPE (rc 141).
  trap '' PIPE
  # Ask the phones to quit (un-REGISTER, close Chromium), then make sure.
  for fd in 5 6; do { echo '{"cmd":"quit"}' >&$fd; } 2>/dev/null; done
  exec 5>&- 6>&-
  sleep 1
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  "$here/netns.sh" down "$NS"   # also kills anything left inside (Kamailio's children, Chromium)
  if [ "$rc" -ne 0 ]; then
    echo "selftest: FAILED (rc=$rc); logs in $run" >&2
    for f in "$run"/*.out "$run"/kamailio.log; do [ -f "$f" ] && { echo "--- $f (tail)"; tail -n 15 "$f"; }; done >&2
  elif [ "${KEEP:-0}" != 1 ]; then
    rm -rf "$run"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "selftest: FAIL: $*" >&2; exit 1; }
ok() { echo "selftest: ok: $*"; }

"$here/install.sh" >/dev/null
mkdir -p "$run"

# Known tones for the fake microphones (Chromium loops the file).
sox -n -r 48000 -c 1 -b 16 "$run/alice.wav" synth 10 sine 440 vol 0.5
sox -n -r 48000 -c 1 -b 16 "$run/bob.wav" synth 10 sine 1000 vol 0.5

"$here/netns.sh" up "$NS" "$PREFIX"
inns() { ip netns exec "$NS" "$@"; }

# --- Kamailio -----------------------------------------------------------------
KAM_IP="$IP" KAM_WS=8080 KAM_UDP=5060 KAM_CTL="unix:$run/kamailio.ctl" \
KAM_USERS="alice:alicepw,bob:bobpw" \
  inns kamailio -f "$here/kamailio-ws.cfg" -DD -E -Y "$run" -P "$run/kamailio.pid" -A WITH_AUTH \
  >"$run/kamailio.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do inns bash -c "echo >/dev/tcp/$IP/8080" 2>/dev/null && break; sleep 0.1; done
inns bash -c "echo >/dev/tcp/$IP/8080" 2>/dev/null || fail "Kamailio not listening on $IP:8080"
ok "kamailio listening on ws://$IP:8080"

# --- phones ---------------------------------------------------------------------
# Each phone reads commands from a FIFO (fd 5 alice, fd 6 bob) and writes events to a file.
mkfifo "$run/alice.in" "$run/bob.in"
inns node "$here/phone.mjs" --ws "ws://$IP:8080" --uri "sip:alice@$IP" --password alicepw --session-timers \
  --wav "$run/alice.wav" <"$run/alice.in" >"$run/alice.out" 2>"$run/alice.err" &
pids+=($!); alice_pid=$!
inns node "$here/phone.mjs" --ws "ws://$IP:8080" --uri "sip:bob@$IP" --password bobpw \
  --wav "$run/bob.wav" <"$run/bob.in" >"$run/bob.out" 2>"$run/bob.err" &
pids+=($!); bob_pid=$!
exec 5>"$run/alice.in" 6>"$run/bob.in"
alice() { echo "$1" >&5; }
bob() { echo "$1" >&6; }

# wait_for <who> <jq filter selecting the event> [timeout s]: waits for a matching
# line at or after the current mark of <who>, then moves the mark past it.
declare -A mark=([alice]=0 [bob]=0)
wait_for() {
  local who=$1 filter=$2 timeout=${3:-15} end=$((SECONDS + ${3:-15})) n line
  while [ $SECONDS -le $end ]; do
    n=0
    while IFS= read -r line; do
      n=$((n + 1))
      [ $n -le "${mark[$who]}" ] && continue
      if echo "$line" | jq -e "$filter" >/dev/null 2>&1; then
        mark[$who]=$n; LAST="$line"; return 0
      fi
    done <"$run/$who.out"
    sleep 0.2
  done
  fail "$who: no event matching '$filter' within ${timeout}s"
}
# stats <who>: asks for stats, leaves the event in $LAST.
stats() { "$1" '{"cmd":"stats"}'; wait_for "$1" '.event=="stats"' 10; }
field() { echo "$LAST" | jq -r "$1"; }

wait_for alice '.event=="registered"' 30; wait_for bob '.event=="registered"' 30
ok "alice and bob registered (digest) over WS: chromium $(head -1 "$run/alice.out" | jq -r .chromium)"

alice "{\"cmd\":\"call\",\"target\":\"sip:bob@$IP\"}"
wait_for bob '.event=="incoming"'
ok "bob: incoming from $(field .from)"
bob '{"cmd":"answer"}'
wait_for alice '.event=="confirmed"' 20; wait_for bob '.event=="confirmed"' 20
ok "call confirmed on both sides"

# check_media <who> <expected Hz of the far tone> <min packets>: packets both
# ways and the far side's tone dominant in what this browser receives.
check_media() {
  local who=$1 hz=$2 minp=$3
  stats "$who"
  echo "selftest: $who stats: $LAST"
  local rx tx f lvl
  rx=$(field '.packetsReceived // 0'); tx=$(field '.packetsSent // 0'); f=$(field '.toneHz // 0'); lvl=$(field '.toneDb // -999')
  [ "$rx" -ge "$minp" ] || fail "$who received only $rx packets (< $minp)"
  [ "$tx" -ge "$minp" ] || fail "$who sent only $tx packets (< $minp)"
  awk -v f="$f" -v hz="$hz" 'BEGIN{exit !(f > hz*0.97 && f < hz*1.03)}' || fail "$who hears ${f} Hz, expected ${hz} Hz"
  awk -v l="$lvl" 'BEGIN{exit !(l > -60)}' || fail "$who: tone level ${lvl} dB too low"
  ok "$who: rx $rx / tx $tx packets, hears ${f} Hz at ${lvl} dB ($(field .codec), $(field .srtpCipher))"
}
sleep 3
check_media alice 1000 100
check_media bob 440 100

# --- hold / unhold ----------------------------------------------------------------
alice '{"cmd":"hold"}'
wait_for alice '.event=="hold"'; wait_for bob '.event=="hold" and .originator=="remote"'
ok "hold (re-INVITE) seen by both"
# JsSIP's hold offers a=sendonly and the far end answers recvonly: bob stops
# sending, so alice's inbound count must stall. (alice keeps sending RTP: her
# track is merely disabled, so bob's count goes on growing, with silence.)
sleep 2
stats alice; held_rx=$(field '.packetsReceived')
sleep 2
stats alice; held_rx2=$(field '.packetsReceived')
[ $((held_rx2 - held_rx)) -lt 20 ] || fail "alice still receives audio while holding ($held_rx -> $held_rx2)"
ok "while held, alice received $((held_rx2 - held_rx)) packets in 2 s"
stats bob; echo "selftest: bob while held: $LAST"
alice '{"cmd":"unhold"}'
wait_for alice '.event=="unhold"'; wait_for bob '.event=="unhold" and .originator=="remote"'
sleep 3
stats alice; after_rx=$(field '.packetsReceived')
[ $((after_rx - held_rx2)) -ge 100 ] || fail "after unhold alice got only $((after_rx - held_rx2)) new packets"
check_media alice 1000 "$after_rx"
check_media bob 440 100
ok "unhold: media flows again ($((after_rx - held_rx2)) new packets at alice in 3 s)"

# --- DTMF (SIP INFO) ----------------------------------------------------------------
alice '{"cmd":"dtmf","tones":"12#"}'
wait_for bob '.event=="dtmf" and .tone=="1"'; wait_for bob '.event=="dtmf" and .tone=="#"'
ok "DTMF 12# via INFO received by bob"

# --- cost of a call: Chromium CPU-seconds and memory over CALL_SECS -------------------
# All descendants of a phone's node process are its Chromium processes.
descendants() { local p; for p in $(pgrep -P "$1"); do echo "$p"; descendants "$p"; done; }
cpu_ticks() { local t=0 p; for p in $(descendants "$1"); do
  [ -r /proc/$p/stat ] && t=$((t + $(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0))); done; echo $t; }
mem_kb() { local r=0 s=0 p; for p in $(descendants "$1"); do
  r=$((r + $(awk '/^VmRSS/{print $2}' /proc/$p/status 2>/dev/null || echo 0)))
  s=$((s + $(awk '/^Pss:/{print $2}' /proc/$p/smaps_rollup 2>/dev/null || echo 0))); done; echo "$r $s"; }
hz=$(getconf CLK_TCK)
a0=$(cpu_ticks $alice_pid); b0=$(cpu_ticks $bob_pid)
peak_rss=0; peak_pss=0
for _ in $(seq "$CALL_SECS"); do
  read -r r s < <(mem_kb $alice_pid)
  [ "$r" -gt $peak_rss ] && peak_rss=$r; [ "$s" -gt $peak_pss ] && peak_pss=$s
  sleep 1
done
a1=$(cpu_ticks $alice_pid); b1=$(cpu_ticks $bob_pid)
nproc_a=$(descendants $alice_pid | wc -l)
cpu_a=$(awk -v d=$((a1 - a0)) -v hz="$hz" 'BEGIN{printf "%.1f", d/hz}')
cpu_b=$(awk -v d=$((b1 - b0)) -v hz="$hz" 'BEGIN{printf "%.1f", d/hz}')
echo "selftest: figure: ${CALL_SECS} s call: Chromium CPU alice ${cpu_a} s, bob ${cpu_b} s;" \
     "alice's $nproc_a Chromium processes peak RSS sum $((peak_rss / 1024)) MB, peak PSS sum $((peak_pss / 1024)) MB"
check_media alice 1000 $((CALL_SECS * 40))

# --- hang up -----------------------------------------------------------------------
alice '{"cmd":"hangup"}'
wait_for alice '.event=="ended" and .originator=="local"'; wait_for bob '.event=="ended" and .originator=="remote"'
ok "hangup: ended on both sides ($(field .cause))"

alice '{"cmd":"quit"}'; bob '{"cmd":"quit"}'
wait_for alice '.event=="quit"' 10; wait_for bob '.event=="quit"' 10
wait $alice_pid $bob_pid 2>/dev/null || true
echo "selftest: PASS"
