"""Run the rendered workflows in real ComfyUI and record what every part of a job costs.

    python3 bench.py --comfyui PATH --rendered DIR --base DIR --out raw.json --plan NAME

DIR holds the rendered workflows: DIR/new (the shipped graphs) and, optionally, DIR/old
(an earlier version of the same graphs, compared pixel for pixel). --base is ComfyUI's
base directory: models/ must already hold the weights (synth_weights.py). Plans:

  main    server start, first job (page cache warm), warm jobs of every graph at each
          step count, old vs new pixel comparison, /object_info, then a restart with the
          page cache dropped (cold first job), then --fast fp8_matrix_mult.
  memory  ComfyUI limited to 24 GB and 48 GB (--reserve-vram plus a hard PyTorch cap),
          and the scaled-FP8 variant (weight_dtype fp8_e4m3fn_fast) if its file exists.

The raw file lists every job with its timings; summarize.py turns raw files into the
one measurement file `imagebuilder cost --measurements` reads.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
from comfy_server import ComfyServer, JobResult
from host import drop_page_cache, environment, gpu_total_gib, max_abs_diff, png_pixels
from PIL import Image

HERE = Path(__file__).resolve().parent
STEP_COUNTS = (4, 3, 2)
SCALED_FILE = "qwen_image_edit_2509_fp8_e4m3fn_scaled_synthetic.safetensors"  # run.sh --scaled-fp8


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.comfyui: Path = args.comfyui
        self.rendered: Path = args.rendered
        self.base: Path = args.base
        self.logs: Path = args.logs
        self.timing_log = self.logs / "timing.jsonl"
        self.graphs = self._load_graphs()
        self.jobs: list[dict[str, Any]] = []
        self.record: dict[str, Any] = {"jobs": self.jobs, "servers": [], "comparisons": []}
        self.counter = 0
        self.live: list[ComfyServer] = []
        self._install_timing_nodes()

    def _load_graphs(self) -> dict[str, dict[str, Any]]:
        graphs = {}
        for version in ("new", "old"):
            folder = self.rendered / version
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("qwen_image_edit_*.json")):
                graphs[f"{version}/{path.stem}"] = json.loads(path.read_text())
        return graphs

    def _install_timing_nodes(self) -> None:
        target = self.base / "custom_nodes" / "ib_timing_nodes"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(HERE / "timing_nodes", target)
        (self.base / "input").mkdir(parents=True, exist_ok=True)

    # --- servers -------------------------------------------------------------------
    def server(
        self, label: str, flags: list[str] | None = None, env: dict[str, str] | None = None
    ) -> ComfyServer:
        server = ComfyServer(
            self.comfyui,
            self.base,
            self.logs / f"comfyui-{label}.log",
            extra_flags=flags,
            env={"IB_TIMING_LOG": str(self.timing_log), **(env or {})},
        )
        self.live.append(server)
        seconds = server.start()
        print(f"[{label}] ComfyUI answered after {seconds:.2f} s", flush=True)
        self.record["servers"].append(
            {"label": label, "flags": flags or [], "env": env or {}, "start_seconds": seconds}
        )
        return server

    # --- jobs ----------------------------------------------------------------------
    def images(self, count: int, seed: int | None = None) -> list[str]:
        """New input images (smooth random content, 1024x1024) under new names."""
        rng = np.random.default_rng(seed if seed is not None else 1000 + self.counter)
        names = []
        for index in range(count):
            self.counter += 1
            small = rng.integers(0, 256, size=(24, 24, 3), dtype=np.uint8)
            image = Image.fromarray(small).resize((1024, 1024), Image.Resampling.BICUBIC)
            name = f"bench_{self.counter:04d}_{index + 1}.png"
            image.save(self.base / "input" / name)
            names.append(name)
        return names

    def graph(self, name: str, steps: int, images: list[str], **overrides: Any) -> dict[str, Any]:
        graph = copy.deepcopy(self.graphs[name])
        loads = [node for node in graph.values() if node["class_type"] == "LoadImage"]
        for node, image in zip(
            sorted(loads, key=lambda n: n["_meta"]["title"]), images, strict=True
        ):
            node["inputs"]["image"] = image
        for node in graph.values():
            if node["class_type"] == "KSampler":
                node["inputs"]["steps"] = steps
                node["inputs"]["seed"] = overrides.get("seed", 0)
            if node["class_type"] == "SaveImage":
                node["inputs"]["filename_prefix"] = f"bench_{self.counter:04d}"
            if node["class_type"] == "UNETLoader":
                node["inputs"]["unet_name"] = overrides.get(
                    "unet_name", node["inputs"]["unet_name"]
                )
                node["inputs"]["weight_dtype"] = overrides.get(
                    "weight_dtype", node["inputs"]["weight_dtype"]
                )
        return graph

    def job(
        self,
        server: ComfyServer,
        scenario: str,
        name: str,
        steps: int,
        *,
        seed_images: int | None = None,
        **overrides: Any,
    ) -> JobResult:
        count = sum(1 for node in self.graphs[name].values() if node["class_type"] == "LoadImage")
        images = self.images(count, seed_images)
        graph = self.graph(name, steps, images, **overrides)
        log_offset = self.timing_log.stat().st_size if self.timing_log.exists() else 0
        with contextlib.suppress(Exception):  # the route only sharpens the peak figure
            server.post("/ib_bench/reset_peak", {})
        result = server.run(graph)
        memory = server.get("/ib_bench/memory")
        parts = self._parts_since(log_offset)
        entry = {
            "scenario": scenario,
            "graph": name,
            "steps": steps,
            "images": count,
            "wall_seconds": result.wall_seconds,
            "server_seconds": result.server_seconds,
            "parts": parts,
            "memory": memory,
            "overrides": overrides,
            "outputs": [str(path) for path in result.outputs],
        }
        self.jobs.append(entry)
        steps_seen = len(parts.get("step", []))
        seconds = result.server_seconds or result.wall_seconds
        print(
            f"[{scenario}] {name} steps={steps}: {seconds:.3f} s"
            f" (wall {result.wall_seconds:.3f}, {steps_seen} model calls,"
            f" peak {memory.get('max_allocated', 0) / 2**30:.1f} GiB)",
            flush=True,
        )
        return result

    def _parts_since(self, offset: int) -> dict[str, list[float]]:
        parts: dict[str, list[float]] = {}
        with self.timing_log.open("rb") as log:
            log.seek(offset)
            for line in log.read().decode().splitlines():
                record = json.loads(line)
                parts.setdefault(record["part"], []).append(record["seconds"])
        return parts

    # --- plans ---------------------------------------------------------------------
    def guarded(self, label: str, step: Any, *args: Any) -> None:
        """Run one part of a plan; a failure is recorded and the next part still runs."""
        try:
            step(*args)
        except Exception as error:
            print(f"[{label}] FAILED: {error}", flush=True)
            self.record.setdefault("failures", []).append(
                {"part": label, "error": str(error)[:4000]}
            )
        finally:
            for server in self.live:
                server.stop()
            self.live.clear()

    def plan_main(self, rounds: int) -> None:
        self.guarded("default", self.default_server, rounds)
        self.guarded("page_cache_dropped", self.cold_start)
        self.guarded("fast_fp8", self.fast_fp8, rounds)

    def default_server(self, rounds: int) -> None:
        server = self.server("default")
        self.job(server, "first_job_page_cache_warm", "new/qwen_image_edit_1", 4)
        object_info = server.get("/object_info")
        (self.logs / "object_info.json").write_text(
            json.dumps(object_info, indent=1, sort_keys=True)
        )
        stats = server.get("/system_stats")
        stats.get("system", {}).pop("argv", None)  # this machine's paths: not evidence
        self.record["system_stats"] = stats
        for _ in range(rounds):
            for name in self.graphs:
                for steps in STEP_COUNTS:
                    self.job(server, "warm", name, steps)
        self.compare(server)

    def cold_start(self) -> None:
        self.record["drop_caches"] = drop_page_cache(self.base / "models")
        server = self.server("page_cache_dropped")
        self.job(server, "first_job_page_cache_dropped", "new/qwen_image_edit_1", 4)
        self.job(server, "warm_after_cold", "new/qwen_image_edit_1", 4)

    def compare(self, server: ComfyServer) -> None:
        """Same seed, same weights, same input images: old graph vs new graph."""
        for images in (1, 2):
            old, new = f"old/qwen_image_edit_{images}", f"new/qwen_image_edit_{images}"
            if old not in self.graphs:
                continue
            runs = {}
            for label, name in (("old", old), ("new", new), ("old_again", old)):
                result = self.job(server, f"compare_{label}", name, 4, seed_images=77 + images)
                runs[label] = result
            old_pixels = png_pixels(runs["old"].outputs[0])
            comparison = {
                "images": images,
                "old_vs_new_max_abs_diff": max_abs_diff(
                    old_pixels, png_pixels(runs["new"].outputs[0])
                ),
                "old_vs_old_max_abs_diff": max_abs_diff(
                    old_pixels, png_pixels(runs["old_again"].outputs[0])
                ),
                "output_std": float(old_pixels.std()),
                "output_unique_values": int(np.unique(old_pixels).size),
                "old_seconds": runs["old"].server_seconds,
                "new_seconds": runs["new"].server_seconds,
                "outputs": {label: str(run.outputs[0]) for label, run in runs.items()},
            }
            print(f"[compare] {images} image(s): {comparison}", flush=True)
            self.record["comparisons"].append(comparison)

    def fast_fp8(self, rounds: int) -> None:
        server = self.server("fast_fp8_matrix_mult", ["--fast", "fp8_matrix_mult"])
        self.job(server, "fast_fp8_first", "new/qwen_image_edit_1", 4)
        for _ in range(rounds):
            self.job(server, "fast_fp8_warm", "new/qwen_image_edit_1", 4)
            self.job(server, "fast_fp8_warm", "new/qwen_image_edit_2", 4)

    def plan_memory(self, rounds: int, limits: list[float]) -> None:
        for limit in limits:
            self.guarded(f"limit_{limit:g}gb", self.limited, limit, rounds)
        self.guarded("fp8_variants", self.fp8_variants, rounds)

    def limited(self, limit: float, rounds: int) -> None:
        label = f"limit_{limit:g}gb"
        reserve = max(0.0, gpu_total_gib() - limit)
        server = self.server(
            label, ["--reserve-vram", f"{reserve:.2f}"], {"IB_MEMORY_CAP_GB": f"{limit:g}"}
        )
        self.job(server, f"{label}_first", "new/qwen_image_edit_1", 4)
        for _ in range(rounds):
            for images in (1, 2):
                self.job(server, f"{label}_warm", f"new/qwen_image_edit_{images}", 4)

    def fp8_variants(self, rounds: int) -> None:
        """UNETLoader's own weight_dtype option, on the pinned (unscaled) file and on a
        scaled-FP8 copy: one server, the loader re-runs when its inputs change."""
        server = self.server("fp8_variants")
        variants = [("plain", {"weight_dtype": "fp8_e4m3fn_fast"})]
        if (self.base / "models" / "diffusion_models" / SCALED_FILE).exists():
            variants += [
                ("scaled_default", {"unet_name": SCALED_FILE, "weight_dtype": "default"}),
                ("scaled_fast", {"unet_name": SCALED_FILE, "weight_dtype": "fp8_e4m3fn_fast"}),
            ]
        for label, overrides in variants:
            self.job(server, f"fp8_{label}_load", "new/qwen_image_edit_1", 4, **overrides)
            for _ in range(rounds):
                for images in (1, 2):
                    self.job(
                        server, f"fp8_{label}_warm", f"new/qwen_image_edit_{images}", 4, **overrides
                    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--comfyui", type=Path, required=True)
    parser.add_argument("--rendered", type=Path, required=True)
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--logs", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="raw JSON written here")
    parser.add_argument("--plan", choices=["main", "memory"], required=True)
    parser.add_argument("--rounds", type=int, default=3, help="warm jobs per graph and step count")
    parser.add_argument("--limits", default="24,48", help="GB ComfyUI may use (plan memory)")
    args = parser.parse_args()
    args.logs.mkdir(parents=True, exist_ok=True)
    bench = Bench(args)
    bench.record["environment"] = environment(args.comfyui)
    bench.record["plan"] = args.plan
    try:
        if args.plan == "main":
            bench.plan_main(args.rounds)
        else:
            bench.plan_memory(args.rounds, [float(x) for x in args.limits.split(",")])
    finally:
        args.out.write_text(json.dumps(bench.record, indent=1))
        print(f"raw results: {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
