# Debian packages for scripts/services.sh and scripts/test.sh (sourced, not run).
#
# apt_install REASON PACKAGE...   installs what is missing, saying what and why, as root
#                                 or through sudo, waiting for the package manager's lock.
#
# Another apt or dpkg (unattended-upgrades on a fresh cloud machine, a second CI job) holds
# the lock for minutes; apt-get then dies at once with exit 100. dpkg's own lock is waited
# for by apt (DPkg::Lock::Timeout), but not the lists and archives locks, so a lock error is
# retried here until APT_LOCK_WAIT seconds (default 600) have passed.

APT_LOCK_WAIT="${APT_LOCK_WAIT:-600}"
_apt_updated=0

_as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

_apt_get() {
    local waited=0 errors rc
    errors="$(mktemp)"
    while true; do
        rc=0
        _as_root env DEBIAN_FRONTEND=noninteractive apt-get \
            -o DPkg::Lock::Timeout="$APT_LOCK_WAIT" -o Dpkg::Use-Pty=0 "$@" \
            2> >(tee "$errors" >&2) || rc=$?
        wait  # the tee above
        if [ "$rc" -eq 0 ] || ! grep -q 'Could not get lock\|Unable to lock' "$errors"; then
            rm -f "$errors"
            return "$rc"
        fi
        if [ "$waited" -ge "$APT_LOCK_WAIT" ]; then
            echo "apt: the package manager's lock was still held after ${APT_LOCK_WAIT}s" >&2
            rm -f "$errors"
            return "$rc"
        fi
        echo "apt: another process holds the package manager's lock; waiting (${waited}s)" >&2
        sleep 5
        waited=$((waited + 5))
    done
}

apt_install() {
    local reason="$1"
    shift
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$package")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    echo "apt: installing ${missing[*]} (${reason})" >&2
    if [ "$_apt_updated" -eq 0 ]; then
        _apt_get update -qq
        _apt_updated=1
    fi
    _apt_get install -y -qq "${missing[@]}"
}
