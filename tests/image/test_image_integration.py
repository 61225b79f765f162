"""render + build + push against a real Docker Engine, registry and the loopback Hub."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import docker
import pytest

from imagebuilder.errors import ExitCode
from infra.project import (
    LORA_FILE,
    LORA_REPO,
    ProjectFactory,
    bump_lora,
    read_manifest,
)
from infra.project import cli_json as cli
from infra.registry import RegistryServer

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
TOKEN_CANARY = "hf_CanaryTokenThatMustNeverAppearInAnImage"


@pytest.fixture
def project(registry_project: ProjectFactory) -> Path:
    return registry_project(limits=True)


def build(capsys: pytest.CaptureFixture[str], project: Path, *extra: str) -> tuple[int, Any]:
    config = str(project / "models.yaml")
    return cli(capsys, "build", "-c", config, "--build-dir", str(project / "build"), *extra)


def manifest_blobs(registry: RegistryServer, image: str, tag: str) -> set[str]:
    manifest = read_manifest(registry, image, tag)
    return {manifest["config"]["digest"]} | {layer["digest"] for layer in manifest["layers"]}


def layers_of(client: docker.DockerClient, ref: str) -> list[str]:
    return list(client.images.get(ref).attrs["RootFS"]["Layers"])


def test_built_image_holds_every_model_at_its_path_and_pushes(
    project: Path,
    docker_client: docker.DockerClient,
    registry: RegistryServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, result = build(capsys, project, "--push", "--tag", "v1")
    assert code == 0, result
    lock = json.loads((project / "models.lock.json").read_text())["models"]
    ref = f"{result['image']}:{result['content_tag']}"
    listing = docker_client.containers.run(
        ref,
        ["sh", "-c", "sha256sum /comfyui/models/*/*; ls /comfyui/user/default/workflows; "
         "cat /imagebuilder/start.json; ls /imagebuilder/lib/ibstart"],
        remove=True,
    ).decode()  # fmt: skip
    # The start path: the entrypoint wraps the base's command, named in models.yaml.
    runtime = docker_client.images.get(ref).attrs["Config"]
    assert runtime["Entrypoint"] == ["/bin/sh", "/imagebuilder/start.sh"]
    assert runtime["Cmd"] == ["sh"]  # the tiny base's command (tests/infra/project.py)
    assert '"warmup"' in listing and "main.py" in listing and "prefetch.py" in listing
    for entry in lock.values():
        name = entry["file"].rsplit("/", 1)[-1]
        assert f"{entry['sha256']}  /comfyui/models/" in listing and name in listing
    assert "qwen_image_edit_1.json" in listing
    # The digest the CLI printed is the one the registry serves for both tags.
    assert {p["tag"] for p in result["pushed"]} == {result["content_tag"], "v1"}
    assert result["digest"] and all(p["digest"] == result["digest"] for p in result["pushed"])
    assert result["digest"] in registry.blob_digests()
    # inspect-image reads the same pins back from the labels; diff against models.yaml is empty.
    code, inspected = cli(capsys, "inspect-image", ref)
    assert code == 0 and inspected["models"]["vae"]["sha256"] == lock["vae"]["sha256"]
    code, difference = cli(capsys, "diff", ref, str(project / "models.yaml"))
    assert code == 0 and difference["identical"], difference


def test_lora_bump_rebuilds_and_pushes_only_the_lora_layer_and_after(
    project: Path,
    docker_client: docker.DockerClient,
    registry: RegistryServer,
    qwen_small_hub: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, first = build(capsys, project, "--push")
    assert code == 0, first
    before = layers_of(docker_client, f"{first['image']}:{first['content_tag']}")
    bump_lora(qwen_small_hub, capsys, project)
    mark = registry.log_offset()
    qwen_small_hub.stats.reset()
    code, second = build(capsys, project, "--push")
    assert code == 0, second
    after = layers_of(docker_client, f"{second['image']}:{second['content_tag']}")
    assert second["content_tag"] != first["content_tag"]
    # base, vae, text encoder, diffusion model: cached; LoRA and lock layer: new.
    assert after[:4] == before[:4] and after[4:] != before[4:] and len(after) == len(before)
    fetched = set(qwen_small_hub.stats.bytes_by_file)
    assert fetched == {f"{LORA_REPO}/{LORA_FILE}"}, fetched
    uploaded = set(registry.uploaded_blobs(since=mark))
    old_blobs = manifest_blobs(registry, first["image"], first["content_tag"])
    new_blobs = manifest_blobs(registry, second["image"], second["content_tag"])
    # Only blobs the new manifest has and the old one lacks went over the wire: the
    # LoRA layer, the layers after it (lock, workflows) and the image config; never a
    # cached model layer.
    assert uploaded == new_blobs - old_blobs, (uploaded, new_blobs - old_blobs)
    assert len(uploaded) == len(after[4:]) + 1


def test_sha256_mismatch_fails_the_build_and_pushes_nothing(
    project: Path, registry: RegistryServer, capsys: pytest.CaptureFixture[str]
) -> None:
    lock_path = project / "models.lock.json"
    lock = json.loads(lock_path.read_text())
    lock["models"]["lightning_lora"]["sha256"] = "0" * 64
    lock_path.write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    mark = registry.log_offset()
    code, result = build(capsys, project, "--push")
    assert code == ExitCode.DOCKER
    assert result["error"] == "BuildFailed" and "sha256 mismatch" in result["message"]
    assert registry.uploaded_blobs(since=mark) == []


def test_wrong_registry_credentials_fail_clearly(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IMAGEBUILDER_REGISTRY_PASSWORD", "wrong-password")
    code, result = build(capsys, project, "--push")
    assert code == ExitCode.REGISTRY
    assert result["error"] == "RegistryAuthError", result


def test_layer_too_large_is_refused_before_building(
    project: Path, registry: RegistryServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project / "models.yaml"
    config.write_text(config.read_text().replace("10000000000", "1000"))
    code, result = build(capsys, project, "--push")
    assert code == ExitCode.REGISTRY and result["error"] == "LayerTooLarge"
    assert not (project / "build").exists()


def test_no_token_in_history_labels_or_layers(
    project: Path,
    docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN_CANARY)
    code, result = build(capsys, project)
    assert code == 0, result
    image = docker_client.images.get(f"{result['image']}:{result['content_tag']}")
    assert TOKEN_CANARY not in json.dumps(image.history())
    assert TOKEN_CANARY not in json.dumps(image.attrs)
    saved = tmp_path / "image.tar"
    with saved.open("wb") as handle:
        for chunk in image.save(named=False):
            handle.write(chunk)
    canary = TOKEN_CANARY.encode()
    with tarfile.open(saved) as outer:
        for member in outer.getmembers():
            data = outer.extractfile(member)
            if data is None:
                continue
            content = data.read()
            assert canary not in content, member.name
            if member.name.endswith("layer.tar"):
                with tarfile.open(fileobj=io.BytesIO(content)) as layer:
                    for inner in layer.getmembers():
                        assert canary not in inner.name.encode()
    assert canary not in (project / "build" / "Dockerfile").read_bytes()


def test_engine_not_running_is_a_clear_error(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{project}/no-engine.sock")
    code, result = build(capsys, project)
    assert code == ExitCode.DOCKER
    assert result["error"] == "EngineUnavailable"
    assert "no Docker Engine answered" in result["message"]
    assert "start the engine" in result["hint"]


def test_missing_base_image_is_a_clear_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project / "models.yaml"
    missing = "127.0.0.1:9/nobody/base@sha256:" + "0" * 64
    text = config.read_text()
    original = next(line for line in text.splitlines() if line.strip().startswith("base:"))
    config.write_text(text.replace(original, f"  base: {missing}"))
    code, result = build(capsys, project)
    assert code == ExitCode.DOCKER
    assert result["error"] == "BaseImageMissing", result
    assert result["location"] == missing
