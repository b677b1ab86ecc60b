#!/bin/sh
# tongdai beside baresip in the same run, on loopback, through Kamailio, on
# the real sound-card path (JACK's dummy driver is the clocked card):
#
#   benches/vs_baresip.sh [seconds=60] [codecs="pcmu opus"]
#   (CLIENTS="baresip" runs one client only; PROFILE=measure builds and runs
#   the thin-LTO `measure` profile instead of `release`; TONGDAI_BIN=<path>
#   runs a binary built before, e.g. main's, without building; LOG_DIR=<dir>
#   keeps tongdai's debug logs there, one directory per side and codec: the
#   end-of-call lines give the jitter buffer's wait and the sound card's
#   queues, the parts of the added delay; BEFORE_BIN=<path> also runs that
#   binary, e.g. main's, as client "before" in the same run, and prints its
#   ratios beside ours)
#
# For each client (tongdai, baresip) and codec, two instances of the client
# call each other through a private Kamailio:
#
#   jack_iodelay ─▶ A's microphone ─▶ RTP ─▶ B ─▶ B's speaker ─┐ (patched back
#   jack_iodelay ◀─ A's speaker ◀── RTP ◀── B ◀─ B's microphone ◀┘  into B's mic)
#
# A and B each have their own JACK server (dummy driver, 48 kHz, 960-frame
# periods), so their ports never mix. jack_iodelay measures the whole loop:
# two send paths and two receive paths of the client (jitter buffers,
# codecs, device buffers) plus JACK's own periods; the same harness for both
# clients, so the ratio is the client's. A direct jack_iodelay loop (no
# call) is printed as the floor that JACK alone adds.
#
# Per side of the call it prints CPU seconds per minute (utime+stime from
# /proc over the measured window, the mean of A and B) and the peak resident
# memory without JACK's shared memory (RssAnon + RssFile sampled each
# second; VmHWM would count JACK's ~100 MB of shm, see ../shared/PEERS.md). Needs: jackd2, kamailio, baresip,
# sox (tests/peers/install.sh installs them).
set -eu

secs=${1:-60}
codecs=${2:-"pcmu opus"}
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
profile=${PROFILE:-release}
if [ -n "${TONGDAI_BIN:-}" ]; then
    bin=$TONGDAI_BIN
else
    [ "${CLIENTS:-tongdai}" = baresip ] || cargo build --profile "$profile" --quiet --bin tongdai
    bin="$here/target/$profile/tongdai"
fi

work=$(mktemp -d /tmp/tongdai-vs-baresip.XXXXXX)
sip_port=5391
jack_a="tdb-a-$$"
jack_b="tdb-b-$$"
pids=""

cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
    "$here/tests/peers/kamailio/stop.sh" "$work/kamailio" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

jack_ports() { JACK_DEFAULT_SERVER=$1 jack_lsp 2>/dev/null || true; }

start_jack() {
    JACK_NO_AUDIO_RESERVATION=1 jackd -n "$1" -d dummy -r 48000 -p 960 >"$work/jackd-$1.log" 2>&1 &
    pids="$pids $!"
    i=0
    until jack_ports "$1" | grep -q '^system:'; do
        i=$((i + 1)); [ $i -lt 100 ] || { echo "jackd $1 did not start" >&2; exit 1; }
        sleep 0.1
    done
}

# wait_for <seconds> <what> <command...>: poll until the command succeeds.
wait_for() {
    t=$1; what=$2; shift 2
    i=0
    until "$@" >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt $((t * 10)) ] || { echo "timed out: $what" >&2; exit 1; }
        sleep 0.1
    done
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# Resident memory without JACK's shared memory (RssShmem): private pages
# plus the mapped files (code) a process really touches.
rss_kb() { awk '/^RssAnon:|^RssFile:/ { s += $2 } END { print s }' "/proc/$1/status"; }
anon_kb() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"; }

# measure <pid_a> <pid_b> <seconds>: prints "cpu_s_per_min peak_rss_mb
# peak_anon_mb" (per side: the mean CPU of A and B, the larger peak of the two).
measure() {
    a0=$(cpu_ticks "$1"); b0=$(cpu_ticks "$2")
    peak=0
    apeak=0
    n=0
    while [ $n -lt "$3" ]; do
        sleep 1
        n=$((n + 1))
        for p in "$1" "$2"; do
            r=$(rss_kb "$p"); [ "$r" -gt "$peak" ] && peak=$r
            r=$(anon_kb "$p"); [ "$r" -gt "$apeak" ] && apeak=$r
        done
    done
    a1=$(cpu_ticks "$1"); b1=$(cpu_ticks "$2")
    hz=$(getconf CLK_TCK)
    awk -v a=$((a1 - a0)) -v b=$((b1 - b0)) -v hz="$hz" -v s="$3" -v pk="$peak" -v ap="$apeak" \
        'BEGIN { printf "%.3f %.1f %.1f\n", (a + b) / 2 / hz * 60 / s, pk / 1024, ap / 1024 }'
}

# iodelay <jack server> <out port> <in port> <seconds>: the median round trip
# in ms that jack_iodelay reports through out_port → … → in_port.
iodelay() {
    log="$work/iodelay-$1.log"
    JACK_DEFAULT_SERVER=$1 stdbuf -o0 jack_iodelay >"$log" 2>&1 &
    p=$!
    wait_for 5 "jack_iodelay ports" sh -c "JACK_DEFAULT_SERVER=$1 jack_lsp | grep -q '^jack_delay:out'"
    # (the floor passes jack_delay's own ports: the second connect repeats the first)
    JACK_DEFAULT_SERVER=$1 jack_connect jack_delay:out "$2" || true
    JACK_DEFAULT_SERVER=$1 jack_connect "$3" jack_delay:in 2>/dev/null || true
    sleep "$4"
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    tr '\r' '\n' <"$log" | awk '/total roundtrip latency/ { v[n++] = $3 }
        END { if (n == 0) { print "n/a"; exit }
              # the median of the last half (the first readings settle)
              m = int(n / 2); k = 0
              for (i = m; i < n; i++) w[k++] = v[i]
              for (i = 0; i < k; i++) for (j = i + 1; j < k; j++) if (w[j] < w[i]) { t = w[i]; w[i] = w[j]; w[j] = t }
              printf "%.1f\n", w[int(k / 2)] }'
}

# The ports a client registered on a JACK server: "<out> <in>".
client_ports() {
    out=$(jack_ports "$1" | grep -v -e '^system:' -e '^jack_delay:' | grep -i -e ':out' -e 'output' | head -n 1)
    in=$(jack_ports "$1" | grep -v -e '^system:' -e '^jack_delay:' | grep -i -e ':in' -e 'input' | head -n 1)
    [ -n "$out" ] && [ -n "$in" ] && echo "$out $in"
}

# ---- tongdai -----------------------------------------------------------

tongdai_env() { # <name> <jack server>
    d="$work/td-$1"
    mkdir -p "$d/config" "$d/state" "$d/data" "$d/run" "$d/home"
    echo "env XDG_CONFIG_HOME=$d/config XDG_STATE_HOME=$d/state XDG_DATA_HOME=$d/data XDG_RUNTIME_DIR=$d/run HOME=$d/home JACK_DEFAULT_SERVER=$2"
}

tongdai_start() { # <user> <jack server> <codec>
    d="$work/td-$1"
    mkdir -p "$d"
    printf 'sip_password\n' >"$d/password"
    chmod 600 "$d/password"
    cat >"$d/tongdai.toml" <<CFG
backend = "sip"
[sip]
user = "$1"
server = "127.0.0.1:$sip_port"
transport = "udp"
password_file = "$d/password"
codecs = ["$3"]
[audio]
device = "cpal"
CFG
    if [ -n "${LOG_DIR:-}" ]; then
        mkdir -p "$LOG_DIR/$1-$3"
        printf '[log]\nlevel = "tongdai=debug"\ndir = "%s"\n' "$LOG_DIR/$1-$3" >>"$d/tongdai.toml"
    fi
    # shellcheck disable=SC2046
    $(tongdai_env "$1" "$2") "$bin" --config "$d/tongdai.toml" --headless --socket-name "b$1" \
        >"$d/out.log" 2>&1 &
    started=$!
    pids="$pids $started"
}

tongdai_ctl() { # <user> <jack server> <ctl args...>
    u=$1; j=$2; shift 2
    # shellcheck disable=SC2046
    $(tongdai_env "$u" "$j") "$bin" --socket-name "b$u" ctl "$@"
}

tongdai_status_has() { tongdai_ctl "$1" "$2" --json status | grep -q "$3"; }

run_tongdai() { # <codec>
    tongdai_start 1001 "$jack_a" "$1"; pa=$started
    tongdai_start 1002 "$jack_b" "$1"; pb=$started
    wait_for 20 "tongdai A registered" tongdai_status_has 1001 "$jack_a" '"registered"'
    wait_for 20 "tongdai B registered" tongdai_status_has 1002 "$jack_b" '"registered"'
    tongdai_ctl 1001 "$jack_a" call 1002 >/dev/null
    wait_for 20 "tongdai B ringing" tongdai_status_has 1002 "$jack_b" '"ringing"'
    tongdai_ctl 1002 "$jack_b" answer >/dev/null
    wait_for 20 "tongdai call up" tongdai_status_has 1001 "$jack_a" '"connected"'
    loop_and_measure "${label:-tongdai}" "$1" "$pa" "$pb"
    tongdai_ctl 1001 "$jack_a" end >/dev/null || true
    [ -z "${LOG_DIR:-}" ] || sleep 1 # the end-of-call lines reach the log
    kill "$pa" "$pb" 2>/dev/null || true
    wait "$pa" "$pb" 2>/dev/null || true
}

# The same with BEFORE_BIN, e.g. main's build, for a before/after figure.
run_before() { # <codec>
    save=$bin
    bin=$BEFORE_BIN
    label=before
    run_tongdai "$1"
    bin=$save
    label=tongdai
}

# ---- baresip -----------------------------------------------------------

baresip_start() { # <user> <jack server> <codec> <ctrl port>
    d="$work/bs-$1"
    mkdir -p "$d"
    case $3 in
        opus) ac="opus/48000/2" ;;
        *) ac=$3 ;;
    esac
    # baresip's own defaults otherwise (its jitter buffer included).
    cat >"$d/config" <<CFG
poll_method		epoll
sip_listen		127.0.0.1:0
net_interface		127.0.0.1
audio_source		jack,
audio_player		jack,
audio_alert		jack,
jack_connect_ports	no
ausrc_format		float
auplay_format		float
auplay_srate		48000
ausrc_srate		48000
module_path		/usr/lib/baresip/modules
module			g711.so
module			opus.so
module			jack.so
module_tmp		uuid.so
module_tmp		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:$4
CFG
    echo "<sip:$1@127.0.0.1:$sip_port;transport=udp>;auth_pass=sip_password;answermode=auto;audio_codecs=$ac;regint=300" >"$d/accounts"
    : >"$d/contacts"
    JACK_DEFAULT_SERVER=$2 baresip -f "$d" >"$d/out.log" 2>&1 &
    started=$!
    pids="$pids $started"
}

run_baresip() { # <codec>
    baresip_start 1001 "$jack_a" "$1" 5396; pa=$started
    baresip_start 1002 "$jack_b" "$1" 5397; pb=$started
    wait_for 20 "baresip A registered" grep -q "200 OK" "$work/bs-1001/out.log"
    wait_for 20 "baresip B registered" grep -q "200 OK" "$work/bs-1002/out.log"
    python3 "$here/tests/peers/baresip/ctl.py" 5396 dial "sip:1002@127.0.0.1:$sip_port" >"$work/dial.log" 2>&1 ||
        { echo "baresip dial failed: $(cat "$work/dial.log")" >&2; exit 1; }
    wait_for 20 "baresip call up" grep -qi "established" "$work/bs-1001/out.log"
    loop_and_measure baresip "$1" "$pa" "$pb"
    python3 "$here/tests/peers/baresip/ctl.py" 5396 hangup >/dev/null 2>&1 || true
    kill "$pa" "$pb" 2>/dev/null || true
    wait "$pa" "$pb" 2>/dev/null || true
}

# ---- the common part -----------------------------------------------------

loop_and_measure() { # <client> <codec> <pid a> <pid b>
    wait_for 10 "$1 A's JACK ports" client_ports "$jack_a"
    wait_for 10 "$1 B's JACK ports" client_ports "$jack_b"
    set -- "$1" "$2" "$3" "$4" $(client_ports "$jack_b")
    JACK_DEFAULT_SERVER=$jack_b jack_connect "$5" "$6"
    set -- "$1" "$2" "$3" "$4" $(client_ports "$jack_a")
    sleep 2
    m=$(measure "$3" "$4" "$secs" &
        iodelay "$jack_a" "$6" "$5" "$secs" >"$work/lat"
        wait)
    lat=$(cat "$work/lat")
    echo "$1 $2 $m $lat" >>"$work/results"
    # Added mouth-to-ear per direction: the loop less JACK's own floor, halved.
    added=$(awk -v l="$lat" -v f="$floor" 'BEGIN { if (l + 0 > 0) printf "%.1f", (l - f) / 2; else print "n/a" }')
    printf '  %-8s %-5s cpu %s s/min  RSS peak %s MB (private %s MB)  loop %s ms  added %s ms/direction\n' "$1" "$2" \
        "$(echo "$m" | cut -d' ' -f1)" "$(echo "$m" | cut -d' ' -f2)" "$(echo "$m" | cut -d' ' -f3)" "$lat" "$added"
}

start_jack "$jack_a"
start_jack "$jack_b"
"$here/tests/peers/kamailio/start.sh" "$work/kamailio" "$sip_port" 5392 >/dev/null

# A direct loop, jack_delay:out → jack_delay:in: what JACK alone adds.
floor=$(iodelay "$jack_a" jack_delay:in jack_delay:out 5)
echo "JACK floor (jack_iodelay looped on itself): $floor ms; ${secs} s per call"
: >"$work/results"
clients=${CLIENTS:-tongdai baresip}
[ -z "${BEFORE_BIN:-}" ] || [ -n "${CLIENTS:-}" ] || clients="before $clients"
for codec in $codecs; do
    for client in $clients; do
        "run_$client" "$codec"
    done
done

echo
echo "ratios, client / baresip (lower is better):"
awk -v f="$floor" '{ k = $2; c = $1; cpu[c, k] = $3; rss[c, k] = $4; anon[c, k] = $5; lat[c, k] = $6; codec[k] = 1; client[c] = 1 }
     function ratio(c, k) {
         b = "baresip"
         printf "  %-7s %-5s cpu %.2f  RSS %.2f (private %.2f)  loop latency %s  added delay %s\n", c, k,
             cpu[c, k] / (cpu[b, k] > 0 ? cpu[b, k] : 1), rss[c, k] / (rss[b, k] > 0 ? rss[b, k] : 1),
             anon[c, k] / (anon[b, k] > 0 ? anon[b, k] : 1),
             (lat[c, k] + 0 > 0 && lat[b, k] + 0 > 0) ? sprintf("%.2f", lat[c, k] / lat[b, k]) : "n/a",
             (lat[c, k] + 0 > f && lat[b, k] + 0 > f) ? sprintf("%.2f", (lat[c, k] - f) / (lat[b, k] - f)) : "n/a"
     }
     END { for (k in codec) for (c in client) if (c != "baresip" && (c, k) in cpu && ("baresip", k) in cpu) ratio(c, k) }' "$work/results"
