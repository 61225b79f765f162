#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a fresh machine:
#   installs uv and the locked dependencies, starts the Docker Engine (the registry and
#   the loopback Hub are started by the tests themselves), then runs lint, types, the
#   workflow linters and every test, unit and integration alike.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v uv >/dev/null 2>&1; then
    python3 -m pip install --quiet 'uv>=0.5,<1'
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
