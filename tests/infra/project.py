"""A scratch project for integration tests: models.yaml aimed at the test registry and base.

Shared by the build, variant and publish tests, so all three start from the shipped
models.yaml and workflows in the same way.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hubserver.server import HubServer
from imagebuilder.cli import main
from imagebuilder.oci.auth import Credentials
from imagebuilder.oci.client import RegistryClient
from imagebuilder.oci.reference import parse_reference
from imagebuilder.oci.transport import RegistryTransport
from infra.fixtures import TinyBase
from infra.registry import RegistryServer

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_IMAGE = "ghcr.io/example/qwen-image-edit-worker"
# The shipped stack's LoRA, which the integration tests re-upload to force a new layer.
LORA_REPO = "lightx2v/Qwen-Image-Lightning"
LORA_FILE = "Qwen-Image-Edit-2509/Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors"


def make_project(
    tmp_path: Path,
    image: str,
    base: TinyBase,
    *,
    text: str | None = None,
    limits_host: str | None = None,
) -> Path:
    """tmp_path/project with models.yaml (shipped, or ``text``) and the workflow templates.

    ``image`` replaces the shipped image name; the base becomes the tiny local base;
    ``limits_host`` moves the shipped ghcr.io layer limit onto the test registry.
    """
    text = (ROOT / "models.yaml").read_text(encoding="utf-8") if text is None else text
    text = text.replace(SHIPPED_IMAGE, image)
    original_base = next(line for line in text.splitlines() if line.strip().startswith("base:"))
    text = text.replace(original_base, f"  base: {base.ref}")
    # The start path wraps the base's own command: the tiny base's, not worker-comfyui's.
    text = text.replace(
        'base_command: ["/start.sh"]', f"base_command: {json.dumps(list(base.command))}"
    )
    if limits_host is not None:
        text = text.replace("    ghcr.io:\n", f'    "{limits_host}":\n')
    project = tmp_path / "project"
    (project / "workflows").mkdir(parents=True)
    (project / "models.yaml").write_text(text, encoding="utf-8")
    for template in (ROOT / "workflows").glob("*.json"):
        (project / "workflows" / template.name).write_bytes(template.read_bytes())
    return project


def locked_project(
    tmp_path: Path,
    image: str,
    base: TinyBase,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *,
    limits_host: str | None = None,
) -> Path:
    """``make_project``, made the working directory and locked against the loopback Hub
    (which the caller has pointed the environment at)."""
    project = make_project(tmp_path, image, base, limits_host=limits_host)
    monkeypatch.chdir(project)
    code, result = cli_json(capsys, "lock", "-c", str(project / "models.yaml"))
    assert code == 0, result
    return project


def bump_lora(
    hub: HubServer, capsys: pytest.CaptureFixture[str], project: Path, *, seed: int = 99
) -> None:
    """Upstream re-uploads the shipped LoRA with other bytes; the project re-locks."""
    hub.commit(
        LORA_REPO,
        {LORA_FILE: {"generator": "lightning_lora", "real": True, "args": {"layers": 2,
         "hidden": 64, "rank": 4}, "seed": seed}},
        title="Re-upload the 4-step LoRA",
    )  # fmt: skip
    code, result = cli_json(capsys, "lock", "-c", str(project / "models.yaml"))
    assert code == 0, result


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    """Run the CLI in-process with --json: its exit code and the JSON it printed."""
    capsys.readouterr()
    code = main([*args, "--json"])
    out = capsys.readouterr().out
    return code, (json.loads(out) if out.strip() else {})


def use_registry(monkeypatch: pytest.MonkeyPatch, registry: RegistryServer, *also: str) -> None:
    """The test registry's login, both ways users give it: the IMAGEBUILDER_REGISTRY_*
    pair (which publish and build --push offer to their target only) and a Docker config
    entry for its host and the ``also`` hosts (proxies in front of it), as `docker login`
    writes, which the reads of inspect-image and diff use."""
    monkeypatch.setenv("IMAGEBUILDER_REGISTRY_USERNAME", registry.username)
    monkeypatch.setenv("IMAGEBUILDER_REGISTRY_PASSWORD", registry.password)
    hosts = sorted({registry.host, *also})
    folder = registry.root / ("docker-config-" + "-".join(h.replace(":", "_") for h in hosts))
    folder.mkdir(exist_ok=True)
    login = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    config = {"auths": {host: {"auth": login} for host in hosts}}
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))


def repository_for(request: pytest.FixtureRequest, prefix: str = "") -> str:
    """A repository name unique to the running test (registry paths are lower-case)."""
    return prefix + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:30].strip("-")


def read_manifest(registry: RegistryServer, image: str, tag: str) -> dict[str, Any]:
    """The manifest the test registry serves for image:tag ({} when it has none)."""
    name = parse_reference(image)
    client = RegistryClient(
        RegistryTransport(name.api_host, Credentials(registry.username, registry.password))
    )
    try:
        found = client.find_manifest(name.repository, tag)
    finally:
        client.close()
    manifest: dict[str, Any] = json.loads(found.body) if found else {}
    return manifest


ProjectFactory = Callable[..., Path]


@pytest.fixture
def registry_project(
    tmp_path: Path,
    registry: RegistryServer,
    tiny_base_image: TinyBase,
    qwen_small_hub: HubServer,
    hub_env: Callable[[HubServer], Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> ProjectFactory:
    """Factory: a locked project whose image goes to the test registry (a repository
    named after the test, ``prefix`` first), with the registry's credentials in the
    environment and the loopback Hub behind every Hub call. ``limits=True`` moves the
    shipped ghcr.io layer limit onto the test registry."""
    hub_env(qwen_small_hub)
    use_registry(monkeypatch, registry)

    def make(prefix: str = "", *, limits: bool = False) -> Path:
        image = f"{registry.host}/{repository_for(request, prefix)}"
        limits_host = registry.host if limits else None
        return locked_project(
            tmp_path, image, tiny_base_image, capsys, monkeypatch, limits_host=limits_host
        )

    return make
