"""Turn the cold-start plan's raw files into the cold-start measurement file and a table.

    python3 summarize_cold.py RAW [RAW...] --out FILE [--markdown]

Standard library only. The last RAW holding both start paths is the side-by-side run;
the others add what only they measured (the flag sweep, the prefetch of the model files
alone with 8 readers: the stack's disk read time). Output (imagebuilder-gpu-benchmark/1,
the `cold_start` section `imagebuilder cost` reads, plus report-only sections):
`cold_start` is the new start path's (models.yaml's cost.cold_start quotes it),
`cold_start_today` the base's own, `phases` the per-phase table of every start, `goal`
the targets against what was measured.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

SCHEMA = "imagebuilder-gpu-benchmark/1"
CASES = ("page_cache_warm", "page_cache_dropped")


def phases(scenario: dict[str, Any]) -> dict[str, float | None]:
    """Seconds after the process started at which each phase ended."""
    marks, parts = scenario["phases"], scenario["parts"]

    def end(*names: str) -> float | None:
        ends = [parts[n]["last_end"] for n in names if n in parts]
        return round(max(ends), 3) if ends else None

    loaders = ("load_vae", "load_text_encoder", "load_diffusion_model", "load_lora")
    events = {e["ib_start"]: e["at"] for e in scenario.get("entrypoint", [])}
    return {
        "interpreter_up": marks.get("interpreter_up"),
        "torch_cuda_ready": marks.get("torch_cuda_ready"),
        "nodes_loaded": marks.get("nodes_loaded"),
        "server_answers": scenario["answers"],
        "loaders_done": end(*loaders),
        "loader_seconds": round(sum(parts[n]["seconds"] for n in loaders if n in parts), 3),
        "to_gpu_seconds": parts.get("models_to_gpu", {}).get("seconds"),
        "first_image": scenario["first_image"],
        "prefetch_done": events.get("prefetch_done"),
        "warmup_done": events.get("warmup_done"),
    }


def side_by_side(runs: list[dict[str, Any]]) -> dict[str, Any]:
    for run in reversed(runs):
        paths = {s["path"] for s in run["cold_start"]["scenarios"]}
        if {"today", "new"} <= paths:
            return run
    raise SystemExit("no raw file holds both start paths")


def block(run: dict[str, Any], path: str, source: str) -> dict[str, Any]:
    found = {
        s["case"]: s
        for s in run["cold_start"]["scenarios"]
        if s["path"] == path and not s["label"].endswith(("_with_libraries", "_job_later"))
    }
    warm = found["page_cache_warm"]
    return {
        "server_start_seconds": warm["answers"],
        "first_job_seconds": {
            case: {"seconds": round(s["first_image"] - s["answers"], 3)}
            for case, s in found.items()
        },
        "first_image_seconds": {case: s["first_image"] for case, s in found.items()},
        "first_job_workflow": "qwen_image_edit_1",
        "first_job_steps": 4,
        "source": source,
    }


def disk_read_seconds(runs: list[dict[str, Any]]) -> dict[str, float] | None:
    """The model files alone, 8 readers from a dropped page cache: the disk's floor."""
    for run in runs:
        for s in run["cold_start"]["scenarios"]:
            events = {e["ib_start"]: e for e in s.get("entrypoint", [])}
            start = events.get("prefetch_start")
            done = events.get("prefetch_done")
            alone = start and done and start["files"] == 4 and start["readers"] == 8
            if s["case"] == "page_cache_dropped" and alone and "prefetch_widen" not in events:
                return {"bytes": start["bytes"], "seconds": done["seconds"],
                        "gb_per_s": done["gb_per_s"]}  # fmt: skip
    return None


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    main = side_by_side(runs)
    env = main["environment"]
    source = (f"{env['gpu']} (driver {env['driver']}), ComfyUI {env['comfyui_commit'][:8]}, "
              f"{env['date'][:10]}, benchmarks/gpu plan cold with synthetic weights")  # fmt: skip
    new, today = block(main, "new", source), block(main, "today", source)
    disk = disk_read_seconds(runs)
    # The side-by-side run's starts; what only an earlier run measured, prefixed with it.
    table = {s["label"]: phases(s) for s in main["cold_start"]["scenarios"]}
    for number, run in enumerate(runs, 1):
        for s in run["cold_start"]["scenarios"]:
            if run is not main and s["label"] not in table:
                table[f"run{number}_{s['label']}"] = phases(s)
    goal: dict[str, Any] = {
        "warm_first_image_target": 12.0,
        "warm_first_image": new["first_image_seconds"]["page_cache_warm"],
    }
    if disk:
        goal["dropped_first_image_target"] = round(1.2 * disk["seconds"] + 5, 2)
        goal["dropped_first_image"] = new["first_image_seconds"]["page_cache_dropped"]
    flags = next((r["cold_start"]["flags"] for r in runs if r["cold_start"].get("flags")), {})
    bytecode = next((r["cold_start"]["bytecode"] for r in reversed(runs)
                     if r["cold_start"].get("bytecode", {}).get("pyc_files")), None)  # fmt: skip
    return {
        "schema": SCHEMA,
        "gpu": env["gpu"],
        "source": source,
        "cold_start": new,
        "cold_start_today": today,
        "warm_job_seconds": {  # the second job on each fresh worker: no slower than today
            f"{s['path']}_{s['case']}": s["warm_job_seconds"]
            for s in main["cold_start"]["scenarios"]
            if not s["label"].endswith(("_with_libraries", "_job_later"))
        },
        "phases": table,
        "disk_read": disk,
        "goal": goal,
        "bytecode": bytecode,
        "flags": flags,
        "new_start_flags": next(
            (s["flags"] for s in main["cold_start"]["scenarios"] if s["path"] == "new"), []
        ),
        "environment": env,
    }


def markdown(summary: dict[str, Any]) -> str:
    rows = [
        ("interpreter up", "interpreter_up"),
        ("torch + CUDA ready", "torch_cuda_ready"),
        ("ComfyUI's nodes imported", "nodes_loaded"),
        ("server answers (job queued)", "server_answers"),
        ("model prefetch done", "prefetch_done"),
        ("loaders done", "loaders_done"),
        ("first image", "first_image"),
        ("(loaders, seconds)", "loader_seconds"),
        ("(models to GPU, seconds)", "to_gpu_seconds"),
    ]
    labels = [label for label in summary["phases"] if not label.endswith("_job_later")]
    out = ["| seconds after start | " + " | ".join(labels) + " |",
           "|---|" + "---|" * len(labels)]  # fmt: skip
    for title, key in rows:
        cells = [summary["phases"][label].get(key) for label in labels]
        out.append(
            f"| {title} | " + " | ".join("" if c is None else f"{c:.1f}" for c in cells) + " |"
        )
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("raw", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--markdown", action="store_true", help="also print the phase table")
    args = parser.parse_args()
    runs = [json.loads(path.read_text()) for path in args.raw]
    summary = summarize(runs)
    args.out.write_text(json.dumps(summary, indent=1) + "\n")
    if args.markdown:
        print(markdown(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
