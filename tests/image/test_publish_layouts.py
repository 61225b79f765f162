"""publish beyond one plain image: files split over the layer limit, variants sharing layers."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest

from imagebuilder.errors import ExitCode
from infra.fixtures import TinyBase
from infra.project import cli_json as cli
from infra.project import (
    make_project,
)
from infra.publishing import lock_models, publish, pull_and_list
from infra.registry import RegistryServer
from infra.stacks import variant_yaml

pytestmark = pytest.mark.integration


def test_file_over_the_layer_limit_fails_or_is_split_and_joined_at_start(
    publish_project: Path,
    registry: RegistryServer,
    docker_client: docker.DockerClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    models = lock_models(publish_project)
    biggest = max(models, key=lambda name: models[name]["size"])
    limit = max(models[biggest]["size"] // 2 + 70_000, 200_000)
    config = publish_project / "models.yaml"
    text = config.read_text().replace(
        "    ghcr.io:\n      max_layer_bytes: 10000000000",
        f'    "{registry.host}":\n      max_layer_bytes: {limit}',
    )
    config.write_text(text)
    code, refused = publish(capsys, publish_project)
    assert code == ExitCode.REGISTRY and biggest in refused["message"], refused
    assert "--split-large-files" in refused["hint"]
    code, result = publish(capsys, publish_project, "--split-large-files")
    assert code == 0, result
    parts = [layer for layer in result["layers"] if layer["name"].startswith(f"{biggest}.part")]
    assert len(parts) >= 2 and all(layer["size"] <= limit for layer in parts)
    ref = f"{registry.host}/{result['repository'].split('/', 1)[1]}@{result['digest']}"
    tree = pull_and_list(docker_client, registry, ref)  # the entrypoint joins first
    for entry in models.values():
        assert entry["sha256"] in tree
    assert "/imagebuilder/parts/" not in tree


def test_published_image_carries_the_start_path_around_the_base_command(
    publish_project: Path,
    registry: RegistryServer,
    tiny_base_image: TinyBase,
    docker_client: docker.DockerClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, result = publish(capsys, publish_project)
    assert code == 0, result
    ref = f"{registry.host}/{result['repository'].split('/', 1)[1]}@{result['digest']}"
    tree = pull_and_list(docker_client, registry, ref)  # runs through start.sh (no Python)
    assert "/imagebuilder/start.json" in tree and "/imagebuilder/lib/ibstart/main.py" in tree
    runtime = docker_client.images.get(ref).attrs["Config"]
    base = docker_client.images.get(tiny_base_image.ref).attrs["Config"]
    assert runtime["Entrypoint"] == [
        "/bin/sh",
        "/imagebuilder/start.sh",
        *(base["Entrypoint"] or []),
    ]
    assert runtime["Cmd"] == base["Cmd"]  # the base's own command, read from its config
    start = json.loads(
        docker_client.containers.run(ref, ["cat", "/imagebuilder/start.json"], remove=True)
    )
    models = lock_models(publish_project)
    order = [item["path"].split("/")[-2] for item in start["prefetch"]["files"]]
    assert order == ["vae", "text_encoders", "diffusion_models", "loras"]  # as the first job reads
    assert len(order) == len(models) and start["warmup"]["steps"] == 1


def test_variants_are_published_one_at_a_time_sharing_layers(
    publish_project: Path,  # for its set-up: loopback Hub environment and registry credentials
    tmp_path: Path,
    registry: RegistryServer,
    tiny_base_image: TinyBase,
    docker_client: docker.DockerClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    variants = make_project(
        tmp_path / "variants", f"{registry.host}/pub-variants", tiny_base_image, text=variant_yaml()
    )
    assert cli(capsys, "lock", "-c", str(variants / "models.yaml"))[0] == 0

    code, refused = publish(capsys, variants)
    assert code == ExitCode.CONFIG and "--variant" in refused["hint"]

    code, steps4 = publish(capsys, variants, "--variant", "steps4")
    assert code == 0, steps4
    mark = registry.log_offset()
    code, steps3 = publish(capsys, variants, "--variant", "steps3")
    assert code == 0, steps3
    assert steps3["tags"] == ["steps3"]
    uploaded = {layer["digest"] for layer in steps3["layers"] if layer["action"] == "uploaded"}
    by_name = {layer["name"]: layer for layer in steps3["layers"]}
    # Same models, other workflows: only the small layer and the config are new.
    assert uploaded == {by_name["workflows+lock"]["digest"], by_name["config"]["digest"]}
    assert set(registry.uploaded_blobs(since=mark)) == uploaded

    ref = f"{registry.host}/pub-variants:steps3"
    docker_client.api.pull(ref, auth_config=registry.auth_config)
    graph = docker_client.containers.run(
        ref, ["cat", "/comfyui/user/default/workflows/qwen_image_edit_1.json"], remove=True
    )
    assert json.loads(graph)["3"]["inputs"]["steps"] == 3
