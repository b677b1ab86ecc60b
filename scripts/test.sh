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
cargo test --quiet --no-fail-fast
