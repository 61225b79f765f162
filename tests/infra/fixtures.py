"""Pytest fixtures for the real components: Docker Engine, registry, tiny base image.

Nothing is skipped silently: when the engine or the registry binary is missing, every
integration test FAILS with a message saying how to start them; only
IMAGEBUILDER_SKIP_INTEGRATION=1 turns them into skips (for a laptop without Docker).
Import the names below into tests/conftest.py to use them.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import docker
import pytest
from docker.errors import DockerException

from .registry import RegistryServer, start_registry
from .tinybase import busybox_rootfs_tar

SKIP_ENV = "IMAGEBUILDER_SKIP_INTEGRATION"
TINY_BASE_REPO = "imagebuilder-test/tiny-base"
HOW_TO_START = (
    "start the real components with `bash scripts/services.sh start` "
    f"(or set {SKIP_ENV}=1 to skip integration tests on purpose)"
)


def skip_integration() -> bool:
    return os.environ.get(SKIP_ENV, "") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not skip_integration():
        return
    marker = pytest.mark.skip(reason=f"{SKIP_ENV}=1: integration tests skipped on request")
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(marker)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """The Docker Engine the integration tests drive; fails loudly when it is not there."""
    try:
        client = docker.from_env(version="auto", timeout=600)
        client.ping()
    except DockerException as error:
        pytest.fail(
            f"integration tests need a Docker Engine, and none answered "
            f"(DOCKER_HOST={os.environ.get('DOCKER_HOST', 'unset')}): {error}\n{HOW_TO_START}",
            pytrace=False,
        )
    yield client
    client.close()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A real registry with htpasswd (bcrypt) auth on a free loopback port."""
    try:
        server = start_registry(tmp_path_factory.mktemp("registry"))
    except (RuntimeError, OSError) as error:
        pytest.fail(f"could not start the test registry: {error}\n{HOW_TO_START}", pytrace=False)
    yield server
    server.stop()


@dataclass(frozen=True)
class TinyBase:
    """The busybox base, pushed to the test registry so it has a pinnable digest."""

    ref: str  # name@sha256:..., what models.yaml's image.base takes
    image_id: str
    digest: str
    command: tuple[str, ...] = ("sh",)  # its CMD: what models.yaml's start.base_command names


def push_or_fail(
    client: docker.DockerClient, repository: str, tag: str, auth: dict[str, str]
) -> str:
    """Push and return the manifest digest; errors arrive inside the stream, not raised."""
    digest = ""
    line: dict[str, Any]
    for line in client.api.push(repository, tag=tag, auth_config=auth, stream=True, decode=True):
        if "error" in line:
            raise RuntimeError(f"push of {repository}:{tag} failed: {line['error']}")
        aux = line.get("aux") or {}
        digest = aux.get("Digest", digest)
    if not digest:
        raise RuntimeError(f"push of {repository}:{tag} reported no digest")
    return digest


def remove_images_under(client: docker.DockerClient, prefix: str) -> int:
    """Remove every local image named under ``prefix`` (this session's registry host), by
    tag or by digest (images pulled by digest carry no tag), and every image built on one
    of them (a failed build leaves an untagged child), children first."""
    images = client.images.list(all=True)
    parent = {image.id: image.attrs.get("Parent") or None for image in images}
    doomed = {
        image.id
        for image in images
        if any(
            name.startswith(prefix)
            for name in (*image.tags, *(image.attrs.get("RepoDigests") or []))
        )
    }
    for image_id in parent:  # descendants: walk each image's parent chain
        chain, current = [], image_id
        while current and current not in doomed:
            chain.append(current)
            current = parent.get(current)
        if current in doomed:
            doomed.update(chain)
    newest_first = sorted(
        (image for image in images if image.id in doomed),
        key=lambda image: str(image.attrs.get("Created", "")),
        reverse=True,
    )
    removed = 0
    for image in newest_first:
        with contextlib.suppress(DockerException):
            client.images.remove(image.id, force=True)
            removed += 1
    return removed


@pytest.fixture(scope="session")
def tiny_base_image(
    docker_client: docker.DockerClient, registry: RegistryServer
) -> Iterator[TinyBase]:
    """A busybox rootfs (sh, wget, sha256sum, ...) imported with `docker import`.

    At the end of the session every image tagged for this session's registry (the base
    and all that tests built or pulled on top of it) is removed from the engine.
    """
    local_name = f"{registry.host}/{TINY_BASE_REPO}"
    docker_client.api.import_image_from_data(
        busybox_rootfs_tar(),
        repository=local_name,
        tag="latest",
        changes=["ENV PATH=/bin:/usr/bin", f"CMD {json.dumps(list(TinyBase.command))}"],
    )
    image = docker_client.images.get(f"{local_name}:latest")
    digest = push_or_fail(docker_client, local_name, "latest", registry.auth_config)
    yield TinyBase(ref=f"{local_name}@{digest}", image_id=str(image.id), digest=digest)
    remove_images_under(docker_client, f"{registry.host}/")
