"""An installed engine (`image.comfyui: {source: release, version}`): models.yaml's
rules, the lock's record (the release tag's commit from the loopback GitHub API, read
once), drift, and the errors of a tag that does not exist or an answer that lies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagebuilder.cli import main
from imagebuilder.errors import ExitCode
from infra.githubapi import GithubApi
from infra.hostile import ORIGINAL
from infra.project import cli_json

pytestmark = pytest.mark.integration
COMMIT_050 = "d7b1b4c2a5e6f708192a3b4c5d6e7f8091a2b3c4"
TAG_OBJECT = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"


def release_yaml(api: str, version: str = "0.5.0", *, extra: str = "") -> str:
    """The shipped models.yaml, installing ComfyUI ``version`` over its base."""
    base = next(x for x in ORIGINAL.splitlines() if x.strip().startswith("base:"))
    engine = (
        f'  comfyui:\n    source: release\n    version: "{version}"\n    releases_api: {api}{extra}'
    )
    return ORIGINAL.replace(base, f"{base}\n{engine}")


def _project(isolated: Path, text: str) -> Path:
    config = isolated / "models.yaml"
    config.write_text(text)
    return config


def test_lock_pins_the_release_commit_once(  # type: ignore[no-untyped-def]
    qwen_hub, hub_env, isolated, capsys, github_api: GithubApi
) -> None:
    hub_env(qwen_hub)
    github_api.tag("0.5.0", COMMIT_050)
    config = _project(isolated, release_yaml(github_api.api))
    assert cli_json(capsys, "lock", "-c", str(config))[0] == 0
    engine = json.loads((isolated / "models.lock.json").read_text())["engine"]
    assert engine["source"] == "release"
    assert engine["comfyui_version"] == "0.5.0" and engine["commit"] == COMMIT_050
    assert engine["sources"]["commit"] == f"{github_api.api}/git/ref/tags/v0.5.0"
    assert engine["sources"]["repository"] == "https://github.com/Comfy-Org/ComfyUI.git"
    asked = github_api.requests
    assert cli_json(capsys, "lock", "-c", str(config))[0] == 0
    assert github_api.requests == asked  # the same release: nothing is read again
    assert cli_json(capsys, "lock", "--check", "-c", str(config))[0] == 0
    # models.yaml moves to another release: the lock has drifted until re-locked.
    config.write_text(release_yaml(github_api.api, "0.8.0"))
    code, answer = cli_json(capsys, "lock", "--check", "-c", str(config))
    assert code == ExitCode.LOCK_DRIFT
    assert "the lock pins ComfyUI 0.5.0, models.yaml installs 0.8.0" in answer["message"]


def test_an_annotated_tag_is_followed_to_its_commit(  # type: ignore[no-untyped-def]
    qwen_hub, hub_env, isolated, capsys, github_api: GithubApi
) -> None:
    hub_env(qwen_hub)
    github_api.tag("0.5.0", COMMIT_050, annotated=TAG_OBJECT)
    config = _project(isolated, release_yaml(github_api.api))
    assert cli_json(capsys, "lock", "-c", str(config))[0] == 0
    engine = json.loads((isolated / "models.lock.json").read_text())["engine"]
    assert engine["commit"] == COMMIT_050


def test_a_release_that_does_not_exist_is_named(  # type: ignore[no-untyped-def]
    qwen_hub, hub_env, isolated, capsys, github_api: GithubApi
) -> None:
    hub_env(qwen_hub)
    config = _project(isolated, release_yaml(github_api.api, "0.4.99"))
    code, answer = cli_json(capsys, "lock", "-c", str(config))
    assert code == ExitCode.NETWORK
    assert "ComfyUI has no release tag v0.4.99" in answer["message"]
    assert not (isolated / "models.lock.json").exists()  # nothing half-written


@pytest.mark.parametrize(
    "answer", [b"not json", b'{"object": {"type": "commit", "sha": "HEAD"}}', b"[" * 50_000]
)
def test_a_hostile_tag_answer_is_refused(  # type: ignore[no-untyped-def]
    qwen_hub, hub_env, isolated, capsys, github_api: GithubApi, answer: bytes
) -> None:
    hub_env(qwen_hub)
    github_api.git["/git/ref/tags/v0.5.0"] = answer
    config = _project(isolated, release_yaml(github_api.api))
    code, result = cli_json(capsys, "lock", "-c", str(config))
    assert code == ExitCode.NETWORK
    assert "names no git object" in result["message"]


@pytest.mark.parametrize(
    ("engine", "expected"),
    [
        ("    source: release\n", "source: release needs the ComfyUI release to install"),
        ('    source: base\n    version: "0.5.0"\n', "version is for source: release"),
        ('    source: release\n    version: "latest"\n', "version"),
        ("    source: release\n    version: 0.5.0\n    repository: git@x:y\n", "repository"),
    ],
)
def test_models_yaml_rules_name_the_line(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys, engine: str, expected: str
) -> None:
    base = next(x for x in ORIGINAL.splitlines() if x.strip().startswith("base:"))
    text = ORIGINAL.replace(base, f"{base}\n  comfyui:\n{engine}")
    config = tmp_path / "models.yaml"
    config.write_text(text)
    assert main(["lock", "--check", "-c", str(config)]) == ExitCode.CONFIG
    err = capsys.readouterr().err
    assert expected in err
    first = text.splitlines().index("  comfyui:") + 1  # the block, or the key in it
    assert any(f"models.yaml:{line}: image.comfyui" in err for line in range(first, first + 4))


def test_publish_refuses_an_installed_engine(  # type: ignore[no-untyped-def]
    qwen_hub, hub_env, isolated, capsys, github_api: GithubApi, registry
) -> None:
    hub_env(qwen_hub)
    github_api.tag("0.5.0", COMMIT_050)
    config = _project(isolated, release_yaml(github_api.api))
    assert cli_json(capsys, "lock", "-c", str(config))[0] == 0
    image = f"{registry.host}/worker/installed:v1"
    code, answer = cli_json(capsys, "publish", "-c", str(config), "--image", image)
    assert code == ExitCode.CONFIG, answer
    assert (
        "installs ComfyUI 0.5.0 (source: release), which publish cannot do" in (answer["message"])
    )
    assert "build --push" in answer["hint"]
