"""Prose on stderr (notes, warnings, errors) fits the terminal without breaking a word."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagebuilder.cli import main
from imagebuilder.cli.output import wrapped

ROOT = Path(__file__).resolve().parents[2]


def test_wrapped_breaks_at_spaces_only_and_indents_continuations() -> None:
    name = "Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors"
    text = wrapped(f"note: {'word ' * 20}{name} and more words after it", 40)
    lines = text.splitlines()
    assert all(len(line) <= 40 or name in line for line in lines), lines
    assert any(line.strip() == name or line.strip().startswith(name) for line in lines)
    assert all(line.startswith("  ") for line in lines[1:])
    assert " ".join(text.split()) == " ".join(f"note: {'word ' * 20}{name} and more".split()) + (
        " words after it"
    )


def test_wrapped_keeps_the_indent_of_each_line() -> None:
    text = wrapped("error: short\n  hint: " + "long " * 30, 50)
    lines = text.splitlines()
    assert lines[0] == "error: short"
    assert lines[1].startswith("  hint: ") and all(line.startswith("    ") for line in lines[2:])


def test_cost_notes_fit_80_columns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    capsys.readouterr()
    assert main(["cost", "-c", str(ROOT / "models.yaml")]) == 0
    err = capsys.readouterr().err
    assert err.count("note: ") >= 5
    assert all(len(line) <= 80 for line in err.splitlines()), err
