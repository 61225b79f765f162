"""The publish benchmark's stack and reference timings: the synthetic Hub scenario, its
models.yaml, the base image pushed without a daemon, and the floors publish is measured
against (reading the Hub alone, uploading to the registry alone)."""

from __future__ import annotations

import hashlib
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import httpx2

from imagebuilder.image.publish.upload import ChunkedUpload
from imagebuilder.oci.auth import Credentials
from imagebuilder.oci.client import RegistryClient
from imagebuilder.oci.digest import sha256_digest
from imagebuilder.oci.image import OCI_CONFIG, OCI_MANIFEST, canonical_json
from imagebuilder.oci.transport import RegistryTransport
from infra.registry import RegistryServer
from infra.tinybase import busybox_rootfs_tar

GB = 1_000_000_000
LORA_COMMITS = ("1" * 40, "2" * 40)


def scenario(total_gb: float) -> dict[str, Any]:
    """Diffusion 60 %, text encoder 30 %, VAE 7 %, LoRA 3 % of the total: the real ratios."""
    sizes = {
        k: int(total_gb * GB * share)
        for k, share in {"unet": 0.60, "te": 0.30, "vae": 0.07, "lora": 0.03}.items()
    }

    def raw(size: int, seed: int) -> dict[str, Any]:
        return {"raw": {"size": size, "seed": seed}}

    return {
        "repos": [
            {
                "id": "bench/models",
                "commits": [
                    {
                        "date": "2025-09-22T10:00:00.000Z",
                        "title": "Add",
                        "files": {
                            "unet.safetensors": raw(sizes["unet"], 1),
                            "te.safetensors": raw(sizes["te"], 2),
                            "vae.safetensors": raw(sizes["vae"], 3),
                        },
                    }
                ],
            },
            {
                "id": "bench/lora",
                "commits": [
                    {
                        "id": LORA_COMMITS[0],
                        "date": "2025-09-22T10:00:00.000Z",
                        "title": "v1",
                        "files": {"lora.safetensors": raw(sizes["lora"], 4)},
                    },
                    {
                        "id": LORA_COMMITS[1],
                        "date": "2025-09-23T10:00:00.000Z",
                        "title": "v2",
                        "files": {"lora.safetensors": raw(sizes["lora"], 5)},
                    },
                ],
            },
        ]
    }


def models_yaml(image: str, base: str, lora_commit: str, registries: str = "") -> str:
    def entry(name: str, role: str, repo: str, file: str, folder: str, rev: str) -> str:
        return (
            f"  {name}:\n    role: {role}\n    repo: {repo}\n    file: {file}\n"
            f'    revision: "{rev}"\n    folder: {folder}\n'
        )

    return (
        f"version: 1\nimage:\n  name: {image}\n  base: {base}\n  gpu_memory_gb: 24\n"
        + registries
        + "models:\n"
        + entry(
            "diffusion_model",
            "diffusion_model",
            "bench/models",
            "unet.safetensors",
            "diffusion_models",
            "main",
        )
        + entry(
            "text_encoder",
            "text_encoder",
            "bench/models",
            "te.safetensors",
            "text_encoders",
            "main",
        )
        + entry("vae", "vae", "bench/models", "vae.safetensors", "vae", "main")
        + entry("lightning_lora", "lora", "bench/lora", "lora.safetensors", "loras", lora_commit)
    )


def push_base(registry: RegistryServer) -> str:
    """The busybox base as a one-layer OCI image, pushed with our own client (no daemon)."""
    client = RegistryClient(
        RegistryTransport(registry.host, Credentials(registry.username, registry.password))
    )
    layer = busybox_rootfs_tar()
    config = canonical_json(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": [sha256_digest(layer)]},
        }
    )
    for blob in (layer, config):
        location = client.start_upload("bench/base")
        client.finish_upload("bench/base", location, sha256_digest(blob), content=blob)
    manifest = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": OCI_CONFIG,
                "digest": sha256_digest(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": sha256_digest(layer),
                    "size": len(layer),
                }
            ],
        }
    )
    digest = client.put_manifest("bench/base", "latest", manifest, OCI_MANIFEST)
    client.close()
    return f"{registry.host}/bench/base@{digest}"


def download_seconds(endpoint: str, lock: dict[str, Any], parallel: int = 3) -> float:
    """Time to only read every file from the loopback Hub (no hashing, no upload)."""

    def read(entry: dict[str, Any]) -> int:
        url = f"{endpoint}/{entry['repo']}/resolve/{entry['commit']}/{entry['file']}"
        total = 0
        with httpx2.stream("GET", url, follow_redirects=True, timeout=60) as response:
            for chunk in response.iter_bytes(1 << 20):
                total += len(chunk)
        return total

    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(read, lock.values()))
    return time.perf_counter() - started


def registry_seconds(registry: RegistryServer, total: int, parallel: int = 3) -> float:
    """The registry's own floor: upload `total` bytes held in memory, 3 blobs at once."""
    client = RegistryClient(
        RegistryTransport(registry.host, Credentials(registry.username, registry.password))
    )
    chunk = os.urandom(8 << 20)

    def upload(index: int) -> None:
        upload = ChunkedUpload(client, f"bench/floor{index}", hashlib.sha256())
        for _ in range(total // parallel // len(chunk)):
            upload.add(chunk)
        upload.commit(upload.drain())

    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(upload, range(parallel)))
    client.close()
    return time.perf_counter() - started
