#!/usr/bin/env bash
# One command for a newcomer: install what is missing, build, start the console.
# With no account configured it starts the built-in local demo switchboard.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec cargo run --release --quiet -- "$@"
