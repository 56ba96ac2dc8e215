#!/bin/sh
# Installs what `make fuzz` needs on top of scripts/install-deps.sh: clang and
# the compiler-rt runtimes that hold libFuzzer, ASan and UBSan (Debian 12 ships
# them for clang 14), through the same installer (apt-get only when missing).
set -eu
exec sh "$(dirname "$0")/install-deps.sh" clang libclang-rt-14-dev
