"""publish against a real registry with auth, the loopback Hub and a real Docker Engine:
the image it makes, its digest, what a LoRA bump moves, a checksum mismatch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import docker
import pytest

from imagebuilder.errors import ExitCode
from imagebuilder.oci.auth import Credentials
from imagebuilder.oci.client import RegistryClient
from imagebuilder.oci.transport import RegistryTransport
from infra.project import (
    LORA_FILE,
    LORA_REPO,
    bump_lora,
)
from infra.project import cli_json as cli
from infra.publishing import TREE, lock_models, publish, pull_and_list
from infra.registry import RegistryServer, start_registry

pytestmark = pytest.mark.integration


def test_published_image_is_inspected_in_its_registry_without_a_pull(
    publish_project: Path, registry: RegistryServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = publish(capsys, publish_project, "--tag", "inspect-me")
    assert code == 0, result
    ref = f"{result['repository']}:inspect-me"
    code, shown = cli(capsys, "inspect-image", ref)  # not in the local engine: the registry
    assert code == 0, shown
    locked = lock_models(publish_project)
    assert {name: m["sha256"] for name, m in shown["models"].items()} == {
        name: entry["sha256"] for name, entry in locked.items()
    }
    code, compared = cli(capsys, "diff", ref, str(publish_project / "models.yaml"))
    assert code == 0 and compared["identical"], compared


def test_published_image_matches_the_built_one(
    publish_project: Path,
    docker_client: docker.DockerClient,
    registry: RegistryServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, result = publish(capsys, publish_project, "--tag", "v1")
    assert code == 0, result
    published_ref = f"{registry.host}/{result['repository'].split('/', 1)[1]}@{result['digest']}"
    published_tree = pull_and_list(docker_client, registry, published_ref)
    for entry in lock_models(publish_project).values():
        assert entry["sha256"] in published_tree
        assert entry["layer_digest"].startswith("sha256:")  # recorded for the next publish
    # Built after the publish, from the lock that now carries layer digests: the image's
    # copy of the lock leaves them out on both paths, so the trees are identical.
    code, built = cli(
        capsys,
        "build",
        "-c",
        str(publish_project / "models.yaml"),
        "--build-dir",
        str(publish_project / "b"),
    )
    assert code == 0, built
    built_ref = f"{built['image']}:{built['content_tag']}"
    built_tree = docker_client.containers.run(built_ref, ["sh", "-c", TREE], remove=True).decode()
    # Same paths, same bytes: every model, the lock and the rendered workflows.
    assert published_tree == built_tree
    labels = docker_client.images.get(published_ref).labels
    built_labels = docker_client.images.get(built_ref).labels
    models = {k: v for k, v in built_labels.items() if k.startswith("io.imagebuilder.model.")}
    assert models and all(labels[key] == value for key, value in models.items())
    assert labels["org.opencontainers.image.created"] == "2025-09-22T10:00:00Z"
    actions = {layer["kind"]: layer["action"] for layer in result["layers"]}
    assert actions["base"] == "mounted" and actions["model"] == "uploaded"


def test_same_lock_gives_the_same_digest_in_two_registries(
    publish_project: Path,
    registry: RegistryServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clean_lock = (publish_project / "models.lock.json").read_bytes()
    code, first = publish(capsys, publish_project)
    assert code == 0, first
    other = start_registry(tmp_path / "second-registry", registry.username, registry.password)
    try:
        (publish_project / "models.lock.json").write_bytes(clean_lock)  # from a clean state
        image = f"{other.host}/{first['repository'].split('/', 1)[1]}"
        code, second = publish(capsys, publish_project, "--image", image)
        assert code == 0, second
        assert second["digest"] == first["digest"]
        assert {layer["action"] for layer in second["layers"] if layer["kind"] == "base"} == {
            "copied"
        }
        code, checked = publish(capsys, publish_project, "--image", image, "--check")
        assert code == 0 and checked["matches"], checked
        (publish_project / "models.lock.json").write_bytes(
            clean_lock
        )  # no digests: hash, upload nothing
        mark = other.log_offset()
        code, computed = publish(capsys, publish_project, "--image", image, "--check")
        assert code == 0 and computed["digest"] == first["digest"], computed
        assert {x["action"] for x in computed["layers"] if x["kind"] == "model"} == {"computed"}
        assert other.uploaded_blobs(since=mark) == []
        assert (
            publish_project / "models.lock.json"
        ).read_bytes() == clean_lock  # --check writes nothing
    finally:
        other.stop()


def test_lora_bump_moves_only_the_lora(
    publish_project: Path,
    registry: RegistryServer,
    qwen_small_hub: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert publish(capsys, publish_project)[0] == 0
    bump_lora(qwen_small_hub, capsys, publish_project)
    mark = registry.log_offset()
    qwen_small_hub.stats.reset()
    code, second = publish(capsys, publish_project)
    assert code == 0, second
    by_name = {layer["name"]: layer for layer in second["layers"]}
    uploaded = {layer["digest"] for layer in second["layers"] if layer["action"] == "uploaded"}
    assert uploaded == {
        by_name["lightning_lora"]["digest"],
        by_name["workflows+lock"]["digest"],
        by_name["config"]["digest"],
    }
    assert set(registry.uploaded_blobs(since=mark)) == uploaded
    served = dict(qwen_small_hub.stats.bytes_by_file)
    assert set(served) == {f"{LORA_REPO}/{LORA_FILE}"}
    assert (
        served[f"{LORA_REPO}/{LORA_FILE}"] == lock_models(publish_project)["lightning_lora"]["size"]
    )


def test_checksum_mismatch_tags_nothing(
    publish_project: Path, registry: RegistryServer, capsys: pytest.CaptureFixture[str]
) -> None:
    lock_file = publish_project / "models.lock.json"
    data = json.loads(lock_file.read_text())
    data["models"]["vae"]["sha256"] = "0" * 64
    lock_file.write_text(json.dumps(data))
    mark = registry.log_offset()
    code, result = publish(capsys, publish_project, "--tag", "broken")
    assert code == ExitCode.CHECK_FAILED, result
    assert "sha256 mismatch" in result["message"]
    client = RegistryClient(
        RegistryTransport(registry.host, Credentials(registry.username, registry.password))
    )
    try:
        repository = "pub-test-checksum-mismatch-tags-nothing"
        assert client.manifest_digest(repository, "broken") is None
    finally:
        client.close()
    assert "/manifests/" not in "".join(
        line for line in registry.log_text(mark).splitlines() if '"PUT ' in line
    )


def test_release_job_without_lock_digests_reuses_the_previous_image(
    publish_project: Path, qwen_small_hub: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_lock = (publish_project / "models.lock.json").read_bytes()
    assert publish(capsys, publish_project, "--tag", "latest")[0] == 0
    (publish_project / "models.lock.json").write_bytes(clean_lock)  # CI never commits it back
    bump_lora(qwen_small_hub, capsys, publish_project, seed=7)
    qwen_small_hub.stats.reset()
    code, second = publish(capsys, publish_project, "--tag", "latest")
    assert code == 0, second
    assert set(qwen_small_hub.stats.bytes_by_file) == {f"{LORA_REPO}/{LORA_FILE}"}
    actions = {layer["name"]: layer["action"] for layer in second["layers"]}
    assert actions["diffusion_model"] == "reused" and actions["lightning_lora"] == "uploaded"
