"""Time to refuse hostile input: each case must end in a clear error in under a second.

Before the limits in project/yamlguard.py and project/jsonguard.py, a models.yaml of 250
nested lists crashed (RecursionError), 10,000 nested lists ran for minutes, and a deeply
nested lock crashed. Each case here is written to a temp folder and run through the real
command line in this process (`imagebuilder validate` or `cost`), so the time is what the
refusal costs after start-up (bench_startup.py measures start-up). The median of --runs
runs is reported, against the time to validate the shipped models.yaml. Target: every
refusal under 1 s. Prints a table; writes JSON to benchmarks/results/.

Run: uv run python benchmarks/bench_hostile_input.py [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from imagebuilder.cli.app import main
from imagebuilder.project.atomic import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 1.0
ORIGINAL = (ROOT / "models.yaml").read_text(encoding="utf-8")


def _nested(depth: int) -> str:
    return ORIGINAL + "extra:\n  deep: " + "[" * depth + "]" * depth + "\n"


def _lock(body: str) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        (folder / "models.lock.json").write_text(body, encoding="utf-8")

    return write


# name -> (models.yaml text, extra files, command after "-c PATH")
CASES: dict[str, tuple[str, Callable[[Path], None] | None, list[str]]] = {
    "valid models.yaml (reference)": (ORIGINAL, None, ["validate"]),
    "yaml nested 250": (_nested(250), None, ["validate"]),
    "yaml nested 10,000": (_nested(10_000), None, ["validate"]),
    "yaml 20,000 values": (
        ORIGINAL + "extra: [" + ", ".join(["1"] * 20_000) + "]\n",
        None,
        ["validate"],
    ),
    "yaml 120 KB plain scalar": (ORIGINAL + "x: " + "ab " * 40_000 + "\n", None, ["validate"]),
    "steps with 5,000 digits": (
        ORIGINAL.replace("  steps: 4 ", "  steps: " + "9" * 5000 + " "),
        None,
        ["validate"],
    ),
    "cost .inf": (ORIGINAL.replace("price_per_hour: 3.50", "price_per_hour: .inf"), None, ["cost"]),
    "bidi override in a comment": (
        ORIGINAL.replace("# the smallest card", "# the smallest\u202e card"),
        None,
        ["validate"],
    ),
    "comfyui_root with '..'": (
        ORIGINAL.replace("comfyui_root: /comfyui", "comfyui_root: /comfyui/../../etc"),
        None,
        ["validate"],
    ),
    "lock nested 100,000": (
        ORIGINAL,
        _lock('{"models": {\n"x": ' + "[" * 100_000 + "]" * 100_000 + '}, "version": 1}'),
        ["validate"],
    ),
    "lock number of 5,000 digits": (
        ORIGINAL,
        _lock('{"models": {\n"vae": {"size": ' + "9" * 5000 + '}}, "version": 1}'),
        ["validate"],
    ),
}
# Every hostile case must differ from the shipped file: a replace that no longer matches
# (the shipped file changed) would time the valid file and report exit 0.
assert all(
    text != ORIGINAL or lock is not None
    for name, (text, lock, _) in CASES.items()
    if name != "valid models.yaml (reference)"
), "a hostile case no longer changes models.yaml"


@dataclass(frozen=True)
class Row:
    case: str
    exit: int
    median_s: float


def run_once(folder: Path, command: list[str]) -> tuple[float, int]:
    sink = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        code = main([*command, "-c", str(folder / "models.yaml")])
    return time.perf_counter() - started, code


def main_bench() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results: list[Row] = []
    with tempfile.TemporaryDirectory() as temp:
        for index, (name, (text, extra, command)) in enumerate(CASES.items()):
            folder = Path(temp) / str(index)
            folder.mkdir()
            (folder / "models.yaml").write_text(text, encoding="utf-8")
            if extra is not None:
                extra(folder)
            runs = [run_once(folder, command) for _ in range(args.runs)]
            median = statistics.median(seconds for seconds, _ in runs)
            results.append(Row(name, runs[0][1], round(median, 4)))
    print(f"{'case':34} {'exit':>4} {'median s':>9}")
    for row in results:
        print(f"{row.case:34} {row.exit:>4} {row.median_s:>9.3f}")
    slow = [r for r in results if r.median_s >= TARGET_SECONDS]
    crashed = [r for r in results if r.exit == 1]
    out = ROOT / "benchmarks" / "results" / "hostile_input.json"
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "target_s": TARGET_SECONDS,
        "runs": args.runs,
        "results": [asdict(row) for row in results],
    }
    atomic_write_text(out, json.dumps(report, indent=2) + "\n")
    for row in slow:
        print(f"over target: {row.case} ({row.median_s:.3f} s)", file=sys.stderr)
    for row in crashed:
        print(f"internal error: {row.case}", file=sys.stderr)
    return 1 if slow or crashed else 0


if __name__ == "__main__":
    sys.exit(main_bench())
