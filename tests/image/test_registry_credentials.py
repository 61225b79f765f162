"""Credentials by role: the target registry's secret never reaches the base's registry.

Two real registries with their own logins: the target (the session's registry, its
login in IMAGEBUILDER_REGISTRY_*, as release.yml sets it) and a base registry behind a
proxy that records every Authorization header, its login in a Docker config file. Each
command that talks to the base's registry (publish, publish --check, inspect-image,
diff, build) must offer it its own login from the Docker config, never the target's.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from docker.errors import ImageNotFound

from faultproxy import FaultProxy
from hubserver.server import HubServer
from imagebuilder.oci.auth import Credentials
from imagebuilder.oci.client import RegistryClient
from imagebuilder.oci.reference import parse_reference
from imagebuilder.oci.transport import RegistryTransport
from infra.fixtures import TinyBase
from infra.project import cli_json as cli
from infra.project import locked_project, repository_for, use_registry
from infra.registry import RegistryServer, start_registry

pytestmark = pytest.mark.integration

BASE_USER, BASE_PASSWORD = "base-user", "base-registry-secret"
BASE_REPOSITORY = "library/tiny-base"


@dataclass(frozen=True)
class BaseRegistry:
    proxy: FaultProxy  # what the commands talk to; it records every request
    login: RegistryServer
    base: TinyBase  # named on the proxy's host

    def authorizations(self) -> list[str]:
        return [seen.authorization for seen in self.proxy.seen if seen.authorization]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def copy_image(source: RegistryServer, ref: str, target: RegistryServer, repository: str) -> None:
    """Copy an image (manifest, config, layers) between registries over plain HTTP: the
    engine's own copy of the tiny base stays untouched for the other tests."""
    name = parse_reference(ref)
    assert name.digest is not None
    reader = RegistryClient(
        RegistryTransport(source.host, Credentials(source.username, source.password))
    )
    writer = RegistryClient(
        RegistryTransport(target.host, Credentials(target.username, target.password))
    )
    try:
        manifest = reader.get_manifest(name.repository, name.digest)
        body = json.loads(manifest.body)
        for blob in [body["config"], *body["layers"]]:
            data = reader.read_blob(name.repository, blob["digest"], limit=1 << 30)
            location = writer.start_upload(repository)
            writer.finish_upload(repository, location, blob["digest"], data)
        writer.put_manifest(repository, name.digest, manifest.body, manifest.media_type)
    finally:
        reader.close()
        writer.close()


def forget(client: docker.DockerClient, ref: str) -> None:
    """Drop the engine's reference ``ref`` (the image itself stays for its other names)."""
    with contextlib.suppress(ImageNotFound):
        client.images.remove(ref)


@pytest.fixture(scope="module")
def base_registry(
    tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
    registry: RegistryServer,
    tiny_base_image: TinyBase,
) -> Iterator[BaseRegistry]:
    """A second real registry, with its own login, holding the tiny base image."""
    server = start_registry(tmp_path_factory.mktemp("base-registry"), BASE_USER, BASE_PASSWORD)
    proxy = FaultProxy(server.port).start()
    try:
        copy_image(registry, tiny_base_image.ref, server, BASE_REPOSITORY)
        digest = tiny_base_image.digest
        base = TinyBase(
            f"{proxy.host}/{BASE_REPOSITORY}@{digest}", tiny_base_image.image_id, digest
        )
        yield BaseRegistry(proxy, server, base)
        forget(docker_client, base.ref)
    finally:
        proxy.stop()
        server.stop()


@pytest.fixture
def base_project(
    tmp_path: Path,
    registry: RegistryServer,
    base_registry: BaseRegistry,
    qwen_small_hub: HubServer,
    hub_env: Callable[[HubServer], Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> Path:
    """A locked project pushing to the target registry, its base on the base registry;
    the target's login in the environment, the base's in the Docker config."""
    hub_env(qwen_small_hub)
    use_registry(monkeypatch, registry)
    docker_config = tmp_path / "docker-config"
    docker_config.mkdir()
    entry = {"auth": base64.b64encode(f"{BASE_USER}:{BASE_PASSWORD}".encode()).decode()}
    (docker_config / "config.json").write_text(
        json.dumps({"auths": {base_registry.proxy.host: entry}}), encoding="utf-8"
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_config))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1758535200")
    image = f"{registry.host}/{repository_for(request, 'cred-')}"
    return locked_project(tmp_path, image, base_registry.base, capsys, monkeypatch)


COMMANDS = {
    "publish": ["publish"],
    "publish --check": ["publish", "--check"],
    "inspect-image": ["inspect-image", "{base}"],
    "diff": ["diff", "{base}", "{config}"],
    "build": ["build", "--build-dir", "{build}"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_base_registry_never_sees_the_target_registry_secret(
    command: str,
    base_project: Path,
    base_registry: BaseRegistry,
    registry: RegistryServer,
    docker_client: docker.DockerClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    forget(docker_client, base_registry.base.ref)  # so that build pulls it
    config = base_project / "models.yaml"
    values = {
        "base": base_registry.base.ref,
        "config": str(config),
        "build": str(base_project / "build"),
    }
    args = [part.format(**values) for part in COMMANDS[command]]
    if args[0] in ("publish", "build"):
        args += ["-c", str(config)]
    base_registry.proxy.clear()
    code, result = cli(capsys, *args)
    if command.startswith("publish") or command == "build":
        assert code == 0, result
    # inspect-image and diff read the base (it carries no model labels: an error after
    # the read); what matters here is what its registry was offered on the way.
    assert base_registry.proxy.seen, "the command never reached the base registry"
    offered = base_registry.authorizations()
    target_secret = basic(registry.username, registry.password)
    assert target_secret not in offered
    assert all(registry.password not in header for header in offered)
    assert basic(BASE_USER, BASE_PASSWORD) in offered  # its own login, from the Docker config
