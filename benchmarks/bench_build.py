"""`imagebuilder build --push` on a synthetic multi-GB stack: time and bytes moved.

Run: uv run python benchmarks/bench_build.py [--total-gb 3]

Real parts only: a loopback Hub (tests/hubserver, in this process, so its byte counters
and a new LoRA commit are one call away), a real registry (Debian's docker-registry,
htpasswd auth), the Docker Engine, and a busybox base pushed to that registry. The stack
is described in _build_stack.py.

Measured for a cold `build --push` and for a rebuild after a LoRA-only commit on the Hub
(re-locked): wall time of the CLI (split by its log lines into start-up, build, push, and
per Dockerfile step), bytes the Hub served, bytes the registry received (completed blob
uploads in its access log, sized from its storage), next to the time hashlib takes to
sha256 the same bytes once. Prints a table; writes JSON to benchmarks/results/. Removes
its images, registry and files afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import docker
import httpx2
from _build_stack import GB, bumped_lora, models_yaml, push_base, scenario, sizes_for
from _timing import sha256_seconds

from hubserver.server import HubServer
from imagebuilder.project.atomic import atomic_write_text
from infra.registry import RegistryServer, start_registry

ROOT = Path(__file__).resolve().parents[1]
IMAGE_REPO = "bench/build"
_DEST = re.compile(r"dest=(\S+?);")


@dataclass
class Timeline:
    """When (time.monotonic) the CLI started, began each Dockerfile step, pushed, ended."""

    start: float
    steps: list[tuple[float, str]] = field(default_factory=list)
    push: float | None = None
    end: float = 0.0

    def step_seconds(self) -> list[dict[str, Any]]:
        ends = [at for at, _ in self.steps[1:]] + [self.push or self.end]
        return [
            {"step": _step_name(text), "seconds": round(stop - at, 3)}
            for (at, text), stop in zip(self.steps, ends, strict=True)
        ]


def _step_name(line: str) -> str:
    """'Step 3/9 : RUN set -eu; dest=/comfyui/models/vae/v.safetensors; ...' -> the dest."""
    found = _DEST.search(line)
    return f"RUN fetch {found.group(1)}" if found else line.split(" : ", 1)[-1][:60].strip()


@dataclass
class Run:
    """One `build --push`: what it cost and what moved."""

    label: str
    seconds: float
    start_seconds: float  # CLI start-up, lock check, render, engine connect
    build_seconds: float
    push_seconds: float
    hub_bytes: int
    hub_bytes_by_file: dict[str, int]
    sha256_of_hub_bytes_seconds: float
    pushed_bytes: int  # blobs the registry completed during this run (compressed layers)
    pushed_blobs: int
    image_bytes: int  # the image's size in the engine (uncompressed layers)
    content_tag: str
    steps: list[dict[str, Any]]
    layers: list[str]


def imagebuilder(env: dict[str, str], *args: str) -> tuple[dict[str, Any], Timeline]:
    """Run the CLI (own process, as a user would); its --json result and its timeline."""
    command = [str(Path(sys.executable).parent / "imagebuilder"), *args, "--json"]
    timeline = Timeline(start=time.monotonic())
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stderr is not None and process.stdout is not None
        tail: list[str] = []
        for line in process.stderr:  # stdout holds one JSON document: no pipe can fill
            tail = [*tail[-30:], line]
            if line.startswith("Step "):
                timeline.steps.append((time.monotonic(), line.strip()))
            if line.startswith("pushing ") and timeline.push is None:
                timeline.push = time.monotonic()
        out = process.stdout.read()
    timeline.end = time.monotonic()
    if process.returncode != 0:
        raise SystemExit(f"imagebuilder {args[0]} failed:\n{out}\n{''.join(tail)}")
    result: dict[str, Any] = json.loads(out)
    return result, timeline


def blob_size(registry: RegistryServer, digest: str) -> int:
    algorithm, hexdigest = digest.split(":", 1)
    data = registry.storage_dir / "docker/registry/v2/blobs" / algorithm / hexdigest[:2]
    return (data / hexdigest / "data").stat().st_size


def build_and_push(
    label: str, hub: HubServer, registry: RegistryServer, env: dict[str, str], config: Path
) -> Run:
    hub.stats.reset()
    mark = registry.log_offset()
    build_dir = str(config.parent / "build")
    result, at = imagebuilder(env, "build", "-c", str(config), "--build-dir", build_dir, "--push")
    uploaded = set(registry.uploaded_blobs(since=mark))
    client = docker.from_env(version="auto")
    try:
        attrs = client.images.get(result["image_id"]).attrs
    finally:
        client.close()
    build_at = at.steps[0][0] if at.steps else at.start
    push_at = at.push or at.end
    return Run(
        label=label,
        seconds=at.end - at.start,
        start_seconds=build_at - at.start,
        build_seconds=push_at - build_at,
        push_seconds=at.end - push_at,
        hub_bytes=hub.stats.bytes_served,
        hub_bytes_by_file=dict(hub.stats.bytes_by_file),
        sha256_of_hub_bytes_seconds=sha256_seconds(hub.stats.bytes_served),
        pushed_bytes=sum(blob_size(registry, digest) for digest in uploaded),
        pushed_blobs=len(uploaded),
        image_bytes=int(attrs["Size"]),
        content_tag=result["content_tag"],
        steps=at.step_seconds(),
        layers=list(attrs["RootFS"]["Layers"]),
    )


def hub_read_seconds(hub: HubServer, lock: dict[str, Any]) -> float:
    """Only reading every locked file from the loopback Hub, one stream at a time."""
    started = time.perf_counter()
    for entry in lock.values():
        url = f"{hub.url}/{entry['repo']}/resolve/{entry['commit']}/{entry['file']}"
        with httpx2.stream("GET", url, follow_redirects=True, timeout=60) as response:
            for _ in response.iter_bytes(1 << 20):
                pass
    return time.perf_counter() - started


def machine(client: docker.DockerClient) -> dict[str, Any]:
    info = client.info()
    return {
        "cpus": os.cpu_count(),
        "memory_bytes": info.get("MemTotal"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "docker_engine": client.version().get("Version"),
        "storage_driver": info.get("Driver"),
        "network": "loopback (Hub, registry and build on one host)",
        "load_average_at_end": os.getloadavg(),  # other work skews the times
    }


def print_table(runs: list[Run], total: int, sha_s: float, hub_s: float) -> None:
    print(f"stack {total / GB:.2f} GB in 4 files; hashlib sha256 once: {sha_s:.1f} s; ", end="")
    print(f"reading it from the loopback Hub alone: {hub_s:.1f} s")
    print(
        f"{'run':<18} {'total s':>8} {'start s':>8} {'build s':>8} {'push s':>7} "
        f"{'x sha256':>8} {'Hub MB':>8} {'x sha256(Hub)':>13} {'pushed MB':>10} {'blobs':>5}"
    )
    for run in runs:
        print(
            f"{run.label:<18} {run.seconds:8.1f} {run.start_seconds:8.1f} "
            f"{run.build_seconds:8.1f} {run.push_seconds:7.1f} {run.seconds / sha_s:8.1f} "
            f"{run.hub_bytes / 1e6:8.1f} {run.seconds / run.sha256_of_hub_bytes_seconds:13.1f} "
            f"{run.pushed_bytes / 1e6:10.1f} {run.pushed_blobs:5d}"
        )
    for run in runs:
        fetches = [step for step in run.steps if step["step"].startswith("RUN fetch ")]
        rest = sum(step["seconds"] for step in run.steps if step not in fetches)
        timed = [f"{Path(step['step']).name} {step['seconds']:.1f} s" for step in fetches]
        print(f"{run.label} build steps: {', '.join(timed)}, the other steps {rest:.1f} s")


def bench(total_gb: float, work: Path, client: docker.DockerClient) -> dict[str, Any]:
    sizes = sizes_for(total_gb)
    load_at_start = os.getloadavg()
    registry = start_registry(work / "registry")
    hub = HubServer(scenario(sizes)).start()
    created: list[str] = []
    try:
        base = push_base(client, registry)
        created.append(base.split("@")[0] + ":latest")
        image = f"{registry.host}/{IMAGE_REPO}"
        config = work / "project" / "models.yaml"
        config.parent.mkdir()
        config.write_text(models_yaml(image, base), encoding="utf-8")
        env = {
            **os.environ,
            "HF_ENDPOINT": hub.url,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HOME": str(work / "hf"),
            "IMAGEBUILDER_REGISTRY_USERNAME": registry.username,
            "IMAGEBUILDER_REGISTRY_PASSWORD": registry.password,
            "SOURCE_DATE_EPOCH": "0",
        }
        env.pop("CI", None)  # progress as plain "Step" lines: they time the build
        print("locking (the Hub hashes its synthetic files once, cached) ...", file=sys.stderr)
        imagebuilder(env, "lock", "-c", str(config))
        lock = json.loads((config.parent / "models.lock.json").read_text())["models"]
        total = sum(entry["size"] for entry in lock.values())
        sha_s, hub_s = sha256_seconds(total), hub_read_seconds(hub, lock)
        print("cold build --push ...", file=sys.stderr)
        cold = build_and_push("cold", hub, registry, env, config)
        created.append(f"{image}:{cold.content_tag}")
        hub.commit(*bumped_lora(sizes), title="New LoRA release")
        imagebuilder(env, "lock", "-c", str(config))
        print("build --push after a LoRA-only Hub commit ...", file=sys.stderr)
        bump = build_and_push("after LoRA bump", hub, registry, env, config)
        created.append(f"{image}:{bump.content_tag}")
        reused = sum(a == b for a, b in zip(cold.layers, bump.layers, strict=False))
        print_table([cold, bump], total, sha_s, hub_s)
        print(f"load average (1 min) at start {load_at_start[0]:.1f}, now "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
        print(f"after the bump: {reused} of {len(bump.layers)} layers reused; the Hub served "
              f"only {sorted(bump.hub_bytes_by_file)}")  # fmt: skip
        return {
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "machine": machine(client) | {"load_average_at_start": load_at_start},
            "sizes": sizes,
            "total_bytes": total,
            "sha256_seconds": sha_s,
            "hub_read_seconds": hub_s,
            "registry_storage_bytes": sum(
                path.stat().st_size for path in registry.storage_dir.rglob("*") if path.is_file()
            ),
            "layers_reused_after_bump": reused,
            "runs": [asdict(run) for run in (cold, bump)],
        }
    finally:
        for ref in created:  # untagged parents (classic-builder steps) go with their image
            try:
                client.api.remove_image(ref, force=True)
            except docker.errors.ImageNotFound:
                continue
        hub.stop()
        registry.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total-gb", type=float, default=3.0, help="stack size in GB (1e9)")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-build-"))
    client = docker.from_env(version="auto", timeout=3600)
    try:
        report = bench(args.total_gb, work, client)
    finally:
        client.close()
        shutil.rmtree(work, ignore_errors=True)
    stamp = report["created"].replace(":", "").replace("-", "")
    out = args.results / f"bench_build-{stamp}.json"
    atomic_write_text(out, json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    main()
