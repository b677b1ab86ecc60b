#!/bin/sh
# Install the real SIP peers the integration tests talk to (Debian/Ubuntu).
# Idempotent and fast: dpkg-query decides what is missing, apt-get only runs
# (and only refreshes its lists) when at least one package is absent.
set -eu

PKGS="sip-tester kamailio kamailio-websocket-modules kamailio-extra-modules kamailio-tls-modules baresip-core sox tmux openssl python3 jackd2 coturn linphone-cli"

missing=""
for p in $PKGS; do
    # "install ok installed" is the only state that means usable binaries.
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$st" = "install ok installed" ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
    echo "peers: all installed ($PKGS)"
    exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "peers: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086  # word splitting of the package list is wanted
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
# The Debian kamailio package may start a system instance on 5060 when a
# service manager exists; our tests run their own instances on other ports,
# so a system one is harmless but we do not rely on it.
