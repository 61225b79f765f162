"""The cold-start plan: a fresh worker's first image, the way a user feels it.

Each start emulates a container start on the GPU host: a new ComfyUI process (and, for
the new start path, the image's entrypoint around it), a job already waiting at t=0 that
is queued the moment ComfyUI answers (worker-comfyui's handler polls every 50 ms), the
first image, then one more job (the warm job). Starts run with the page cache warm (the
host ran this image a moment ago) and dropped (a host that never read these files).

- today: worker-comfyui's start: its flags, no prefetch, no warm-up, and no bytecode
  (its image compiles none: each fresh container compiles every module it imports; an
  empty PYTHONPYCACHEPREFIX per start imitates that);
- new: the image's own entrypoint (src/imagebuilder/startup, run through start.sh as the
  image runs it) with prefetch, the flags this run measured as helping, warm-up, and the
  bytecode the rendered image ships (a cache compiled beforehand).

Also measured: bytecode (empty vs compiled cache), each candidate flag's effect on the
start, and joining a split file (copy_file_range/reflink vs cat). Every phase comes from
markers with wall-clock stamps: probe/sitecustomize.py (interpreter, torch import,
torch + CUDA ready), the timing nodes (nodes loaded, each loader, to-GPU, sampling), the
HTTP poll (server answers), the job's history (first image) and the entrypoint's own
event log (prefetch, warm-up).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from comfy_server import ComfyServer
from harness import HERE, Harness
from host import drop_page_cache

# worker-comfyui's src/start.sh: main.py --disable-auto-launch --disable-metadata
# --verbose DEBUG --log-stdout (it keeps the API nodes).
WORKER_FLAGS = ["--disable-auto-launch", "--disable-metadata", "--verbose", "DEBUG", "--log-stdout"]
CANDIDATE_FLAGS = {
    "disable_api_nodes": ["--disable-api-nodes"],
    "cuda_malloc": ["--cuda-malloc"],
    "log_level_info": ["--verbose", "INFO"],
}
# The order the first job's loaders run in ComfyUI a125cd84 (seen in the first GPU run).
FIRST_JOB_ORDER = ("vae", "text_encoders", "diffusion_models", "loras")
GRAPH = "new/qwen_image_edit_1"


class StartProcess(ComfyServer):
    """One ComfyUI start as a worker makes it: worker flags, optionally wrapped."""

    def __init__(self, *args: Any, wrapper: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wrapper = wrapper or []

    def command(self) -> list[str]:
        front_end = self.base / "empty_frontend"
        for folder in (front_end, self.base / "custom_nodes", self.base / "input"):
            folder.mkdir(parents=True, exist_ok=True)
        main = [
            sys.executable,
            str(self.comfyui / "main.py"),
            "--listen",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--base-directory",
            str(self.base),
            "--front-end-root",
            str(front_end),
            *WORKER_FLAGS,
            *self.extra_flags,
        ]
        return [*self.wrapper, *main]


class ColdStart(Harness):
    def __init__(self, args: Any) -> None:
        super().__init__(args)
        self.deadline = time.monotonic() + args.budget
        self.pycache_root = Path(args.base) / "pycache"
        shutil.rmtree(self.pycache_root, ignore_errors=True)
        self.compiled_cache: Path | None = None
        self.chosen_flags: list[str] = list(args.flags.split()) if args.flags else []
        self.parts = set(args.parts.split(","))
        self.record["cold_start_parts"] = sorted(self.parts)
        self.record["cold_start"] = {"starts": [], "scenarios": [], "flags": {}}
        self.start_dir = self._install_start_path()

    # --- the plan -----------------------------------------------------------------
    def plan_cold(self) -> None:
        parts = self.parts
        if "bytecode" in parts:
            self.guarded("bytecode", self.bytecode)
        if "flags" in parts:
            self.guarded("flags", self.flags)
        for drop in (False, True):
            case = "dropped" if drop else "warm"
            for path in ("today", "new"):
                if f"{path}_{case}" in parts:
                    self.guarded(f"{path}_{case}", self.scenario, path, drop)
        if "new_dropped_with_libraries" in parts and self.time_left() > 60:
            self.guarded("new_dropped_with_libraries", self.scenario, "new", True, True)
        if "importtime" in parts and self.time_left() > 20:
            self.guarded("importtime", self.importtime)
        if "new_warm_job_later" in parts and self.time_left() > 35:
            self.guarded("new_warm_job_later", self.scenario, "new", False, False, True)
        if "join" in parts and self.time_left() > 45:
            self.guarded("join", self.join_split_file)

    def time_left(self) -> float:
        return self.deadline - time.monotonic()

    # --- pieces -------------------------------------------------------------------
    def _install_start_path(self) -> Path:
        """The entrypoint laid out as the image holds it: start.sh, lib/ibstart/."""
        source = HERE.parents[1] / "src" / "imagebuilder" / "startup"
        target = self.base / "imagebuilder"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(
            source, target / "lib" / "ibstart", ignore=shutil.ignore_patterns("__pycache__")
        )
        shutil.copy(source / "start.sh", target / "start.sh")
        return target

    def fresh_cache(self, name: str) -> Path:
        path = self.pycache_root / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def env(self, timing: Path, cache: Path) -> dict[str, str]:
        paths = [str(HERE / "probe"), os.environ.get("PYTHONPATH", "")]
        # PYTHONDONTWRITEBYTECODE="" (unset for Python): the GPU machine's image sets it,
        # and a bytecode cache must be written to be measured.
        return {
            "PYTHONDONTWRITEBYTECODE": "",
            "IB_TIMING_LOG": str(timing),
            "PYTHONPYCACHEPREFIX": str(cache),
            "PYTHONPATH": os.pathsep.join(p for p in paths if p),
        }

    def start_only(
        self, label: str, flags: list[str], cache: Path, env: dict[str, str] | None = None
    ) -> dict[str, Any]:
        timing = self.logs / f"timing-{label}.jsonl"
        server = StartProcess(
            self.comfyui,
            self.base,
            self.logs / f"comfyui-{label}.log",
            extra_flags=flags,
            env=self.env(timing, cache) | (env or {}),
        )
        self.live.append(server)
        t0 = time.time()
        seconds = server.start()
        server.stop()
        self.live.remove(server)
        entry = {
            "label": label,
            "flags": flags,
            "answers": round(seconds, 3),
            "phases": marker_times(timing, t0),
        }
        print(f"[{label}] answers after {seconds:.2f} s: {entry['phases']}", flush=True)
        self.record["cold_start"]["starts"].append(entry)
        return entry

    def bytecode(self) -> None:
        cache = self.fresh_cache("compiled")
        empty = self.start_only("bytecode_empty", [], cache)
        compiled = self.start_only("bytecode_compiled", [], cache)
        self.compiled_cache = cache
        size = sum(f.stat().st_size for f in cache.rglob("*.pyc"))
        self.record["cold_start"]["bytecode"] = {
            "empty_cache_answers": empty["answers"],
            "compiled_answers": compiled["answers"],
            "saved_seconds": round(empty["answers"] - compiled["answers"], 3),
            "pyc_files": sum(1 for _ in cache.rglob("*.pyc")),
            "pyc_bytes": size,
        }

    def importtime(self) -> None:
        """One start under -X importtime (compiled cache): where the start's seconds go,
        as self time summed per top-level package and the slowest modules (cumulative)."""
        cache = self.compiled_cache or self.fresh_cache("compiled")
        label = "importtime"
        self.start_only(label, self.chosen_flags, cache, {"PYTHONPROFILEIMPORTTIME": "1"})
        per_package: dict[str, float] = {}
        slowest: list[tuple[float, str]] = []
        for line in (self.logs / f"comfyui-{label}.log").read_text(errors="replace").splitlines():
            if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
                continue
            own, cumulative, name = (part.strip() for part in line[12:].split("|", 2))
            top = name.split(".")[0]
            per_package[top] = per_package.get(top, 0.0) + int(own) / 1e6
            slowest.append((int(cumulative) / 1e6, name))
        slowest.sort(reverse=True)
        self.record["cold_start"]["importtime"] = {
            "self_seconds_by_package": dict(
                sorted(((k, round(v, 3)) for k, v in per_package.items()), key=lambda kv: -kv[1])[
                    :30
                ]
            ),
            "slowest_cumulative": [[name, round(s, 3)] for s, name in slowest[:40]],
        }

    def flags(self) -> None:
        cache = self.compiled_cache or self.fresh_cache("compiled")
        seconds: dict[str, list[float]] = {"worker_flags": []}
        for name in CANDIDATE_FLAGS:
            seconds[name] = []
        for round_ in range(2):
            for name, values in seconds.items():
                flags = CANDIDATE_FLAGS.get(name, [])
                values.append(self.start_only(f"flags_{name}_{round_}", flags, cache)["answers"])
        medians = {name: statistics.median(values) for name, values in seconds.items()}
        base = medians["worker_flags"]
        helped = [name for name in CANDIDATE_FLAGS if medians[name] < base - 0.25]
        self.chosen_flags = [flag for name in helped for flag in CANDIDATE_FLAGS[name]]
        self.record["cold_start"]["flags"] = {
            "answers_seconds": seconds,
            "median": medians,
            "kept": helped,
            "rule": "a flag is kept when its median start beats the worker's by > 0.25 s",
        }

    def start_json(self, path: Path, python_libraries: bool) -> None:
        models = self.base / "models"
        files = []
        for folder in FIRST_JOB_ORDER:
            for item in sorted((models / folder).glob("*.safetensors")):
                files.append({"path": str(item), "size": item.stat().st_size})
        workflow = self.logs / "warmup_workflow.json"
        workflow.write_text(json.dumps(self.graphs[GRAPH]))
        path.write_text(
            json.dumps(
                {
                    "prefetch": {
                        "enabled": True,
                        "files": files,
                        "readers": 8,
                        "chunk_mib": 16,
                        "nice": 10,
                        "start_readers": 2,
                        "python_libraries": ["torch", "nvidia"] if python_libraries else [],
                    },
                    "comfyui": {
                        "main": str(self.comfyui / "main.py"),
                        "flags": self.chosen_flags,
                        "url": "http://127.0.0.1:8188",
                    },
                    "warmup": {"enabled": True, "workflow": str(workflow), "steps": 1},
                },
                indent=1,
            )
        )

    def scenario(
        self, path: str, drop: bool, python_libraries: bool = False, job_later: bool = False
    ) -> None:
        """job_later: the job arrives once the entrypoint's warm-up is done (a worker
        started ahead of its traffic), not at t=0."""
        case = "page_cache_dropped" if drop else "page_cache_warm"
        label = f"{path}_{case}" + ("_with_libraries" if python_libraries else "")
        label += "_job_later" if job_later else ""
        timing = self.logs / f"timing-{label}.jsonl"
        events = self.logs / f"start-{label}.jsonl"
        cache = self.fresh_cache(label) if path == "today" else self.compiled_cache
        env = self.env(timing, cache or self.fresh_cache(label))
        wrapper: list[str] = []
        if path == "new":
            config = self.logs / f"start-{label}.json"
            self.start_json(config, python_libraries)
            env |= {"IMAGEBUILDER_START_CONFIG": str(config), "IMAGEBUILDER_START_LOG": str(events)}
            wrapper = ["/bin/sh", str(self.start_dir / "start.sh")]
        count = sum(1 for n in self.graphs[GRAPH].values() if n["class_type"] == "LoadImage")
        graph = self.graph(GRAPH, 4, self.images(count))  # the job waiting at t=0
        second = self.graph(GRAPH, 4, self.images(count))
        dropped = drop_page_cache(self.base / "models") if drop else None
        server = StartProcess(
            self.comfyui, self.base, self.logs / f"comfyui-{label}.log", env=env, wrapper=wrapper
        )
        self.live.append(server)
        t0 = time.time()
        answers = server.start(timeout=240)
        ready = wait_for_event(events, ("warmup_done", "warmup_failed"), 240) if job_later else None
        queued = time.time() - t0
        first = server.run(graph, timeout=300)
        first_image = time.time() - t0
        warm = server.run(second, timeout=120)
        entry = {
            "label": label,
            "path": path,
            "case": case,
            "python_libraries": python_libraries,
            "flags": self.chosen_flags if path == "new" else [],
            "drop": dropped,
            "answers": round(answers, 3),
            "job_queued": round(queued, 3),
            "ready": round(ready - t0, 3) if ready else None,
            "first_image": round(first_image, 3),
            "first_job_wall": round(first.wall_seconds, 3),
            "warm_job_seconds": warm.server_seconds or warm.wall_seconds,
            "phases": marker_times(timing, t0),
            "parts": part_spans(timing, t0),
            "entrypoint": entrypoint_events(events, t0),
        }
        print(
            f"[{label}] answers {answers:.2f} s, first image {first_image:.2f} s, warm job "
            f"{entry['warm_job_seconds']:.2f} s",
            flush=True,
        )
        self.record["cold_start"]["scenarios"].append(entry)

    def join_split_file(self) -> None:
        """A 9.4 GB file as two parts, joined by the entrypoint's join and by cat."""
        source = next((self.base / "models" / "text_encoders").glob("*.safetensors"))
        work = self.base / "join"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        size = source.stat().st_size
        half = (size // 2) >> 20 << 20  # block-aligned, as publish cuts parts
        parts = [work / "000", work / "001"]
        with source.open("rb") as src:
            for part, length in zip(parts, (half, size - half), strict=True):
                with part.open("wb") as out:
                    _copy(src, out, length)
        sys.path.insert(0, str(self.start_dir / "lib"))
        from ibstart.joinparts import join_file
        from ibstart.settings import JoinFile

        os.sync()
        started = time.perf_counter()
        method = join_file(JoinFile(str(work / "joined"), tuple(map(str, parts)), size))
        joined = time.perf_counter() - started
        (work / "joined").unlink()
        os.sync()
        started = time.perf_counter()
        subprocess.run(f"cat {parts[0]} {parts[1]} > {work / 'cat'}", shell=True, check=True)
        os.sync()
        catted = time.perf_counter() - started
        fs = subprocess.run(
            ["stat", "-f", "-c", "%T", str(work)], check=False, capture_output=True, text=True
        )
        self.record["cold_start"]["join"] = {
            "bytes": size,
            "filesystem": fs.stdout.strip(),
            "method": method,
            "join_seconds": round(joined, 3),
            "cat_seconds_with_sync": round(catted, 3),
        }
        print(f"[join] {self.record['cold_start']['join']}", flush=True)
        shutil.rmtree(work, ignore_errors=True)


def _copy(src: Any, out: Any, length: int) -> None:
    left = length
    while left:
        data = src.read(min(64 << 20, left))
        out.write(data)
        left -= len(data)


def wait_for_event(events: Path, names: tuple[str, ...], timeout: float) -> float | None:
    """The wall-clock time of the first of these entrypoint events, once it is logged."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in _records(events):
            if record.get("ib_start") in names:
                return float(record["t"])
        time.sleep(0.05)
    return None


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def marker_times(timing: Path, t0: float) -> dict[str, float]:
    """Seconds after t0 at which each start-up marker was first seen."""
    names = {
        "probe_interpreter_up": "interpreter_up",
        "probe_torch_import_began": "torch_import",
        "probe_torch_cuda_ready": "torch_cuda_ready",
        "timing_nodes_loaded": "nodes_loaded",
    }
    found: dict[str, float] = {}
    for record in _records(timing):
        name = names.get(record["part"])
        if name and name not in found:
            found[name] = round(record["start"] - t0, 3)
    return found


def part_spans(timing: Path, t0: float) -> dict[str, dict[str, float]]:
    """Per timed part: first start, last end (seconds after t0), total seconds, calls."""
    spans: dict[str, dict[str, float]] = {}
    for record in _records(timing):
        if record["part"].startswith("probe_") or record["part"] == "timing_nodes_loaded":
            continue
        start, end = record["start"] - t0, record["start"] - t0 + record["seconds"]
        span = spans.setdefault(
            record["part"], {"first_start": start, "last_end": end, "seconds": 0.0, "calls": 0}
        )
        span["first_start"] = round(min(span["first_start"], start), 3)
        span["last_end"] = round(max(span["last_end"], end), 3)
        span["seconds"] = round(span["seconds"] + record["seconds"], 3)
        span["calls"] += 1
    return spans


def entrypoint_events(events: Path, t0: float) -> list[dict[str, Any]]:
    out = []
    for record in _records(events):
        record["at"] = round(record.pop("t") - t0, 3)
        out.append(record)
    return out
