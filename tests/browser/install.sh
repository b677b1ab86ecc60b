#!/usr/bin/env bash
# Installs what the WebRTC reference peer harness needs. Idempotent: every step
# checks first, so CI and developers can run it before each test session.
#
# Why each piece:
#  - chromium: the real browser WebRTC stack (ICE, DTLS-SRTP, Opus) we test tongdai against.
#  - kamailio + websocket modules: the SIP-over-WS registrar/proxy JsSIP talks to.
#  - sox: makes the known-tone WAVs fed to Chromium's fake microphone.
#  - iproute2: `ip netns` for the private network namespace (Chromium ignores loopback for ICE).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v kamailio >/dev/null 2>&1 || need+=(kamailio)
[ -e /usr/lib/x86_64-linux-gnu/kamailio/modules/websocket.so ] || \
  ls /usr/lib/*/kamailio/modules/websocket.so >/dev/null 2>&1 || need+=(kamailio-websocket-modules)
command -v sox >/dev/null 2>&1 || need+=(sox)
command -v jq >/dev/null 2>&1 || need+=(jq)   # selftest.sh reads the JSON events with jq
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "install.sh: apt-get install ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y --no-install-recommends "${need[@]}"
fi

# npm: use the committed lock file when there is one (reproducible), skip when
# node_modules already matches it (npm ci always wipes node_modules, which is slow).
if [ -f package-lock.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
  fi
else
  npm install --no-audit --no-fund
fi

# The npm jssip package ships CommonJS only: bundle it into a browser global.
# Rebuilt only when missing or older than the installed package.
if [ ! -f jssip.bundle.js ] || [ node_modules/jssip/package.json -nt jssip.bundle.js ]; then
  npx --no-install esbuild node_modules/jssip/lib/JsSIP.js --bundle --format=iife \
    --global-name=JsSIP --outfile=jssip.bundle.js --log-level=warning
fi
echo "install.sh: ok (chromium $(chromium --version 2>/dev/null | awk '{print $2}'), jssip $(node -p "require('./node_modules/jssip/package.json').version"))"
