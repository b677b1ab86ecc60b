#!/usr/bin/env bash
# Footprint of a team (README "Footprint"): N headless control-only consoles
# (desk phone, device 4), each logged in as its own agent on one local
# switchboard; PSS / RSS per console, idle CPU of all of them over IDLE
# seconds, fan-out of one status change, login time of the Nth console.
#   benches/consoles.sh               # N=200, 60 s idle; builds the release binary first
#   benches/consoles.sh 20 10         # a quick look
#   BIN=target/debug/tongdai benches/consoles.sh 20 10
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${BIN:-}" ]]; then
  cargo build --release --quiet --bin tongdai
  BIN="${CARGO_TARGET_DIR:-target}/release/tongdai"
fi
# Each console holds a few descriptors (control socket, push socket, log).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec python3 benches/consoles.py "$BIN" "$@"
