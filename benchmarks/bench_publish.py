"""publish on a synthetic multi-GB stack over loopback: time, bytes moved, memory, disk.

Run: uv run python benchmarks/bench_publish.py [--gb 3] [--skip-build]

Starts a loopback Hub (own process), a real registry (docker-registry, htpasswd auth)
and, unless --skip-build, uses the Docker Engine for the `imagebuilder build --push`
comparison. Reports, for a cold publish and for a publish after a LoRA bump: wall time,
bytes read from the Hub, bytes uploaded to the registry, peak RSS and bytes written to
disk by the publish process (/proc/self/io write_bytes), next to the time to sha256 the
same bytes once.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import docker
from _publish_stack import (
    LORA_COMMITS,
    download_seconds,
    models_yaml,
    push_base,
    registry_seconds,
    scenario,
)
from _timing import sha256_seconds

from infra.fixtures import remove_images_under
from infra.registry import RegistryServer, start_registry

ROOT = Path(__file__).resolve().parents[1]


def child(argv: list[str]) -> None:
    """Run one CLI command in this process; report its peak RSS and disk writes."""
    from imagebuilder.cli import main  # noqa: PLC0415 (only in the measured child)

    started = time.perf_counter()
    code = main(argv)
    seconds = time.perf_counter() - started
    io = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    stats = {
        "code": code,
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cpu_seconds": sum(os.times()[:2]),
        "disk_written_mb": int(io["write_bytes"]) / 1e6,
    }
    print("BENCH " + json.dumps(stats), file=sys.stderr)


def run_cli(env: dict[str, str], *args: str) -> tuple[dict[str, Any], dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    stats = next(
        json.loads(line[6:]) for line in done.stderr.splitlines() if line.startswith("BENCH ")
    )
    if stats["code"] != 0:
        raise SystemExit(f"{args[0]} failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout), stats


def moved(result: dict[str, Any]) -> tuple[int, int]:
    hub = sum(layer["hub_bytes"] for layer in result["layers"])
    sent = sum(
        layer["sent_bytes"] or (layer["size"] if layer["action"] == "uploaded" else 0)
        for layer in result["layers"]
    )
    return hub, sent


def report(
    label: str, result: dict[str, Any], stats: dict[str, Any], reference: float, download: float
) -> None:
    hub, sent = moved(result)
    seconds = stats["seconds"]
    print(
        f"{label:<28} {seconds:8.1f} s ({seconds / reference:5.2f}x sha256, "
        f"{seconds / download:4.2f}x Hub read)"
        f"  hub {hub / 1e6:9.1f} MB  sent {sent / 1e6:9.1f} MB"
        f"  peak RSS {stats['peak_rss_mb']:6.1f} MB  disk {stats['disk_written_mb']:6.1f} MB"
        f"  CPU {stats['cpu_seconds']:5.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gb", type=float, default=3.0, help="total stack size (GB)")
    shm = Path("/dev/shm")
    parser.add_argument(
        "--registry-dir", default=str(shm) if shm.is_dir() else None, help="registry storage"
    )
    parser.add_argument("--skip-build", action="store_true", help="no `build --push` runs")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    scenario_file = work / "scenario.json"
    scenario_file.write_text(json.dumps(scenario(args.gb)))
    hub = subprocess.Popen(
        [sys.executable, "-m", "hubserver", "--scenario", str(scenario_file)],
        cwd=ROOT / "tests",
        stdout=subprocess.PIPE,
        text=True,
    )
    # Registry storage in RAM when there is room: the disk of a CI VM would be measured
    # instead of publish (pass --registry-dir to choose).
    registry = start_registry(Path(tempfile.mkdtemp(dir=args.registry_dir)) / "registry")
    try:
        assert hub.stdout is not None
        endpoint = hub.stdout.readline().strip()
        env = {
            **os.environ,
            "HF_ENDPOINT": endpoint,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HOME": str(work / "hf"),
            "IMAGEBUILDER_REGISTRY_USERNAME": registry.username,
            "IMAGEBUILDER_REGISTRY_PASSWORD": registry.password,
            "SOURCE_DATE_EPOCH": "0",
        }
        project = work / "project"
        project.mkdir()
        config = project / "models.yaml"
        base = push_base(registry)
        image = f"{registry.host}/bench/publish"
        config.write_text(models_yaml(image, base, LORA_COMMITS[0]))
        run_cli(env, "lock", "-c", str(config))
        lock = json.loads((project / "models.lock.json").read_text())["models"]
        total = sum(entry["size"] for entry in lock.values())
        lora_size = lock["lightning_lora"]["size"]
        reference = sha256_seconds(total)
        download = download_seconds(endpoint, lock)
        floor = registry_seconds(registry, total)
        print(
            f"stack {total / 1e9:.2f} GB in 4 files; LoRA {lora_size / 1e6:.1f} MB; "
            f"sha256 of the same bytes once: {reference:.1f} s; "
            f"reading them from the loopback Hub (3 streams, no hashing): {download:.1f} s; "
            f"uploading them from memory to the registry (3 streams): {floor:.1f} s"
        )
        mark = registry.log_offset()
        cold, cold_stats = run_cli(env, "publish", "-c", str(config))
        print(f"  registry received {received_bytes(registry, mark) / 1e6:.1f} MB")
        report("publish, cold", cold, cold_stats, reference, download)
        config.write_text(models_yaml(image, base, LORA_COMMITS[1]))
        run_cli(env, "lock", "-c", str(config))
        mark = registry.log_offset()
        bump, bump_stats = run_cli(env, "publish", "-c", str(config))
        print(f"  registry received {received_bytes(registry, mark) / 1e6:.1f} MB")
        report("publish, after LoRA bump", bump, bump_stats, reference, download)
        hub_bytes, sent = moved(bump)
        print(
            f"after the bump: hub/LoRA {hub_bytes / lora_size:.3f}x, "
            f"registry upload/LoRA {sent / lora_size:.3f}x"
        )
        same, same_stats = run_cli(env, "publish", "-c", str(config))
        report("publish, nothing changed", same, same_stats, reference, download)
        if not args.skip_build:
            stack = Stack(env, config, base, registry)
            bench_join(stack, same["digest"], lock)
            bench_build(stack, image, reference)
    finally:
        if not args.skip_build:  # the engine pulled and built images for this registry
            engine = docker.from_env()
            remove_images_under(engine, f"{registry.host}/")
            engine.close()
        registry.stop()
        hub.terminate()
        hub.wait(timeout=30)
        shutil.rmtree(registry.root.parent, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


@dataclass(frozen=True)
class Stack:
    """What the Docker Engine comparisons share: the CLI's environment, the project's
    models.yaml, the pushed base image and the registry."""

    env: dict[str, str]
    config: Path
    base: str
    registry: RegistryServer


def _start_seconds(client: Any, ref: str, runs: int = 3) -> float:
    """Best-of-N time from `docker run` to the command's exit (`true`)."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        client.containers.run(ref, ["true"], remove=True)
        best = min(best, time.perf_counter() - started)
    return best


def bench_join(stack: Stack, whole_digest: str, lock: dict[str, Any]) -> None:
    """What the split option costs at container start: the join, against no split."""
    import docker  # noqa: PLC0415 (only this comparison needs the Docker Engine)

    env, config, base, registry = stack.env, stack.config, stack.base, stack.registry
    unet = lock["diffusion_model"]["size"]
    limit = unet // 2 + (1 << 20)
    registries = f'  registries:\n    "{registry.host}":\n      max_layer_bytes: {limit}\n'
    split_image = f"{registry.host}/bench/split"
    config.write_text(models_yaml(split_image, base, LORA_COMMITS[1], registries))
    split, stats = run_cli(env, "publish", "-c", str(config), "--split-large-files")
    print(
        f"{'publish --split-large-files':<28} {stats['seconds']:8.1f} s (diffusion model in "
        f"{sum(1 for x in split['layers'] if '.part' in x['name'])} parts)"
    )
    client = docker.from_env(version="auto", timeout=3600)
    refs = {
        "whole": f"{registry.host}/bench/publish@{whole_digest}",
        "split": f"{split_image}@{split['digest']}",
    }
    for ref in refs.values():
        client.api.pull(ref, auth_config=registry.auth_config)
    whole, joined = (_start_seconds(client, ref) for ref in refs.values())
    print(
        f"container start: whole file {whole:.2f} s, split ({unet / 1e9:.2f} GB joined) "
        f"{joined:.2f} s: the join costs {joined - whole:.2f} s "
        f"({unet / 1e6 / max(joined - whole, 1e-3):.0f} MB/s)"
    )
    for ref in refs.values():
        client.images.remove(ref, force=True)
    client.close()
    config.write_text(models_yaml(f"{registry.host}/bench/publish", base, LORA_COMMITS[1]))


def received_bytes(registry: RegistryServer, mark: int) -> int:
    """Bytes of the blobs the registry committed since the log mark (its own record)."""
    blobs = registry.storage_dir / "docker/registry/v2/blobs/sha256"
    total = 0
    for digest in set(registry.uploaded_blobs(since=mark)):
        hex_digest = digest.removeprefix("sha256:")
        total += (blobs / hex_digest[:2] / hex_digest / "data").stat().st_size
    return total


def bench_build(stack: Stack, image: str, reference: float) -> None:
    """`imagebuilder build --push` on the same stack (needs a Docker Engine)."""
    import docker  # noqa: PLC0415 (only this comparison needs the Docker Engine)

    env, config, base, registry = stack.env, stack.config, stack.base, stack.registry
    build_dir = str(config.parent / "build")
    client = docker.from_env(version="auto", timeout=3600)
    credentials = {
        "username": env["IMAGEBUILDER_REGISTRY_USERNAME"],
        "password": env["IMAGEBUILDER_REGISTRY_PASSWORD"],
    }
    client.api.pull(base, auth_config=credentials)  # the classic builder cannot log in
    client.close()
    for label, lora_commit in (
        ("build --push, cold", LORA_COMMITS[1]),
        ("build --push, after LoRA bump", LORA_COMMITS[0]),
    ):
        config.write_text(models_yaml(image, base, lora_commit))
        run_cli(env, "lock", "-c", str(config))
        mark = registry.log_offset()
        _, stats = run_cli(env, "build", "-c", str(config), "--push", "--build-dir", build_dir)
        print(
            f"{label:<28} {stats['seconds']:8.1f} s ({stats['seconds'] / reference:5.2f}x sha256)"
            f"  registry received {received_bytes(registry, mark) / 1e6:9.1f} MB"
            " (the build's Hub reads and disk writes happen in dockerd)"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        main()
