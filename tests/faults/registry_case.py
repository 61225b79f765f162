"""Helpers for the registry side of the suite: a publish through two proxies, and reading
back what the registry really stored (straight from it, never through the proxy)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from infra.registry import RegistryServer

MANIFEST_TYPES = "application/vnd.oci.image.manifest.v1+json"


@dataclass(frozen=True)
class Run:
    exit_code: int
    result: dict[str, Any]
    stderr: str
    seconds: float


def _get(registry: RegistryServer, path: str, accept: str = "*/*") -> httpx2.Response:
    return httpx2.get(
        f"{registry.url}{path}",
        auth=(registry.username, registry.password),
        headers={"Accept": accept},
        timeout=30,
    )


def tags(registry: RegistryServer, repository: str) -> list[str]:
    answer = _get(registry, f"/v2/{repository}/tags/list")
    if answer.status_code == 404:
        return []
    return list(answer.json().get("tags") or [])


def verify_image(registry: RegistryServer, repository: str, reference: str) -> dict[str, Any]:
    """Re-read the stored image: the manifest by its digest, every blob hashed in full."""
    answer = _get(registry, f"/v2/{repository}/manifests/{reference}", MANIFEST_TYPES)
    assert answer.status_code == 200, answer.text
    manifest: dict[str, Any] = json.loads(answer.content)
    for descriptor in [manifest["config"], *manifest["layers"]]:
        blob = _get(registry, f"/v2/{repository}/blobs/{descriptor['digest']}")
        assert blob.status_code == 200
        assert len(blob.content) == descriptor["size"]
        assert "sha256:" + hashlib.sha256(blob.content).hexdigest() == descriptor["digest"]
    return manifest


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    value = call()
    return value, time.monotonic() - started


def project_files(project: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(project.iterdir()) if p.is_file()}
