#!/usr/bin/env bash
# Install the Debian packages the build and the tests need, only those
# missing. The lists live in scripts/deps/*.deb (one package per line, #
# comments), one file per part of the tree, so each part declares its own.
#
#   scripts/install-deps.sh              every list (what `make check` needs)
#   scripts/install-deps.sh demo core    only scripts/deps/demo.deb, core.deb
#
# Works as root and as a user: apt-get runs directly as root, through sudo
# otherwise (and only apt-get is elevated). `apt-get update` runs first, so
# a fresh machine with empty or stale package lists works. Does nothing,
# and needs no privilege, when everything is present.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

lists=()
if [ $# -eq 0 ]; then
    lists=(scripts/deps/*.deb)
else
    for name in "$@"; do
        [ -f "scripts/deps/$name.deb" ] || {
            known=$(cd scripts/deps && ls -- *.deb | sed 's/\.deb$//' |
                    paste -sd ' ')
            echo "install-deps: no list scripts/deps/$name.deb" \
                 "(lists: $known)" >&2
            exit 2
        }
        lists+=("scripts/deps/$name.deb")
    done
fi

mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "${lists[@]}" |
                      tr -d ' \t' | sort -u)

# What is installed, by package name and by the names installed packages
# provide: e.g. a nodejs that bundles npm provides (and conflicts with) the
# separate npm package, so npm counts as present there.
fields='${db:Status-Abbrev}|${Package}|${Provides}\n'
mapfile -t present < <(dpkg-query -W -f="$fields" 2>/dev/null |
                       awk -F'|' '$1 ~ /^ii/ {
                           print $2
                           n = split($3, p, ",")
                           for (i = 1; i <= n; i++) {
                               sub(/^ +/, "", p[i]); sub(/ .*/, "", p[i])
                               if (p[i] != "") print p[i]
                           }
                       }' | sort -u)

mapfile -t missing < <(comm -23 <(printf '%s\n' "${wanted[@]}") \
                               <(printf '%s\n' "${present[@]}"))

if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || {
            echo "install-deps: need root to apt-get install ${missing[*]}:" \
                 "run this as root, or install sudo" >&2
            exit 1
        }
        SUDO=(sudo)
    fi
    apt=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -qq)
    "${apt[@]}" update
    "${apt[@]}" install --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "install-deps: ${#wanted[@]} packages present"
