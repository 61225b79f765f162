#!/usr/bin/env bash
# Run every benchmarks/bench_*.py in turn, each with its default options; JSON results
# land in benchmarks/results/ (git-ignored). bench_build.py and bench_publish.py drive the
# Docker Engine and a registry: run `bash scripts/services.sh start` first.
# A failing benchmark is reported and the others still run; the exit status is 1 then.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
for bench in benchmarks/bench_*.py; do
    printf '== %s\n' "$bench" >&2
    if ! uv run python "$bench"; then
        printf 'FAILED: %s\n' "$bench" >&2
        status=1
    fi
done
exit "$status"
