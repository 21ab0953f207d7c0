#!/usr/bin/env bash
# Install what the build and the tests need, only when it is missing.
# Debian packages via apt-get (as root, or through sudo); npm modules into
# the project's own node_modules. Safe to run again: it does nothing when
# everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: the compilers and tools `make check` uses.
DEB_PACKAGES=(
    gcc make clang valgrind pkg-config binutils libc6-dev
    libclang-rt-14-dev  # ASan/UBSan/libFuzzer runtimes for clang
)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || {
            echo "install-deps: need root (or sudo) to apt-get install ${missing[*]}" >&2
            exit 1
        }
        SUDO=sudo
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "install-deps: all present"
