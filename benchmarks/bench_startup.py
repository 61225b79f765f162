"""Start-up time of the CLI: `imagebuilder --help` and `imagebuilder --version`.

Users and CI scripts call the CLI many times; each call pays Python's start-up plus every
import done before the command runs. Target: median under 0.3 s for both. Each run is a
fresh process of the installed entry point (the console script beside this Python, else
`python -m imagebuilder`); the median of --runs runs is reported, with the modules the
process had imported (to catch a heavy import creeping back). Prints a table; writes JSON
to benchmarks/results/.

Bytecode: an installed package runs from compiled .pyc files (pip and uv write them on
install, or Python on first import). With PYTHONDONTWRITEBYTECODE set there are none and
every run compiles every module again, which is not what users see; so the runs here
allow bytecode and start with warm-up runs, unless --no-bytecode asks for the slow case.

Run: uv run python benchmarks/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from imagebuilder.project.atomic import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 0.3
HEAVY = ("pydantic", "huggingface_hub", "docker", "ruamel.yaml", "jinja2", "httpx", "rich.table")
# Run in a child so that its imports are the CLI's own: it prints which heavy modules the
# command pulled in, after the command is done.
PROBE = (
    "import sys, atexit\n"
    "heavy = {heavy!r}\n"
    "atexit.register(lambda: sys.stderr.write('LOADED ' + ','.join(sorted("
    "h for h in heavy if h in sys.modules)) + '\\n'))\n"
    "sys.argv = ['imagebuilder', *{args!r}]\n"
    "from imagebuilder.cli import run\n"
    "run()\n"
)


def entry_point() -> list[str]:
    script = Path(sys.executable).with_name("imagebuilder")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "imagebuilder"]


def child_env(bytecode: bool, empty_cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("PYTHONPYCACHEPREFIX", None)
    else:  # look for .pyc files in an empty folder and write none: compile every time
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPYCACHEPREFIX"] = str(empty_cache)
    return env


def time_runs(command: list[str], runs: int, env: dict[str, str]) -> list[float]:
    for _ in range(2):  # warm-up: bytecode written, file cache filled
        subprocess.run(command, check=True, capture_output=True, env=env)
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        seconds.append(time.perf_counter() - started)
    return seconds


def heavy_modules(args: list[str], env: dict[str, str]) -> list[str]:
    probe = PROBE.format(heavy=HEAVY, args=args)
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False
    )
    line = next((x for x in done.stderr.splitlines() if x.startswith("LOADED ")), "LOADED ")
    return [name for name in line.removeprefix("LOADED ").split(",") if name]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per command")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="no .pyc files: every module compiled"
    )
    args = parser.parse_args()
    env = child_env(bytecode=not args.no_bytecode, empty_cache=Path(tempfile.mkdtemp()))
    base = entry_point()
    python_only = statistics.median(time_runs([sys.executable, "-c", "pass"], args.runs, env))
    rows = []
    for flag in ("--help", "--version"):
        seconds = time_runs([*base, flag], args.runs, env)
        rows.append(
            {
                "command": f"imagebuilder {flag}",
                "median_s": round(statistics.median(seconds), 4),
                "min_s": round(min(seconds), 4),
                "max_s": round(max(seconds), 4),
                "runs": args.runs,
                "heavy_modules_loaded": heavy_modules([flag], env),
                "meets_target": statistics.median(seconds) < TARGET_SECONDS,
            }
        )
    print(f"{'command':<24} {'median s':>9} {'min s':>7} {'max s':>7}  heavy modules loaded")
    for row in rows:
        print(
            f"{row['command']:<24} {row['median_s']:>9.3f} {row['min_s']:>7.3f} "
            f"{row['max_s']:>7.3f}  {', '.join(row['heavy_modules_loaded']) or '-'}"
        )
    print(f"(python -c pass: {python_only:.3f} s; target: median < {TARGET_SECONDS} s)")
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    report = {
        "benchmark": "startup",
        "created": created,
        "command": base,
        "python_startup_s": round(python_only, 4),
        "bytecode": not args.no_bytecode,
        "target_s": TARGET_SECONDS,
        "results": rows,
    }
    out = args.results / f"bench_startup-{created.replace(':', '').replace('-', '')}.json"
    atomic_write_text(out, json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    if not all(row["meets_target"] for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
