#!/usr/bin/env bash
# Install what a build needs on Debian (idempotent, quiet when done before):
# a C toolchain, pkg-config, ALSA and JACK headers (cpal) and cmake (bundled libopus).
set -euo pipefail
need=()
for pkg in build-essential pkg-config libasound2-dev libjack-jackd2-dev cmake tmux; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ((${#need[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
command -v cargo >/dev/null || { echo "cargo is missing: install Rust from https://rustup.rs" >&2; exit 1; }
