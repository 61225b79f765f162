"""Support for the publish tests: run `publish`, read what the lock and an image hold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import docker
import pytest

from infra.project import cli_json as cli
from infra.registry import RegistryServer

# Every file under the image's model and code folders with its sha256, in a stable order.
TREE = "find /comfyui /imagebuilder -type f -exec sha256sum {} + | sort -k 2"


def publish(capsys: pytest.CaptureFixture[str], project: Path, *extra: str) -> tuple[int, Any]:
    return cli(capsys, "publish", "-c", str(project / "models.yaml"), *extra)


def pull_and_list(client: docker.DockerClient, registry: RegistryServer, ref: str) -> str:
    client.api.pull(ref, auth_config=registry.auth_config)
    return str(client.containers.run(ref, ["sh", "-c", TREE], remove=True).decode())


def lock_models(project: Path) -> dict[str, Any]:
    return dict(json.loads((project / "models.lock.json").read_text())["models"])
