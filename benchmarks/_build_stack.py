"""The synthetic stack bench_build.py builds: Hub scenario, models.yaml, base image.

Raw pseudo-random bytes in the real stack's proportions (diffusion model 2.0, text
encoder 0.8, VAE 0.1, LoRA 0.1 parts); the loopback Hub generates them on demand and
derives their sha256 from the bytes themselves, so nothing about them is declared.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import docker

from infra.fixtures import push_or_fail
from infra.registry import RegistryServer
from infra.tinybase import busybox_rootfs_tar

GB = 1_000_000_000
BASE_REPO = "bench/tiny-base"
# entry -> (role, Hub repo, file, ComfyUI folder); Dockerfile.j2 orders the layers itself
STACK = {
    "diffusion_model": ("diffusion_model", "bench/edit", "dm.safetensors", "diffusion_models"),
    "text_encoder": ("text_encoder", "bench/image", "te.safetensors", "text_encoders"),
    "vae": ("vae", "bench/image", "vae.safetensors", "vae"),
    "lightning_lora": ("lora", "bench/lightning", "lora.safetensors", "loras"),
}
SHARES = {"diffusion_model": 2.0, "text_encoder": 0.8, "vae": 0.1, "lightning_lora": 0.1}
BUMPED_LORA_SEED = 99


def sizes_for(total_gb: float) -> dict[str, int]:
    whole = sum(SHARES.values())
    return {name: int(total_gb * GB * share / whole) for name, share in SHARES.items()}


def scenario(sizes: dict[str, int]) -> dict[str, Any]:
    """One commit per Hub repo holding its files as `raw: {size, seed}`."""
    files: dict[str, dict[str, Any]] = {}
    for seed, (name, (_, repo, file, _)) in enumerate(STACK.items(), start=1):
        files.setdefault(repo, {})[file] = {"raw": {"size": sizes[name], "seed": seed}}
    return {
        "repos": [
            {"id": repo, "commits": [{"date": "2025-09-22T10:00:00.000Z", "files": repo_files}]}
            for repo, repo_files in files.items()
        ]
    }


def bumped_lora(sizes: dict[str, int]) -> tuple[str, dict[str, Any]]:
    """The LoRA repo and the files of a new commit there: same size, other bytes."""
    _, repo, file, _ = STACK["lightning_lora"]
    return repo, {file: {"raw": {"size": sizes["lightning_lora"], "seed": BUMPED_LORA_SEED}}}


def models_yaml(image: str, base: str) -> str:
    """Every entry follows `main`, so a new Hub commit shows up at the next `lock`."""
    lines = [
        "version: 1",
        "image:",
        f"  name: {image}",
        f"  base: {base}",
        "  gpu_memory_gb: 24",
        "models:",
    ]
    for name, (role, repo, file, folder) in STACK.items():
        lines += [f"  {name}:", f"    role: {role}", f"    repo: {repo}", f"    file: {file}"]
        lines += ["    revision: main", f"    folder: {folder}"]
    return "\n".join(lines) + "\n"


def push_base(client: docker.DockerClient, registry: RegistryServer) -> str:
    """The busybox rootfs as an image pushed to the registry: a base pinned by digest."""
    name = f"{registry.host}/{BASE_REPO}"
    client.api.import_image_from_data(
        busybox_rootfs_tar(), repository=name, tag="latest", changes=['CMD ["sh"]']
    )
    return f"{name}@{push_or_fail(client, name, 'latest', registry.auth_config)}"
