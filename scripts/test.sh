#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a fresh machine:
#   installs uv and the locked dependencies, starts the Docker Engine (the registry and
#   the loopback Hub are started by the tests themselves), then runs lint, types, the
#   workflow linters and every test, unit and integration alike.
set -euo pipefail
cd "$(dirname "$0")/.."

# uv: with pip where this python allows it; a stock Debian/Ubuntu python refuses
# `pip install` outside a virtual environment (PEP 668, "externally managed"), and may
# have no pip at all, so then with pipx from apt. Both install uv from PyPI.
export PATH="$HOME/.local/bin:$PATH"
if ! command -v uv >/dev/null 2>&1; then
    if ! python3 -m pip install --quiet 'uv>=0.5,<1'; then
        echo "pip could not install uv here; installing it with pipx instead" >&2
        if ! command -v pipx >/dev/null 2>&1; then
            sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
            sudo_if_needed apt-get update -qq
            sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pipx
        fi
        pipx install 'uv>=0.5,<1'
    fi
fi
uv sync --locked --quiet

bash scripts/services.sh start
# Stop only what services.sh started, however the run ends.
trap 'bash scripts/services.sh stop || true' EXIT

echo "== ruff"
uv run ruff check .
uv run ruff format --check .
echo "== mypy --strict"
uv run mypy
if [ -f scripts/lint-workflows.sh ]; then
    echo "== workflow and Dockerfile linters"
    bash scripts/lint-workflows.sh
fi
echo "== pytest"
uv run pytest "$@"
