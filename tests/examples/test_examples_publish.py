"""The examples rendered and published: the tiny real files of both stacks from the
loopback Hub into an image in the test registry (real Docker Engine, real registry)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from examples.conftest import NAMES, copy_example
from hubserver.server import HubServer
from infra.fixtures import TinyBase
from infra.project import cli_json, repository_for, use_registry
from infra.registry import RegistryServer

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", NAMES)
def test_example_renders_and_publishes(
    name: str,
    tmp_path: Path,
    registry: RegistryServer,
    tiny_base_image: TinyBase,
    stacks_small_hub: HubServer,
    hub_env: Callable[[HubServer], Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    hub_env(stacks_small_hub)
    use_registry(monkeypatch, registry)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1758535200")
    config = copy_example(name, tmp_path / name)
    text = config.read_text(encoding="utf-8")
    image_line = next(line for line in text.splitlines() if line.startswith("  name: "))
    base_line = next(line for line in text.splitlines() if line.startswith("  base: "))
    image = f"{registry.host}/{repository_for(request, 'ex-')}"
    text = text.replace(image_line, f"  name: {image}").replace(
        base_line, f"  base: {tiny_base_image.ref}"
    )
    config.write_text(text, encoding="utf-8")
    monkeypatch.chdir(config.parent)
    code, locked = cli_json(capsys, "lock", "-c", str(config))
    assert code == 0, locked
    build = tmp_path / "build"
    code, rendered = cli_json(capsys, "render", "-c", str(config), "--build-dir", str(build))
    assert code == 0, rendered
    dockerfile = (build / "Dockerfile").read_text(encoding="utf-8")
    workflows = sorted(p.name for p in (build / "workflows").glob("*.json"))
    assert "index.json" in workflows and len(workflows) == 2, workflows
    code, published = cli_json(capsys, "publish", "-c", str(config), "--tag", "v1")
    assert code == 0, published
    assert published["digest"].startswith("sha256:")
    lock = json.loads((config.parent / "models.lock.json").read_text(encoding="utf-8"))
    for entry in lock["models"].values():  # every file of the stack, by its pinned commit
        assert f"{entry['repo']}/resolve/{entry['commit']}/{entry['file']}" in dockerfile
