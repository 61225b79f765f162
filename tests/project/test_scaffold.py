"""`imagebuilder init`: each shipped stack as a project that validates and checks; an
existing project is never overwritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagebuilder.cli import main
from imagebuilder.errors import ExitCode
from imagebuilder.project.scaffold import STACKS


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_init_writes_a_project_that_validates_and_checks(
    tmp_path: Path, stack: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "project"
    assert main(["init", str(folder), "--stack", stack, "--json"]) == 0
    written = json.loads(capsys.readouterr().out)["written"]
    assert "models.yaml" in written and any(n.startswith("workflows/") for n in written)
    config = str(folder / "models.yaml")
    assert main(["validate", "-c", config]) == 0
    capsys.readouterr()
    assert main(["check-workflows", "-c", config, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["problems"] == []


def test_init_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "models.yaml").write_text("mine\n")
    assert main(["init", str(tmp_path)]) == ExitCode.CONFIG
    assert "already exist: models.yaml" in capsys.readouterr().err
    assert (tmp_path / "models.yaml").read_text() == "mine\n"
    assert not (tmp_path / "workflows").exists()


def test_unknown_stack_names_the_known_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path), "--stack", "sd3"]) == ExitCode.CONFIG
    assert "flux-kontext, wan2.2-i2v" in capsys.readouterr().err
