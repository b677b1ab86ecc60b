#!/usr/bin/env bash
# One command runs every test: installs the build and test dependencies
# (the real peers: SIPp, Kamailio, baresip, Chromium + JsSIP), checks
# formatting and lints, then runs the whole test suite and the fuzzing smoke.
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
# Coverage-guided fuzzing smoke (README "Fuzzing"): builds the libFuzzer
# targets in fuzz/ on the same stable toolchain and runs each for 20 s over
# its committed seeds; a crash, panic, timeout or build failure fails here.
./scripts/fuzz-smoke.sh
