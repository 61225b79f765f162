#!/usr/bin/env bash
# The README's two commands on a bare Debian: a chroot made by debootstrap with nothing
# in it but a minimal Debian, git and python3 (and ca-certificates, which `apt install
# git` brings along), a fresh clone of this repository's HEAD, then
#   1. scripts/uv run imagebuilder check-updates
#   2. bash scripts/test.sh [PYTEST ARGS]
# each timed. docs/development.md ("A clean machine") records a run and what it covers.
#
#   sudo bash scripts/clean-machine.sh [--suite bookworm] [--mirror URL] [--root DIR]
#       [--extra-ca FILE]... [--keep] [-- PYTEST ARGS]
#
# --extra-ca adds a CA certificate to the chroot's store (a network whose proxy inspects
# TLS); the host's proxy and CA-bundle variables are passed in when set, nothing else.
#
# What a chroot cannot be: a second machine. It shares the host's kernel and network
# namespace, so a second dockerd inside it would fight the host's over the docker0 bridge
# and iptables. When the host has a Docker Engine, its socket is bound into the chroot:
# command 2 still installs the docker.io package (client and dockerd) and every other
# package itself, and services.sh finds an engine answering and does not start one.
# Without a host engine, services.sh starts dockerd inside the chroot.
set -euo pipefail

SUITE=bookworm
MIRROR=http://deb.debian.org/debian
ROOT=""
KEEP=0
EXTRA_CA=()
while [ $# -gt 0 ]; do
    case "$1" in
        --suite) SUITE="$2"; shift 2 ;;
        --mirror) MIRROR="$2"; shift 2 ;;
        --root) ROOT="$2"; shift 2 ;;
        --extra-ca) EXTRA_CA+=("$2"); shift 2 ;;
        --keep) KEEP=1; shift ;;
        --) shift; break ;;
        *) echo "usage: $0 [--suite S] [--mirror URL] [--root DIR] [--extra-ca FILE]... [--keep] [-- PYTEST ARGS]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "clean-machine: debootstrap and chroot need root" >&2; exit 2; }
command -v debootstrap >/dev/null 2>&1 || {
    echo "clean-machine: debootstrap is missing (apt-get install debootstrap)" >&2
    exit 2
}
REPO="$(cd "$(dirname "$0")/.." && pwd)"
ROOT="${ROOT:-$(mktemp -d "${TMPDIR:-/var/tmp}/imagebuilder-clean.XXXXXX")}"
MOUNTS=()
TIMES=()

log() { printf 'clean-machine: %s\n' "$*" >&2; }

cleanup() {
    local i
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTS[i]}" 2>/dev/null || true; done
    if [ "$KEEP" -eq 0 ]; then
        # Never delete through a mount that is still there (it would reach the host's /dev).
        if findmnt -rn -o TARGET | grep -q "^$ROOT"; then
            log "mounts remain under $ROOT; not deleting it"
        else
            rm -rf --one-file-system "$ROOT"
        fi
    else
        log "kept $ROOT"
    fi
}
trap cleanup EXIT

bind() {  # bind SOURCE TARGET-INSIDE-ROOT
    local target="$ROOT$2"
    if [ -d "$1" ]; then mkdir -p "$target"; else mkdir -p "$(dirname "$target")"; touch "$target"; fi
    mount --bind "$1" "$target"
    MOUNTS+=("$target")
}

timed() {  # timed LABEL COMMAND...: run, record wall seconds and exit status
    local label="$1" start end rc=0
    shift
    start=$(date +%s.%N)
    "$@" || rc=$?
    end=$(date +%s.%N)
    TIMES+=("$(printf '%-44s %7.1f s  exit %d' "$label" "$(awk "BEGIN { print $end - $start }")" "$rc")")
    return "$rc"
}

# The variables a fresh machine on this network would have: a proxy and its CA, if any.
PASS_ENV=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    LANG=C.UTF-8 CI=true)
for name in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY \
    SSL_CERT_FILE SSL_CERT_DIR NODE_EXTRA_CA_CERTS REQUESTS_CA_BUNDLE CURL_CA_BUNDLE \
    UV_INDEX_URL PIP_INDEX_URL; do
    if [ -n "${!name:-}" ]; then PASS_ENV+=("$name=${!name}"); fi
done

in_chroot() { chroot "$ROOT" env -i "${PASS_ENV[@]}" bash -c "cd /root/imagebuilder && $1"; }

log "debootstrap $SUITE into $ROOT"
timed "debootstrap (minbase + git, python3)" debootstrap --variant=minbase \
    --include=git,python3,ca-certificates "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.debootstrap.log" 2>&1 \
    || { tail -n 20 "$ROOT.debootstrap.log" >&2; exit 1; }
rm -f "$ROOT.debootstrap.log"
# As in Debian's own container images: no package starts a service inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
for ca in "${EXTRA_CA[@]}"; do cp "$ca" "$ROOT/usr/local/share/ca-certificates/$(basename "$ca" .crt).crt"; done
[ "${#EXTRA_CA[@]}" -eq 0 ] || chroot "$ROOT" update-ca-certificates >/dev/null

for fs in proc sys dev dev/pts; do bind "/$fs" "/$fs"; done
if [ -S /var/run/docker.sock ]; then
    log "binding the host's Docker Engine socket into the chroot"
    bind /var/run/docker.sock /run/docker.sock
fi
git clone --quiet "$REPO" "$ROOT/root/imagebuilder"
log "clone of $(git -C "$REPO" rev-parse --short HEAD); the chroot has: $(chroot "$ROOT" sh -c \
    'for t in git python3 uv node npm docker dockerd chromium; do command -v $t >/dev/null && printf "%s " $t; done')"

rc1=0
timed "command 1: scripts/uv run imagebuilder check-updates" \
    in_chroot "scripts/uv run imagebuilder check-updates" || rc1=$?
if [ "$rc1" -ne 0 ] && [ "$rc1" -ne 6 ]; then
    log "command 1 failed with exit $rc1 (6, the Hub unreachable, would be expected offline)"
fi
rc2=0
timed "command 2: bash scripts/test.sh $*" in_chroot "bash scripts/test.sh $*" || rc2=$?

log "wall times:"
printf '  %s\n' "${TIMES[@]}" >&2
if { [ "$rc1" -eq 0 ] || [ "$rc1" -eq 6 ]; } && [ "$rc2" -eq 0 ]; then
    log "both commands ran on a bare $SUITE"
else
    exit 1
fi
