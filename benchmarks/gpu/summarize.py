"""Turn the benchmark's raw files into the one measurement file the cost model reads.

    python3 summarize.py raw-main.json [raw-memory.json] --weights weights.jsonl --out FILE

Standard library only. Every number in the output is a median over the raw jobs named
beside it; the raw files stay the evidence. Output schema (imagebuilder-gpu-benchmark/1,
documented in docs/inference.md): the top level holds the cost inputs of the shipped
one-image workflow (gpu, seconds_per_step, fixed_seconds, source), `workflows` the same
per workflow, `cold_start` the start and first-job seconds, then `memory`, `fp8`,
`optimised_graphs` (old vs new pixels and seconds), `variants` (each arm of the variants
plan with its own `workflows` and first job) and `environment`.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

SCHEMA = "imagebuilder-gpu-benchmark/1"
# The parts of a warm job that do not scale with steps, as the timing nodes name them.
FIXED_PARTS = {
    "text_encoding": ("text_encode", "tokenize"),
    "vae_encode": ("vae_encode",),
    "vae_decode": ("vae_decode",),
    "image_io": ("load_image", "save_image"),
}


def median(values: list[float]) -> float:
    return round(statistics.median(values), 4) if values else 0.0


def job_seconds(job: dict[str, Any]) -> float:
    return float(job["server_seconds"] or job["wall_seconds"])


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least squares: seconds = fixed + steps * per_step."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx
    return mean_y - slope * mean_x, slope


def workflow_summary(jobs: list[dict[str, Any]]) -> dict[str, Any]:
    """Seconds per step (median model call), fixed parts and warm job per step count."""
    per_step = median([s for job in jobs for s in job["parts"].get("step", [])])
    fixed: dict[str, list[float]] = {
        name: [] for name in [*FIXED_PARTS, "sampler_overhead", "other"]
    }
    for job in jobs:
        parts = job["parts"]
        named = 0.0
        for name, sources in FIXED_PARTS.items():
            seconds = sum(sum(parts.get(source, [])) for source in sources)
            fixed[name].append(seconds)
            named += seconds
        steps_total = sum(parts.get("step", []))
        overhead = sum(parts.get("sample", [])) - steps_total
        fixed["sampler_overhead"].append(overhead)
        fixed["other"].append(job_seconds(job) - named - steps_total - overhead)
    by_steps: dict[int, list[float]] = {}
    for job in jobs:
        by_steps.setdefault(job["steps"], []).append(job_seconds(job))
    warm = {str(steps): median(values) for steps, values in sorted(by_steps.items(), reverse=True)}
    intercept, slope = (
        fit([(job["steps"], job_seconds(job)) for job in jobs]) if len(by_steps) > 1 else (0.0, 0.0)
    )
    calls = {
        part: median([float(len(job["parts"].get(part, []))) for job in jobs])
        for part in ("text_encode", "vae_encode")
    }
    return {
        "seconds_per_step": per_step,
        "fixed_seconds": {name: max(0.0, median(values)) for name, values in fixed.items()},
        "warm_job_seconds": warm,
        "fit": {"fixed_seconds": round(intercept, 4), "seconds_per_step": round(slope, 4)},
        "calls_per_job": calls,
        "jobs": len(jobs),
        "peak_vram_bytes": max(job["memory"].get("max_allocated", 0) for job in jobs),
        "peak_vram_reserved_bytes": max(job["memory"].get("max_reserved", 0) for job in jobs),
    }


def scenario_jobs(
    jobs: list[dict[str, Any]], scenario: str, graph: str | None = None
) -> list[dict[str, Any]]:
    return [j for j in jobs if j["scenario"] == scenario and (graph is None or j["graph"] == graph)]


def warm_by_graph(jobs: list[dict[str, Any]], scenario: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for graph in sorted({j["graph"] for j in jobs if j["scenario"] == scenario}):
        selected = scenario_jobs(jobs, scenario, graph)
        steps = [s for j in selected for s in j["parts"].get("step", [])]
        out[graph.split("/")[-1]] = {
            "warm_job_seconds": median([job_seconds(j) for j in selected]),
            "seconds_per_step": median(steps),
            "models_to_gpu_seconds": median(
                [sum(j["parts"].get("models_to_gpu", [])) for j in selected]
            ),
            "peak_vram_bytes": max(j["memory"].get("max_allocated", 0) for j in selected),
            "scaled_mm_calls_per_step": scaled_mm_per_step(jobs, selected),
            "jobs": len(selected),
        }
    return out


def scaled_mm_per_step(all_jobs: list[dict[str, Any]], selected: list[dict[str, Any]]) -> float:
    """The counter is per process and cumulative: take each job's increase."""
    increases = []
    for job in selected:
        index = all_jobs.index(job)
        before = all_jobs[index - 1]["memory"].get("scaled_mm_calls", 0) if index else 0
        after = job["memory"].get("scaled_mm_calls", 0)
        if after < before:  # a new server process started with this job
            before = 0
        steps = len(job["parts"].get("step", [])) or 1
        increases.append((after - before) / steps)
    return median(increases)


# What each arm of the variants plan stands for (plans.VARIANTS): the file it models.
VARIANT_FILES = {
    "baseline": "the pinned stack",
    "scaled_fp8": "qwen_image_edit_2509_fp8_e4m3fn_scaled.safetensors",
    "scaled_fp8_no_lora": "qwen_image_edit_2509_fp8_e4m3fn_scaled.safetensors, no LoRA node",
}


def variants_summary(jobs: list[dict[str, Any]], where: str) -> dict[str, Any]:
    """Per arm of the variants plan: every workflow's numbers, its first job and peak."""
    labels = sorted(
        {
            j["scenario"].removeprefix("variant_").removesuffix("_warm")
            for j in jobs
            if j["scenario"].startswith("variant_") and j["scenario"].endswith("_warm")
        },
        key=lambda label: (label != "baseline", label),
    )
    out: dict[str, Any] = {}
    for label in labels:
        warm = scenario_jobs(jobs, f"variant_{label}_warm")
        workflows = {}
        for graph in sorted({j["graph"] for j in warm}):
            summary = workflow_summary(scenario_jobs(warm, f"variant_{label}_warm", graph))
            name = graph.split("/")[-1]
            summary["scaled_mm_calls_per_step"] = scaled_mm_per_step(
                jobs, scenario_jobs(warm, f"variant_{label}_warm", graph)
            )
            summary["source"] = (
                f"{where}: variant {label}, median of {summary['jobs']} warm jobs of {name}"
            )
            workflows[name] = summary
        first = scenario_jobs(jobs, f"variant_{label}_first")
        out[label] = {
            "models": VARIANT_FILES.get(label, label),
            "overrides": warm[0]["overrides"] if warm else {},
            "first_job_seconds": first_job(first[0]) if first else None,
            "workflows": workflows,
        }
    return out


def first_job(job: dict[str, Any]) -> dict[str, Any]:
    parts = job["parts"]
    loaders = ("load_text_encoder", "load_diffusion_model", "load_lora", "load_vae")
    return {
        "seconds": round(job_seconds(job), 3),
        "loaders": {name: round(sum(parts.get(name, [])), 3) for name in loaders},
        "models_to_gpu": round(sum(parts.get("models_to_gpu", [])), 3),
    }


def summarize(raws: list[dict[str, Any]], weights: list[dict[str, Any]]) -> dict[str, Any]:
    jobs = [job for raw in raws for job in raw["jobs"]]
    servers = [server for raw in raws for server in raw["servers"]]
    environment = raws[0]["environment"]
    where = (
        f"benchmarks/gpu on {environment['gpu']} (driver {environment['driver']}), ComfyUI "
        f"{environment['comfyui_commit'][:12]}, {environment['date'][:10]}, synthetic weights"
    )
    # The main plan's warm jobs, else (a variants-only run) the baseline arm's.
    warm_scenario = "warm"
    if not any(j["scenario"] == "warm" for j in jobs):
        warm_scenario = "variant_baseline_warm"
    first_scenarios = {
        "page_cache_warm": "first_job_page_cache_warm",
        "page_cache_dropped": "first_job_page_cache_dropped",
    }
    if warm_scenario != "warm":
        first_scenarios = {"page_cache_warm": "variant_baseline_first"}
    workflows = {}
    old = {}
    for graph in sorted({j["graph"] for j in jobs if j["scenario"] == warm_scenario}):
        summary = workflow_summary(scenario_jobs(jobs, warm_scenario, graph))
        version, name = graph.split("/")
        (workflows if version == "new" else old)[name] = summary
    headline = workflows["qwen_image_edit_1"]
    for name, summary in workflows.items():
        summary["source"] = f"{where}: median of {summary['jobs']} warm jobs of {name}"
    firsts = {
        case: first_job(scenario_jobs(jobs, scenario)[0])
        for case, scenario in first_scenarios.items()
        if scenario_jobs(jobs, scenario)
    }
    first_warm = scenario_jobs(jobs, first_scenarios["page_cache_warm"])[0]
    cold = {
        "server_start_seconds": median([s["start_seconds"] for s in servers]),
        "server_start_samples": [round(s["start_seconds"], 2) for s in servers],
        "first_job_seconds": firsts,
        "first_job_workflow": first_warm["graph"].split("/")[-1],
        "first_job_steps": first_warm["steps"],
        "source": f"{where}: {len(servers)} server starts, one first job per page-cache case",
    }
    memory: dict[str, Any] = {}
    for raw in raws:
        for server in raw["servers"]:
            label = server["label"]
            if label.startswith("limit_"):
                first = scenario_jobs(jobs, f"{label}_first")
                memory[label] = {
                    "flags": server["flags"],
                    "pytorch_cap_gb": server["env"].get("IB_MEMORY_CAP_GB"),
                    "first_job_seconds": round(job_seconds(first[0]), 3) if first else None,
                    "workflows": warm_by_graph(jobs, f"{label}_warm"),
                }
    fp8 = {
        scenario.removesuffix("_warm"): warm_by_graph(jobs, scenario)
        for scenario in sorted({j["scenario"] for j in jobs})
        if scenario.startswith(("fast_fp8_warm", "fp8_")) and scenario.endswith("_warm")
    }
    comparisons = [c for raw in raws for c in raw.get("comparisons", [])]
    for comparison in comparisons:
        comparison.pop("outputs", None)
    return {
        "schema": SCHEMA,
        "gpu": environment["gpu"],
        "seconds_per_step": headline["seconds_per_step"],
        "fixed_seconds": headline["fixed_seconds"],
        "source": headline["source"],
        "workflows": workflows,
        "cold_start": cold,
        "memory": memory,
        "fp8": fp8,
        "optimised_graphs": {"previous_graph": old, "comparisons": comparisons},
        "variants": variants_summary(jobs, where),
        "environment": {**environment, "weights": weights},
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("raw", type=Path, nargs="+")
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    raws = [
        json.loads(path.read_text())
        for path in sorted(args.raw, key=lambda p: p.name != "raw-main.json")
    ]
    weights = []
    if args.weights and args.weights.exists():
        weights = [
            json.loads(line) for line in args.weights.read_text().splitlines() if line.strip()
        ]
    result = summarize(raws, weights)
    partial = args.out.with_suffix(".partial")
    partial.write_text(json.dumps(result, indent=2) + "\n")
    partial.replace(args.out)
    print(f"measurements: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
