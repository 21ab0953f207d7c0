#!/usr/bin/env bash
# Install the Debian packages the build and the tests need, only those
# missing. The lists live in scripts/deps/*.deb (one package per line, #
# comments), one file per part of the tree, so each part declares its own.
# Runs apt-get as root, or through sudo. Does nothing when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' scripts/deps/*.deb | tr -d ' \t' | sort -u)

missing=()
for p in "${wanted[@]}"; do
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
echo "install-deps: ${#wanted[@]} packages present"
