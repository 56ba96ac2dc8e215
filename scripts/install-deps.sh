#!/bin/sh
# Installs the Debian packages connectorfs needs to build, test and demo
# (or the packages named as arguments).
# Runs apt-get update only when something is actually missing, so a machine
# that already has everything is not touched (and needs no network).
set -eu

packages="build-essential pkg-config libfuse3-dev fuse3 libcurl4-openssl-dev \
libjson-c-dev libssl-dev check python3 curl jq man-db openssl procps util-linux systemd inotify-tools"

# Another list (scripts/install-fuzz-deps.sh) may be given instead.
if [ $# -gt 0 ] && [ "$1" != "--list" ]; then
	packages="$*"
fi

if [ "${1:-}" = "--list" ]; then
	echo $packages
	exit 0
fi

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "install-deps: missing packages:$missing (run as root to install them)" >&2
		exit 1
	fi
else
	SUDO=""
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
