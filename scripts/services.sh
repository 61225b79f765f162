#!/usr/bin/env bash
# Real components for the integration tests: Docker Engine, registry binary, busybox,
# and the headless browser that checks the `imagebuilder test` HTML report.
#
#   scripts/services.sh start   install what is missing, start dockerd if no engine answers
#   scripts/services.sh stop    stop what `start` started (and nothing else)
#   scripts/services.sh status  say what answers
#
# Idempotent: `start` twice is harmless; `stop` only ends the dockerd whose pid `start`
# recorded. The registry itself is started per test session by the pytest fixture.
set -euo pipefail

STATE_DIR="${IMAGEBUILDER_SERVICES_DIR:-${TMPDIR:-/tmp}/imagebuilder-services}"
PID_FILE="$STATE_DIR/dockerd.pid"
LOG_FILE="$STATE_DIR/dockerd.log"
WAIT_SECONDS="${IMAGEBUILDER_DOCKERD_WAIT:-60}"

log() { printf 'services: %s\n' "$*" >&2; }

engine_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# shellcheck source=scripts/lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"
sudo_if_needed() { _as_root "$@"; }

# What the integration tests use and why; a package is installed only when one of its
# tools is missing (a machine with Docker's own docker-ce keeps it).
need() {
    local reason="$1" tools="$2"
    shift 2
    for tool in $tools; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            log "missing: $tool"
            apt_install "$reason" "$@"
            return
        fi
    done
}

install_missing() {
    need "the Docker Engine: build and publish tests" "dockerd docker" docker.io
    need "a registry: publish tests" docker-registry docker-registry
    need "htpasswd: the test registry's auth" htpasswd apache2-utils
    need "busybox: the base image rootfs of test builds" busybox busybox-static
    need "headless Chromium: the test report's browser check" "chromium chromedriver" \
        chromium chromium-driver
}

start_engine() {
    if engine_answers; then
        log "a Docker Engine already answers; leaving it alone"
        return 0
    fi
    mkdir -p "$STATE_DIR"
    log "starting dockerd (log: $LOG_FILE)"
    # setsid: dockerd must outlive this script and the CI step that ran it. dockerd
    # writes its own pid file: setsid may fork, so $! would not be dockerd's pid.
    rm -f "$PID_FILE"
    sudo_if_needed setsid dockerd --pidfile "$PID_FILE" >"$LOG_FILE" 2>&1 </dev/null &
    local waited=0
    until engine_answers; do
        if [ "$waited" -ge "$WAIT_SECONDS" ]; then
            log "dockerd did not answer within ${WAIT_SECONDS}s; last lines of its log:"
            tail -n 30 "$LOG_FILE" >&2 || true
            exit 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    log "Docker Engine $(docker version --format '{{.Server.Version}}') is up"
}

stop_engine() {
    if [ ! -f "$PID_FILE" ]; then
        log "no dockerd started by this script; nothing to stop"
        return 0
    fi
    local pid
    pid="$(cat "$PID_FILE")"
    if kill -0 "$pid" 2>/dev/null; then
        log "stopping dockerd (pid $pid)"
        sudo_if_needed kill "$pid"
        for _ in $(seq 1 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 1
        done
    fi
    rm -f "$PID_FILE"
}

case "${1:-start}" in
    start)
        install_missing
        start_engine
        ;;
    stop) stop_engine ;;
    status)
        if engine_answers; then
            log "engine: $(docker version --format '{{.Server.Version}}')"
        else
            log "engine: not answering"
            exit 1
        fi
        ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
