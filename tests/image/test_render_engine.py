"""render with an installed engine (`source: release`): the golden Dockerfile, and its
install step run by sh against a real git repository (fetch by commit, the commit
checked, the base's models and custom nodes kept, the old code gone)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from imagebuilder.hub.client import Hub
from imagebuilder.image.render import find_template, render_build
from imagebuilder.project.config import Config
from imagebuilder.project.engine import EngineLock, EngineSource
from imagebuilder.project.load import load_config
from imagebuilder.project.lock import Lock, LockEntry
from infra.golden import check_golden
from infra.hostile import ORIGINAL

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = find_template(ROOT).read_text(encoding="utf-8")
REPOSITORY = "https://github.com/Comfy-Org/ComfyUI.git"
URLS = Hub(endpoint="https://huggingface.co", token="").file_url


def release_config(tmp_path: Path, root: str = "/comfyui") -> Config:
    base = next(x for x in ORIGINAL.splitlines() if x.strip().startswith("base:"))
    engine = '  comfyui:\n    source: release\n    version: "0.5.0"'
    text = ORIGINAL.replace(base, f"{base}\n{engine}").replace(
        "comfyui_root: /comfyui", f"comfyui_root: {root}"
    )
    (tmp_path / "models.yaml").write_text(text)
    return load_config(tmp_path / "models.yaml").config


def release_lock(config: Config, commit: str) -> Lock:
    models = {
        name: LockEntry(
            repo=entry.repo,
            file=entry.file,
            revision=entry.revision,
            commit=f"{index + 1:x}" * 40,
            sha256=f"{index + 10:x}" * 64,
            size=1000 * (index + 1),
        )
        for index, (name, entry) in enumerate(sorted(config.models.items()))
    }
    engine = EngineLock(
        source=EngineSource.RELEASE, base=config.image.base, comfyui_version="0.5.0",
        commit=commit, sources={"repository": REPOSITORY},
    )  # fmt: skip
    return Lock(version=1, models=models, engine=engine)


def test_installed_engine_dockerfile_matches_golden(tmp_path: Path) -> None:
    config = release_config(tmp_path)
    build = render_build(config, release_lock(config, "c" * 40), TEMPLATE, URLS)
    check_golden("Dockerfile.installed-engine", build.dockerfile)
    # after the model layers (a new release refetches no model), before the start path
    text = build.dockerfile
    assert text.rindex("wget -q") < text.index("git -C") < text.index("COPY")


def _git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}  # fmt: skip
    done = subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)
    return done.stdout.decode().strip()


def _release_repo(tmp_path: Path) -> tuple[Path, str]:
    repo = tmp_path / "upstream"
    (repo / "comfy").mkdir(parents=True)
    (repo / "models" / "checkpoints").mkdir(parents=True)
    (repo / "models" / "checkpoints" / "put_checkpoints_here").write_text("")
    (repo / "comfyui_version.py").write_text('__version__ = "0.5.0"\n')
    (repo / "comfy" / "sd.py").write_text("VALUE = 1\n")
    (repo / "requirements.txt").write_text("# nothing to install here\n")
    _git("init", "-q", cwd=repo)
    _git("add", ".", cwd=repo)
    _git("commit", "-q", "-m", "v0.5.0", cwd=repo)
    return repo, _git("rev-parse", "HEAD", cwd=repo)


def _install_step(dockerfile: str) -> str:
    start = dockerfile.index("RUN set -eu; \\\n    root=")
    return dockerfile[start + len("RUN ") : dockerfile.index("\n\n", start)]


def _run_step(tmp_path: Path, commit: str, repo: Path) -> subprocess.CompletedProcess[bytes]:
    root = tmp_path / "image" / "comfyui"
    config = release_config(tmp_path, str(root))
    build = render_build(config, release_lock(config, commit), TEMPLATE, URLS)
    shims = tmp_path / "bin"
    shims.mkdir(exist_ok=True)
    uv = shims / "uv"  # records the install it is asked for (no packages here)
    uv.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/uv-args\n')
    uv.chmod(0o755)
    env = {**os.environ, "PATH": f"{shims}:{os.environ['PATH']}", "GIT_CONFIG_COUNT": "1",
           "GIT_CONFIG_KEY_0": f"url.file://{repo}.insteadOf",
           "GIT_CONFIG_VALUE_0": REPOSITORY}  # fmt: skip
    return subprocess.run(["sh", "-c", _install_step(build.dockerfile)], env=env,
                          capture_output=True, check=False)  # fmt: skip


def _base_tree(tmp_path: Path) -> Path:
    root = tmp_path / "image" / "comfyui"
    for folder in ("models/diffusion_models", "custom_nodes/handler", "comfy"):
        (root / folder).mkdir(parents=True)
    (root / "models" / "diffusion_models" / "model.safetensors").write_text("weights")
    (root / "custom_nodes" / "handler" / "__init__.py").write_text("")
    (root / "comfy" / "old_module.py").write_text("")
    (root / "comfyui_version.py").write_text('__version__ = "0.3.64"\n')
    (root / "extra_model_paths.yaml").write_text("a: b\n")
    return root


@pytest.mark.skipif(not Path("/usr/bin/git").exists(), reason="needs git")
def test_the_install_step_places_exactly_the_pinned_commit(tmp_path: Path) -> None:
    repo, commit = _release_repo(tmp_path)
    root = _base_tree(tmp_path)
    done = _run_step(tmp_path, commit, repo)
    assert done.returncode == 0, done.stderr.decode()
    assert (root / "comfyui_version.py").read_text() == '__version__ = "0.5.0"\n'
    assert _git("rev-parse", "HEAD", cwd=root) == commit
    assert (root / "models" / "diffusion_models" / "model.safetensors").read_text() == "weights"
    assert (root / "custom_nodes" / "handler" / "__init__.py").exists()
    assert (root / "extra_model_paths.yaml").read_text() == "a: b\n"
    assert not (root / "comfy" / "old_module.py").exists()  # the old release's code is gone
    assert list((root / "comfy" / "__pycache__").glob("sd.*.pyc"))  # compiled
    assert not (tmp_path / "image" / "comfyui.engine").exists()
    assert f"-r {root}/requirements.txt" in (tmp_path / "uv-args").read_text()


@pytest.mark.skipif(not Path("/usr/bin/git").exists(), reason="needs git")
def test_a_commit_the_repository_does_not_hold_fails_and_keeps_the_base(tmp_path: Path) -> None:
    repo, _ = _release_repo(tmp_path)
    root = _base_tree(tmp_path)
    done = _run_step(tmp_path, "e" * 40, repo)
    assert done.returncode != 0
    assert (root / "comfyui_version.py").read_text() == '__version__ = "0.3.64"\n'
    assert (root / "comfy" / "old_module.py").exists()
