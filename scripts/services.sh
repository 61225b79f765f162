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
PACKAGES=(docker.io docker-registry busybox-static apache2-utils chromium chromium-driver)

log() { printf 'services: %s\n' "$*" >&2; }

engine_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

sudo_if_needed() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
    local missing=0
    for tool in dockerd docker docker-registry busybox htpasswd chromium chromedriver; do
        command -v "$tool" >/dev/null 2>&1 || { log "missing: $tool"; missing=1; }
    done
    if [ "$missing" -eq 1 ]; then
        log "installing ${PACKAGES[*]}"
        sudo_if_needed apt-get update
        sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y "${PACKAGES[@]}"
    fi
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
