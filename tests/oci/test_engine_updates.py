"""Engine updates in check-updates and update, at the loopback Hub's 2511 state, against
synthetic worker bases in the real test registry: base + model + LoRA move together, or
the model is held back with the reason; never the model alone on an engine < 0.5.0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hubserver.releases import FP8MIXED_2511, LORA_2511_REPO, publish_2511
from imagebuilder.cli import main
from imagebuilder.comfy.releases import pick_newest
from imagebuilder.errors import ExitCode
from imagebuilder.oci.base_tags import newer_tags
from infra.project import cli_json
from infra.registry import RegistryServer
from infra.workerbase import (
    COMMIT_B,
    NO_RELEASES_API,
    engine_yaml,
    gzip_layer,
    push_base,
    worker_layers,
)

pytestmark = pytest.mark.integration


def test_renovate_style_tag_selection() -> None:
    tags = ["5.8.5-base", "5.8.6-base", "5.9.0-base", "5.9.0", "5.10.0-base-cuda12.8.1",
            "6.0.0-base", "5.9-base", "latest", "5.9.1-base", "5.8.4-base"]  # fmt: skip
    assert newer_tags("5.8.5-base", tags) == ["5.8.6-base", "5.9.0-base", "5.9.1-base"]
    assert newer_tags("5.8.5-base", tags, majors=True)[-1] == "6.0.0-base"
    assert newer_tags("latest", tags) == []


def _stack(
    registry: RegistryServer,
    isolated: Path,
    capsys: pytest.CaptureFixture[str],
    repo: str,
    newer: dict[str, str],
) -> Path:
    pinned = push_base(registry, repo, "5.8.5-base", worker_layers("0.3.64"))
    for tag, version in newer.items():
        push_base(registry, repo, tag, worker_layers(version, COMMIT_B))
    config = isolated / "models.yaml"
    config.write_text(engine_yaml(pinned))
    assert cli_json(capsys, "lock", "-c", str(config))[0] == 0
    return config


def test_2511_moves_base_model_and_lora_together(  # type: ignore[no-untyped-def]
    qwen_hub, hub_env, registry, isolated, capsys
) -> None:
    hub_env(qwen_hub)
    newer = {"5.9.0-base": "0.5.1", "5.9.0": "0.8.0", "6.0.0-base": "0.8.0",
             "5.10.0-base-cuda12.8.1": "0.8.0"}  # fmt: skip
    config = _stack(registry, isolated, capsys, "worker/updates", newer)
    publish_2511(qwen_hub)
    code, proposal = cli_json(capsys, "check-updates", "-c", str(config))
    assert code == ExitCode.UPDATES_AVAILABLE, proposal
    moved = {c["entry"]: c["proposed"] for c in proposal["changes"]}
    assert moved["diffusion_model"]["file"] == FP8MIXED_2511
    assert moved["lightning_lora"]["repo"] == LORA_2511_REPO
    engine = proposal["engine"]
    assert engine["proposed"]["tag"] == "5.9.0-base"  # same suffix, same major
    assert engine["proposed"]["comfyui_version"] == "0.5.1"
    assert engine["current"]["comfyui_version"] == "0.3.64"
    assert engine["needed_by"] == ["diffusion_model"] and "0.5.0" in engine["why"]
    capsys.readouterr()
    assert main(["check-updates", "-c", str(config), "--markdown"]) == 100
    body = capsys.readouterr().out
    assert "### Engine (ComfyUI)" in body and "ComfyUI 0.3.64" in body and "0.5.1" in body
    # update writes all three together; the result is consistent and verifies.
    code, applied = cli_json(capsys, "update", "-c", str(config))
    assert code == 0, applied
    assert "5.9.0-base@sha256:" in config.read_text()
    lock = json.loads((isolated / "models.lock.json").read_text())
    assert lock["engine"]["comfyui_version"] == "0.5.1" and lock["engine"]["commit"] == COMMIT_B
    assert lock["models"]["diffusion_model"]["file"] == FP8MIXED_2511
    assert cli_json(capsys, "lock", "--check", "-c", str(config))[0] == 0
    assert cli_json(capsys, "verify", "-c", str(config))[0] == 0


def _held(proposal: dict[str, object]) -> str:
    changes = proposal["changes"]
    assert isinstance(changes, list)
    assert not [c for c in changes if c["entry"] in ("diffusion_model", "lightning_lora")]
    assert proposal["engine"] is None
    options = proposal["options"]
    assert isinstance(options, list)
    (held,) = [o for o in options if o["entry"] == "diffusion_model" and "held back" in o["why"]]
    return str(held["why"])


def test_no_tag_with_a_new_enough_engine_holds_the_model_back(  # type: ignore[no-untyped-def]
    qwen_hub, hub_env, registry, isolated, capsys, github_api
) -> None:
    hub_env(qwen_hub)
    config = _stack(registry, isolated, capsys, "worker/lagging", {"5.8.6-base": "0.4.0"})
    config.write_text(config.read_text().replace(NO_RELEASES_API, github_api.api))
    github_api.release("v0.5.0", "2025-12-17")
    github_api.release("v0.8.0", "2026-01-07")
    github_api.release("v0.9.0", "2026-01-14", prerelease=True)
    publish_2511(qwen_hub)
    code, proposal = cli_json(capsys, "check-updates", "-c", str(config))
    assert code in (0, 100), proposal
    why = _held(proposal)
    assert "needs ComfyUI >= 0.5.0" in why and "ComfyUI 0.3.64" in why
    assert "5.8.6-base carries ComfyUI 0.4.0" in why
    assert "the newest ComfyUI release is ComfyUI 0.8.0 (2026-01-07)" in why
    assert github_api.requests >= 1


def test_an_unreadable_registry_holds_the_model_back(  # type: ignore[no-untyped-def]
    qwen_hub, hub_env, registry, isolated, capsys, monkeypatch
) -> None:
    hub_env(qwen_hub)
    config = _stack(registry, isolated, capsys, "worker/unreadable", {"5.9.0-base": "0.5.1"})
    publish_2511(qwen_hub)
    nobody = isolated / "no-login"
    nobody.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(nobody))  # the base registry now refuses us
    monkeypatch.setenv("IMAGEBUILDER_CACHE_DIR", str(isolated / "empty-cache"))
    code, proposal = cli_json(capsys, "check-updates", "-c", str(config))
    assert code in (0, 100), proposal
    why = _held(proposal)
    assert "no newer engine could be checked" in why and "registry could not be read" in why


def test_a_digest_moved_under_the_pinned_tag_is_reported(  # type: ignore[no-untyped-def]
    qwen_hub, hub_env, registry, isolated, capsys
) -> None:
    hub_env(qwen_hub)
    config = _stack(registry, isolated, capsys, "worker/moved", {})
    layers = [*worker_layers("0.4.0"), gzip_layer({"extra": b"rebuilt"})]
    push_base(registry, "worker/moved", "5.8.5-base", layers)  # the tag is re-pushed
    code, proposal = cli_json(capsys, "check-updates", "-c", str(config))
    assert code == 0, proposal
    (note,) = [n for n in proposal["notes"] if "now names another image" in n]
    assert "5.8.5-base" in note and "ComfyUI 0.4.0" in note


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'[{"tag_name": "v0.3.64"}, {"tag_name": "v0.5.0"}, {"tag_name": "latest"}]', "0.5.0"),
        (b'[{"tag_name": "v0.9.0", "draft": true}, {"tag_name": "v0.8.0"}]', "0.8.0"),
        (b'[{"tag_name": "v1.0.0-rc1"}, {"tag_name": 5}, "x", {"tag_name": "v0.4.0"}]', "0.4.0"),
        (b'{"message": "API rate limit exceeded"}', None),
        (b"not json", None),
        (b"[" * 100_000, None),
    ],
)
def test_the_newest_release_from_a_hostile_list(body: bytes, expected: str | None) -> None:
    found = pick_newest(body)
    assert (str(found.version) if found else None) == expected
