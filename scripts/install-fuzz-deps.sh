#!/bin/sh
# Installs what `make fuzz` needs on top of scripts/install-deps.sh: clang and
# the compiler-rt runtimes that hold libFuzzer, ASan and UBSan (Debian 12 ships
# them for clang 14). Runs apt-get update only when something is missing, so a
# machine that already has everything is not touched (and needs no network).
set -eu

packages="clang libclang-rt-14-dev"

if [ "${1:-}" = "--list" ]; then
	echo "$packages"
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
		echo "install-fuzz-deps: missing packages:$missing (run as root to install them)" >&2
		exit 1
	fi
else
	SUDO=""
fi

echo "install-fuzz-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
