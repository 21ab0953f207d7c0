#!/usr/bin/env bash
# Maintainer check (not part of `make check`): run the README's two commands
# on a bare Debian 12, as a new user would, and say whether they work.
#
# Builds a minimal Debian 12 (bookworm) root with debootstrap, from the
# mirror this machine's own apt sources name, copies a `git clone` of this
# tree's HEAD into it and, inside it with chroot:
#   1. as a normal user with sudo, the README's demo command
#      (scripts/install-deps.sh elevates apt-get through sudo);
#   2. as root with sudo removed, the demo command, then the check command
#      (apt-get runs directly), then `make install-test-system` (a real
#      make install into /usr/local: ldconfig runs, programs find the
#      library through pkg-config and CMake with no path set).
# The commands are read from the clone's README.md (the lines after
# <!-- command:demo --> and <!-- command:check -->), so the proof and the
# README cannot drift apart. Needs root, network, 2.3 GB of disk and, for
# the full `make check`, 10 to 30 minutes on 2 cores, downloads included.
#
#   scripts/bare-debian-check.sh [--root DIR] [--mirror URL] [--demo-only]
#                                [--keep] [--step-timeout MIN]
#
# --root DIR    where to build the root (default /var/tmp/wsproto-bare-debian;
#               an existing one is removed first: the point is a bare system)
# --mirror URL  Debian mirror (default: the bookworm entry of
#               /etc/apt/sources.list or /etc/apt/sources.list.d/*)
# --demo-only   stop after the demo command
# --keep        keep the root afterwards (it is kept anyway when a step failed)
# --step-timeout MIN  stop a step still running after MIN minutes (default
#               90: a hung test must not hold the check for ever)
set -euo pipefail
export LC_ALL=C

# All of it in one block, which bash reads to the end before running: a
# git checkout or commit may change this file during the half hour it runs.
{

root=/var/tmp/wsproto-bare-debian
mirror=""
demo_only=0
keep=0
step_minutes=90
while [ $# -gt 0 ]; do
    case "$1" in
    --root) root=${2:?--root needs a directory}; shift 2 ;;
    --mirror) mirror=${2:?--mirror needs a URL}; shift 2 ;;
    --demo-only) demo_only=1; shift ;;
    --keep) keep=1; shift ;;
    --step-timeout) step_minutes=${2:?--step-timeout needs minutes}; shift 2 ;;
    -h|--help)
        sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
        exit 0 ;;
    *) echo "bare-debian-check: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done

case "$step_minutes" in
''|*[!0-9]*|0) echo "bare-debian-check: --step-timeout wants minutes > 0" >&2
               exit 2 ;;
esac
top=$(cd "$(dirname "$0")/.." && pwd)
say() { echo "bare-debian-check: [$(date -u +%H:%M:%S)] $*"; }
die() { echo "bare-debian-check: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] ||
    die "needs root (debootstrap, mount, chroot): run it as root"
case "$root" in
/?*/?*) ;;
*) die "--root must be an absolute path two levels deep or more: '$root'" ;;
esac
root=${root%/}

# ---------------------------------------------------------------- sources
# Print "URI SUITE" for every enabled binary (deb) entry of apt's sources,
# one-line (*.list) and deb822 (*.sources) formats alike.
host_sources() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '$1 == "deb" {
                 i = 2
                 if ($i ~ /^\[/) while ($i !~ /\]$/) i++
                 if ($i ~ /^\[/ || $i ~ /\]$/) i++
                 print $i, $(i + 1)
             }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'function flush(  i, j, nu, ns, u, s) {
                 if (types ~ /(^| )deb( |$)/ && enabled != "no") {
                     nu = split(uris, u, " "); ns = split(suites, s, " ")
                     for (i = 1; i <= nu; i++)
                         for (j = 1; j <= ns; j++) print u[i], s[j]
                 }
                 types = uris = suites = ""; enabled = "yes"
             }
             BEGIN { enabled = "yes" }
             /^[ \t]*#/ { next }
             /^[ \t]*$/ { flush(); next }
             { key = tolower($1); sub(/:$/, "", key); $1 = "" }
             key == "types" { types = $0 }
             key == "uris" { uris = $0 }
             key == "suites" { suites = $0 }
             key == "enabled" { enabled = tolower($2) }
             END { flush() }' "$f"
    done
}

sources=$(host_sources | sed 's|/*\( \)|\1|' | sort -u)
if [ -z "$mirror" ]; then
    mirror=$(awk '$2 == "bookworm" { print $1; exit }' <<<"$sources")
    [ -n "$mirror" ] ||
        die "no Debian 12 (bookworm) entry in /etc/apt/sources.list" \
            "or /etc/apt/sources.list.d/*: pass --mirror URL"
fi
# The root gets the host's bookworm, bookworm-updates and bookworm-security
# entries (a bare Debian 12 has all three), main only.
guest_sources=$( { echo "$mirror bookworm"
                   awk '$2 ~ /^bookworm-(updates|security)$/' <<<"$sources"; } |
                 awk '!seen[$2]++ { print "deb", $1, $2, "main" }')

# ------------------------------------------------------------------ mounts
mounts=()
cleanup() {
    local pid i
    # Processes a failed step left running inside the root hold its mounts.
    for pid in /proc/[0-9]*; do
        [ "$(readlink "$pid/root" 2>/dev/null)" = "$root" ] &&
            kill -9 "${pid#/proc/}" 2>/dev/null
    done
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
        umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" ||
            echo "bare-debian-check: could not unmount ${mounts[i]}" >&2
    done
    mounts=()
}
trap cleanup EXIT
trap 'echo "bare-debian-check: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT TERM

mounted_under_root() { findmnt -rn -o TARGET | grep -q "^$root\(/\|$\)"; }

guest_mount() { # guest_mount PATH mount-args...
    local at="$root$1"; shift
    mkdir -p "$at"
    mount "$@" "$at"
    mounts+=("$at")
}

# In the root, with a clean environment like a fresh login's.
# Within a step, bounded by --step-timeout (0: no bound).
limit=0
in_root() {
    timeout --kill-after=60 "$limit" chroot "$root" /usr/bin/env -i \
        HOME=/root TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# ------------------------------------------------------------------- build
started=$SECONDS
if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

head=$(git -C "$top" rev-parse --short HEAD)
git -C "$top" diff --quiet HEAD ||
    say "note: uncommitted changes in $top are not checked (HEAD $head is)"

if [ -e "$root" ]; then
    mounted_under_root &&
        die "something is mounted under $root: unmount it first"
    say "removing the previous root $root"
    rm -rf --one-file-system "$root"
fi

say "debootstrap --variant=minbase bookworm $root $mirror"
log="$root.debootstrap.log"
if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$log" 2>&1
then
    tail -20 "$log" >&2
    die "debootstrap failed (log: $log)"
fi
size=$(du -sh --one-file-system "$root" | cut -f1)
say "root built in $((SECONDS - started)) s: $size"

printf '%s\n' "$guest_sources" > "$root/etc/apt/sources.list"
# The root trusts the certificate authorities this machine added itself
# (/usr/local/share/ca-certificates): behind a TLS-inspecting proxy npm's
# registry is reachable only so. ca-certificates, which the check command
# installs for npm, puts them in the root's store.
if [ -d /usr/local/share/ca-certificates ]; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp -r /usr/local/share/ca-certificates/. \
        "$root/usr/local/share/ca-certificates/"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp /etc/hosts "$root/etc/hosts"
guest_mount /proc -t proc proc
guest_mount /sys -t sysfs sysfs
guest_mount /dev --bind /dev
guest_mount /dev/pts --bind /dev/pts
guest_mount /dev/shm -t tmpfs -o mode=1777 tmpfs

readme_command() { # readme_command demo|check, from the clone's README
    awk -v tag="<!-- command:$1 -->" '
        $0 == tag { f = 1; next }
        f && /^```/ { if (++fence == 2) exit; next }
        f && fence == 1 { print; exit }' "$root/root/libwsproto/README.md"
}

git clone -q "$top" "$root/root/libwsproto"
demo_cmd=$(readme_command demo)
check_cmd=$(readme_command check)
[ -n "$demo_cmd" ] && [ -n "$check_cmd" ] ||
    die "README.md has no <!-- command:demo --> / <!-- command:check --> block"
say "tree: HEAD $head; demo: '$demo_cmd'; check: '$check_cmd'"

failed=""
step() { # step NAME command...: run, time, remember a failure
    local name=$1 t0=$SECONDS rc=0; shift
    say "$name: start"
    limit=${step_minutes}m
    "$@" || rc=$?
    limit=0
    if [ $rc -eq 0 ]; then
        say "$name: ok in $((SECONDS - t0)) s"
    elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        say "$name: FAILED: still running after $step_minutes minutes, stopped"
        failed="$failed $name"
    else
        say "$name: FAILED (exit $rc) after $((SECONDS - t0)) s"
        failed="$failed $name"
    fi
    return $rc
}

# 1. A normal user with sudo: only apt-get is elevated.
in_root apt-get update -qq
in_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq sudo >/dev/null
in_root useradd -m -s /bin/bash dev
echo 'dev ALL=(root) NOPASSWD: ALL' > "$root/etc/sudoers.d/dev"
chmod 440 "$root/etc/sudoers.d/dev"
git clone -q "$top" "$root/home/dev/libwsproto"
in_root chown -R dev:dev /home/dev/libwsproto
step "user: demo command" in_root runuser -u dev -- \
    env HOME=/home/dev sh -c "cd ~/libwsproto && id -un && $demo_cmd" || true

# 2. Root on a machine without sudo.
# (sudo's own removal script refuses while root has no password, unless
# told that root is reachable otherwise, as it is here.)
in_root env DEBIAN_FRONTEND=noninteractive SUDO_FORCE_REMOVE=yes \
    apt-get purge -y -qq sudo >/dev/null
in_root sh -c '! command -v sudo' >/dev/null ||
    die "sudo still present in the root"
# The user's step installed the demo packages; remove them again so that
# root's demo command installs them itself.
in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq --auto-remove \
    gcc make libc6-dev >/dev/null
# And start root's run with no package lists at all, as on a fresh machine
# or container: the commands must run apt-get update themselves.
in_root apt-get clean
rm -rf "$root"/var/lib/apt/lists/*
in_tree() { in_root sh -c "cd /root/libwsproto && $1"; }
step "root: demo command" in_tree "$demo_cmd" || true
if [ $demo_only -eq 0 ]; then
    step "root: check command" in_tree "$check_cmd" || true
    # make install into /usr/local: ldconfig runs, programs need no path.
    step "root: make install-test-system" in_tree "make install-test-system" ||
        true
fi

cleanup
if [ -z "$failed" ]; then
    say "all passed in $((SECONDS - started)) s (tree HEAD $head)"
    if [ $keep -eq 0 ] && ! mounted_under_root; then
        rm -rf --one-file-system "$root" "$root.debootstrap.log"
    fi
    exit 0
fi
say "FAILED:$failed (root kept in $root for inspection)"
exit 1
}
