"""The harness of the GPU benchmark: ComfyUI servers it starts, jobs it runs on them and
what each job cost (wall and server time, timed parts, peak memory), kept in one record.

bench.py runs it; plans.py says which servers and jobs make up a plan.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from comfy_server import ComfyServer, JobResult
from PIL import Image

HERE = Path(__file__).resolve().parent


def drop_lora_nodes(graph: dict[str, Any]) -> None:
    """Bypass every LoraLoaderModelOnly: its consumers take the model it was given, as a
    graph for a fused base+LoRA file would."""
    loras = {
        node_id: node["inputs"]["model"]
        for node_id, node in graph.items()
        if node["class_type"] == "LoraLoaderModelOnly"
    }
    for node_id in loras:
        del graph[node_id]
    for node in graph.values():
        for name, value in node["inputs"].items():
            source = value
            while isinstance(source, list) and len(source) == 2 and source[0] in loras:
                source = loras[source[0]]
            node["inputs"][name] = source


class Harness:
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
        if overrides.get("drop_lora"):
            drop_lora_nodes(graph)
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

    # --- running a plan -----------------------------------------------------------
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
