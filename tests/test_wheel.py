"""The built wheel works outside a checkout: installed into a fresh virtual environment,
run in an empty folder holding only models.yaml, it locks and renders.

The Dockerfile template comes from the wheel's package data; the rendered Dockerfile
must equal the one the checkout renders from the same lock.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from hubserver.server import HubServer
from imagebuilder.cli import main

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.integration  # builds a wheel and installs it (a few seconds)


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, check=False, env=dict(os.environ)
    )
    assert done.returncode == 0, f"{command}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `imagebuilder` console script of a fresh venv holding only the wheel (and its
    runtime dependencies)."""
    uv = shutil.which("uv")
    assert uv is not None, "uv builds and installs the wheel; install uv to run this test"
    work = tmp_path_factory.mktemp("wheel")
    _run([uv, "build", "--wheel", "--out-dir", str(work / "dist")], ROOT)
    wheels = list((work / "dist").glob("imagebuilder-*.whl"))
    assert len(wheels) == 1, wheels
    _run([uv, "venv", "--quiet", str(work / "venv")], work)
    python = work / "venv" / "bin" / "python"
    _run([uv, "pip", "install", "--quiet", "--python", str(python), str(wheels[0])], work)
    return work / "venv" / "bin" / "imagebuilder"


def test_installed_wheel_locks_and_renders_in_an_empty_folder(
    installed: Path,
    tmp_path: Path,
    qwen_small_hub: HubServer,
    hub_env: Callable[[HubServer], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    hub_env(qwen_small_hub)
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "models.yaml", project / "models.yaml")

    assert _run([str(installed), "--version"], project).stdout.strip()
    _run([str(installed), "lock"], project)
    rendering = _run([str(installed), "render", "--json"], project)
    rendered = json.loads(rendering.stdout)
    assert rendered["build_dir"] == "build"
    assert "holds no workflow templates: the image will serve no workflows" in rendering.stderr
    assert sorted(p.name for p in project.iterdir()) == ["build", "models.lock.json", "models.yaml"]

    # The same project rendered by the checkout (its templates/ folder) gives the same bytes.
    checkout = tmp_path / "checkout"
    shutil.copytree(project, checkout, ignore=shutil.ignore_patterns("build"))
    assert main(["render", "--config", str(checkout / "models.yaml"), "--build-dir",
                 str(checkout / "build")]) == 0  # fmt: skip
    capsys.readouterr()
    wheel_dockerfile = (project / "build" / "Dockerfile").read_text()
    assert wheel_dockerfile == (checkout / "build" / "Dockerfile").read_text()
    assert "FROM " in wheel_dockerfile


def test_installed_wheel_ships_its_package_data(installed: Path, tmp_path: Path) -> None:
    python = installed.with_name("python")
    probe = (
        "import importlib.resources as r; p = r.files('imagebuilder'); "
        "print(sorted(x.name for d in ('templates', 'workflows', 'schema') "
        "for x in (p / d).iterdir()))"
    )
    listed = _run([str(python), "-c", probe], tmp_path).stdout
    for name in ("Dockerfile.j2", "qwen_image_edit_1.json", "models.schema.json"):
        assert name in listed


@pytest.mark.parametrize("stack", ["qwen-image-edit", "flux-kontext", "wan2.2-i2v"])
def test_installed_init_scaffolds_a_project_that_checks(
    installed: Path, tmp_path: Path, stack: str
) -> None:
    """The wheel alone (no checkout) writes a project that validates and checks."""
    _run([str(installed), "init", "new", "--stack", stack], tmp_path)
    project = tmp_path / "new"
    assert (project / "models.yaml").is_file() and list((project / "workflows").glob("*.json"))
    _run([str(installed), "validate"], project)
    checked = _run([str(installed), "check-workflows", "--json"], project)
    assert json.loads(checked.stdout)["problems"] == []
