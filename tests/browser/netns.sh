#!/usr/bin/env bash
# netns.sh up|down <name> [subnet-prefix]
#
# A private network namespace for WebRTC tests. Chromium's WebRTC never offers
# loopback ICE candidates, and on the host it would offer the machine's real
# address (tests must never use it). So we give it a veth pair whose *both*
# ends stay inside the namespace: two ordinary, non-loopback interfaces that
# can only reach each other. No default route: nothing leaves the namespace.
#
#   <name>a = <prefix>.1/24   (run Kamailio / the page server here)
#   <name>b = <prefix>.2/24   (any second address, e.g. for tongdai)
# The prefix defaults to 10.77.0; parallel tests pass different names and
# prefixes (e.g. 10.77.1). Interface names are cut to 15 chars by the kernel,
# so keep <name> short (<= 12 chars).
#
# Run a command inside:  ip netns exec <name> <cmd...>
# Idempotent: `up` on an existing namespace only re-checks, `down` on a missing one is a no-op.
set -euo pipefail
action="${1:-}"; name="${2:-}"; prefix="${3:-10.77.0}"
[ -n "$action" ] && [ -n "$name" ] || { echo "usage: $0 up|down <name> [prefix]" >&2; exit 2; }
[ ${#name} -le 12 ] || { echo "netns.sh: name too long (max 12)" >&2; exit 2; }
ex() { ip netns exec "$name" "$@"; }

case "$action" in
up)
  ip netns list | grep -qw "^$name" || ip netns add "$name"
  ex ip link set lo up
  if ! ex ip link show "${name}a" >/dev/null 2>&1; then
    # Create the pair directly inside the namespace, so neither end ever appears on the host.
    ex ip link add "${name}a" type veth peer name "${name}b"
  fi
  ex ip addr replace "$prefix.1/24" dev "${name}a"
  ex ip addr replace "$prefix.2/24" dev "${name}b"
  ex ip link set "${name}a" up
  ex ip link set "${name}b" up
  # Both addresses are local to the namespace, so traffic between them goes via
  # the local table (like loopback) yet Chromium sees real interfaces.
  ;;
down)
  if ip netns list | grep -qw "^$name"; then
    # Kill anything still running inside, by PID (only processes of this namespace).
    for p in $(ip netns pids "$name" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    sleep 0.2
    for p in $(ip netns pids "$name" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$name"   # deleting the namespace also destroys the veth pair
  fi
  ;;
*) echo "usage: $0 up|down <name> [prefix]" >&2; exit 2 ;;
esac
