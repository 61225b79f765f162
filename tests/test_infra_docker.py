"""Self-test of the real-component fixtures: engine, registry with auth, tiny base."""

from __future__ import annotations

import io

import docker
import pytest

from infra.fixtures import TinyBase
from infra.registry import RegistryServer

pytestmark = pytest.mark.integration


def test_tiny_base_has_the_tools_the_template_needs(
    docker_client: docker.DockerClient, tiny_base_image: TinyBase
) -> None:
    output = docker_client.containers.run(
        tiny_base_image.ref,
        ["sh", "-c", "command -v wget sha256sum mkdir cp rm && echo ok"],
        remove=True,
    )
    assert output.decode().strip().endswith("ok")


def test_tiny_base_digest_is_in_the_registry(
    tiny_base_image: TinyBase, registry: RegistryServer
) -> None:
    assert tiny_base_image.digest in registry.blob_digests()


def test_registry_refuses_wrong_credentials(
    docker_client: docker.DockerClient, registry: RegistryServer, tiny_base_image: TinyBase
) -> None:
    result = docker_client.api.login(
        username=registry.username, password=registry.password, registry=registry.url
    )
    assert result["Status"] == "Login Succeeded"
    with pytest.raises(docker.errors.APIError):
        docker_client.api.login(username="nobody", password="wrong", registry=registry.url)


def test_build_from_tiny_base_records_uploads(
    docker_client: docker.DockerClient, registry: RegistryServer, tiny_base_image: TinyBase
) -> None:
    dockerfile = f"FROM {tiny_base_image.ref}\nRUN echo hello > /hello.txt\n"
    image, _ = docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), rm=True)
    name = f"{registry.host}/infra/selftest"
    image.tag(name, "v1")
    mark = registry.log_offset()
    for line in docker_client.api.push(
        name, tag="v1", auth_config=registry.auth_config, stream=True, decode=True
    ):
        assert "error" not in line, line
    uploaded = registry.uploaded_blobs(since=mark)
    assert len(uploaded) >= 2  # the new layer and the image config; the base layer is mounted
