"""The plans of the GPU benchmark: which servers to start with which flags, and which jobs
to run on each (see bench.py's help for what each plan measures)."""

from __future__ import annotations

import json

import numpy as np
from comfy_server import ComfyServer
from harness import Harness
from host import drop_page_cache, gpu_total_gib, max_abs_diff, png_pixels

STEP_COUNTS = (4, 3, 2)
SCALED_FILE = "qwen_image_edit_2509_fp8_e4m3fn_scaled_synthetic.safetensors"  # run.sh --scaled-fp8


# The variants plan: the pinned stack and each alternative, one server each (one first
# job, then warm jobs of every graph at every step count), so each gets the same
# numbers the cost model reads. Label -> job overrides.
VARIANTS = {
    "baseline": {},
    # The same 2509 model in scaled FP8 (legacy scaled_fp8 marker + per-layer scale_weight).
    "scaled_fp8": {"unet_name": SCALED_FILE},
    # What a fused base+LoRA file costs: the scaled base without the LoRA node.
    "scaled_fp8_no_lora": {"unet_name": SCALED_FILE, "drop_lora": True},
}


class Bench(Harness):
    """The harness with the plans main, memory and variants."""

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

    def plan_variants(self, rounds: int) -> None:
        for label, overrides in VARIANTS.items():
            if (
                "unet_name" in overrides
                and not (
                    self.base / "models" / "diffusion_models" / overrides["unet_name"]
                ).exists()
            ):
                print(f"[variant_{label}] skipped: {overrides['unet_name']} not written")
                continue
            self.guarded(f"variant_{label}", self.variant, label, overrides, rounds)

    def variant(self, label: str, overrides: dict[str, object], rounds: int) -> None:
        server = self.server(f"variant_{label}")
        self.job(server, f"variant_{label}_first", "new/qwen_image_edit_1", 4, **overrides)
        # The LoRA-less arm only shows what the merge costs at load: fewer warm jobs.
        warm_rounds = 1 if overrides.get("drop_lora") else rounds
        for _ in range(warm_rounds):
            for name in [graph for graph in self.graphs if graph.startswith("new/")]:
                for steps in STEP_COUNTS:
                    self.job(server, f"variant_{label}_warm", name, steps, **overrides)
