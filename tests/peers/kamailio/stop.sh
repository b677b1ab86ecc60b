#!/bin/sh
# Stop the Kamailio started by start.sh in <rundir>: SIGTERM to the PID in
# <rundir>/kamailio.pid (the main process, which ends its children), up to
# 5 s grace, then SIGKILL. Idempotent: nothing running is success.
#   stop.sh <rundir>
set -u
[ $# -ge 1 ] || { echo "usage: $0 <rundir>" >&2; exit 2; }
pidfile="$1/kamailio.pid"
[ -f "$pidfile" ] || exit 0
pid=$(cat "$pidfile")
# Only signal it if it really is a kamailio (a stale pidfile's PID may have
# been reused by something else).
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q kamailio "/proc/$pid/cmdline" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        # Hung: kill the main process and its children (found by parent PID in
        # /proc before the main one dies and they are re-parented).
        kids=$(awk -v p="$pid" '/^PPid:/ && $2 == p { split(FILENAME, f, "/"); print f[3] }' \
            /proc/[0-9]*/status 2>/dev/null)
        kill -KILL "$pid" $kids 2>/dev/null
    fi
fi
rm -f "$pidfile" "$1/kamailio.pid.core" "$1/kamailio_ctl"
exit 0
