#!/usr/bin/env bash
# Console figures (README "Figures"): start → first frame, idle CPU over 30 s,
# bytes per second written to the terminal while a call timer runs.
#   benches/console.sh            # builds the release binary first
#   BIN=target/debug/tongdai benches/console.sh --seconds 10
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${BIN:-}" ]]; then
  cargo build --release --quiet --bin tongdai
  BIN="${CARGO_TARGET_DIR:-target}/release/tongdai"
fi
exec python3 benches/console.py "$BIN" "$@"
