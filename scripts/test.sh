#!/usr/bin/env bash
# One command runs every test: installs the build and test dependencies
# (the real peers: SIPp, Kamailio, baresip, Chromium + JsSIP), checks
# formatting and lints, then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./tests/peers/install.sh
if [ -x tests/browser/install.sh ]; then ./tests/browser/install.sh; fi
cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings
# Two test threads: the audio and WebRTC tests are real-time, and a 2-core
# machine running many at once conceals packets that arrive late.
cargo test --quiet --no-fail-fast -- --test-threads=2
