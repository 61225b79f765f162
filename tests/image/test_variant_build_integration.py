"""build-variants with the real engine, registry and loopback Hub: shared model layers."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import docker
import pytest

from infra.fixtures import TinyBase
from infra.project import cli_json as cli
from infra.project import make_project, read_manifest, use_registry
from infra.registry import RegistryServer
from infra.stacks import variant_yaml

pytestmark = pytest.mark.integration
WORKFLOWS_IN_IMAGE = "/comfyui/user/default/workflows"


def manifest_layers(registry: RegistryServer, image: str, tag: str) -> tuple[str, list[str]]:
    manifest = read_manifest(registry, image, tag)
    return manifest["config"]["digest"], [layer["digest"] for layer in manifest["layers"]]


def run_in(client: docker.DockerClient, ref: str, script: str) -> str:
    return str(client.containers.run(ref, ["sh", "-c", script], remove=True).decode())


def test_variants_share_model_layers_and_push_only_what_differs(
    tmp_path: Path,
    registry: RegistryServer,
    tiny_base_image: TinyBase,
    qwen_small_hub: Any,
    hub_env: Any,
    docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hub_env(qwen_small_hub)
    use_registry(monkeypatch, registry)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764115200")  # same labels on every run
    project = make_project(
        tmp_path, f"{registry.host}/variant-test", tiny_base_image, text=variant_yaml()
    )
    monkeypatch.chdir(project)
    config = str(project / "models.yaml")
    assert cli(capsys, "lock", "-c", config)[0] == 0

    mark = registry.log_offset()
    code, result = cli(
        capsys, "build-variants", "-c", config, "--build-dir", str(project / "build"), "--push"
    )
    assert code == 0, result
    image = result["image"]
    built = {v["variant"]: v for v in result["variants"]}
    assert list(built) == ["steps4", "steps3", "lora8"]
    assert built["steps4"]["tags"][0] == "steps4" and built["steps4"]["baseline"]
    assert built["lora8"]["own_entries"] == ["lightning_lora_8steps"]

    # Locally: base + VAE + text encoder + diffusion model are the same layers in all three.
    layers = {
        name: docker_client.images.get(f"{image}:{name}").attrs["RootFS"]["Layers"]
        for name in built
    }
    assert layers["steps3"][:-1] == layers["steps4"][:-1]  # only the workflows differ
    assert layers["steps3"][-1] != layers["steps4"][-1]
    assert layers["lora8"][:4] == layers["steps4"][:4]
    assert layers["lora8"][4] != layers["steps4"][4]  # its own LoRA

    # In the registry: each blob went over the wire once; the later variants uploaded
    # only the blobs their manifest has and the earlier ones lack.
    manifests = {name: manifest_layers(registry, image, name) for name in built}
    blobs = {name: {config, *layer_list} for name, (config, layer_list) in manifests.items()}
    uploaded = Counter(registry.uploaded_blobs(since=mark))
    assert set(uploaded.values()) == {1}, uploaded
    steps3_new = blobs["steps3"] - blobs["steps4"]
    lora8_new = blobs["lora8"] - blobs["steps4"] - blobs["steps3"]
    assert len(steps3_new) == 2  # the workflows layer and the image config
    # LoRA, start path (its start.json prefetches that LoRA), lock and workflows layers,
    # and the image config.
    assert len(lora8_new) == 5
    tiny_base_layer = manifests["steps4"][1][0]
    expected = (blobs["steps4"] - {tiny_base_layer}) | steps3_new | lora8_new
    assert set(uploaded) == expected

    # Each image carries its own workflows and only its own LoRA.
    steps3 = run_in(
        docker_client, f"{image}:steps3", f"cat {WORKFLOWS_IN_IMAGE}/qwen_image_edit_1.json"
    )
    assert json.loads(steps3)["3"]["inputs"]["steps"] == 3
    loras = run_in(docker_client, f"{image}:lora8", "ls /comfyui/models/loras")
    assert "8steps" in loras and "4steps" not in loras
    lora8 = json.loads(
        run_in(docker_client, f"{image}:lora8", f"cat {WORKFLOWS_IN_IMAGE}/qwen_image_edit_2.json")
    )
    assert "8steps" in lora8["89"]["inputs"]["lora_name"]
    assert lora8["3"]["inputs"]["steps"] == 8

    # A second run, through plain `build` (which builds every declared variant), rebuilds
    # from cache and uploads nothing.
    mark = registry.log_offset()
    code, again = cli(
        capsys, "build", "-c", config, "--build-dir", str(project / "build"), "--push"
    )
    assert code == 0, again
    assert [v["image_id"] for v in again["variants"]] == [v["image_id"] for v in result["variants"]]
    assert registry.uploaded_blobs(since=mark) == []
