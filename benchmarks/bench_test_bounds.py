"""`imagebuilder test` against hostile workers: peak memory on 64 Mpx outputs, and the
time a worker trickling one byte a second takes to end with --timeout.

memory: a loopback ComfyUI (tests/comfyserver) answers every job with an 8000 x 8000
PNG (64 Mpx, inside MAX_PIXELS; a smooth picture per step count, so a few MB on the
wire and the variants differ from the baseline); 2 cases x 3 variants plus warm-ups,
2 jobs at a time. The CLI runs in a child process; its peak RSS is the child's
ru_maxrss. Before the bounded scoring copy one such run took 11.4 GB.

trickle: the same server behind the fault proxy (tests/faultproxy), which relays every
/view body one byte a second; one job, --timeout 15. Measured: the command's wall time
(process start, project load and report included) and the job's own.

Run: uv run python benchmarks/bench_test_bounds.py [--scenario memory|trickle|both]
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from comfyserver import ComfyServer, engine
from comfyserver.project import make_project, write_cases
from faultproxy import Fault, FaultProxy, Kind

ROOT = Path(__file__).resolve().parents[1]
SIDE = 8000
RSS_GOAL_MB = 1500  # the bound docs/benchmarks.md states
TRICKLE_TIMEOUT_S = 15


def _big_png(steps: int) -> bytes:
    ramp = np.linspace(0, 220, SIDE, dtype=np.float32)
    wave = (4 - steps) * 6.0 * np.sin(np.arange(SIDE, dtype=np.float32) / 9)
    plane = (ramp[:, None] + wave[None, :]).clip(0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(np.dstack([plane, plane[::-1], plane.T]), mode="RGB").save(
        buffer, format="PNG", compress_level=6
    )
    return buffer.getvalue()


def _cli(args: list[str], out: Path) -> tuple[int, float, dict[str, Any]]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "imagebuilder", *args, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    out.write_text(done.stderr, encoding="utf-8")
    return done.returncode, seconds, json.loads(done.stdout or "{}")


def memory(folder: Path) -> dict[str, Any]:
    outputs = {steps: _big_png(steps) for steps in (2, 3, 4)}
    engine.render = lambda plan, uploads: outputs[plan.steps]
    folder.mkdir(parents=True)
    project = make_project(folder)
    cases = write_cases(folder, {"cat": "a cat", "dog": "a dog"})
    with ComfyServer() as server:
        args = ["test", "-c", str(project), "--target", server.url, "--cases", str(cases)]
        args += ["--report", str(folder / "report.html"), "--poll-interval", "0.02"]
        code, seconds, document = _cli(args, folder / "memory.log")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    rows = document.get("rows", [])
    return {
        "exit_code": code,
        "seconds": round(seconds, 2),
        "jobs": len(rows) + len(document.get("warmups", [])),
        "output_px": SIDE * SIDE,
        "answer_bytes": {str(k): len(v) for k, v in outputs.items()},
        "scored_size": sorted({str(r.get("scored_size")) for r in rows}),
        "peak_rss_mb": round(peak_mb),
        "goal_mb": RSS_GOAL_MB,
    }


def trickle(folder: Path) -> dict[str, Any]:
    folder.mkdir(parents=True)
    project = make_project(folder)
    cases = write_cases(folder, {"cat": "a cat"})
    with ComfyServer() as server, FaultProxy(int(server.origin.rsplit(":", 1)[1])) as proxy:
        proxy.add(Fault(Kind.TRICKLE, seconds=1.0), method="GET", path=r"^/view", times=-1)
        args = ["test", "-c", str(project), "--target", proxy.url, "--cases", str(cases)]
        args += ["--report", str(folder / "report.html"), "--variant", "steps4"]
        args += ["--no-warmup", "--timeout", str(TRICKLE_TIMEOUT_S)]
        code, seconds, document = _cli(args, folder / "trickle.log")
    (row,) = document["rows"]
    return {
        "exit_code": code,
        "timeout_s": TRICKLE_TIMEOUT_S,
        "command_seconds": round(seconds, 2),
        "job_seconds": round(row["wall_s"], 2),
        "failure": row["failure"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["memory", "trickle", "both"], default="both")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/test_bounds.json")
    args = parser.parse_args()
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.scenario in ("trickle", "both"):
            result["trickle"] = trickle(Path(tmp) / "trickle")
            print(json.dumps(result["trickle"]))
        if args.scenario in ("memory", "both"):
            result["memory"] = memory(Path(tmp) / "memory")
            print(json.dumps(result["memory"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    ok = True
    if "memory" in result:
        ok &= result["memory"]["exit_code"] in (0, 13)
        ok &= result["memory"]["peak_rss_mb"] < RSS_GOAL_MB
    if "trickle" in result:
        ok &= result["trickle"]["exit_code"] == 13
        ok &= result["trickle"]["job_seconds"] < TRICKLE_TIMEOUT_S + 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
