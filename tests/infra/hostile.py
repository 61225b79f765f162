"""Support for the hostile-input tests: run a command on crafted input and check that it
was refused clearly, at the right place, with the documented exit code, and quickly.

The under-a-second target for each case is measured by benchmarks/bench_hostile_input.py,
not by a timed test; FAST_S here is only a hang guard, generous for a loaded CI machine.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebuilder.cli.app import main
from imagebuilder.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]
ORIGINAL = (ROOT / "models.yaml").read_text()
FAST_S = 5.0
DEEP = "nested more than 32 levels deep"


def line_of(text: str, needle: str) -> int:
    return next(n for n, row in enumerate(text.split("\n"), 1) if needle in row)


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, float]:
    capsys.readouterr()
    started = time.perf_counter()
    code = main(args)
    elapsed = time.perf_counter() - started
    return code, capsys.readouterr().err, elapsed


def assert_refused(
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    *,
    code: ExitCode,
    where: str,
    message: str,
) -> None:
    got, err, elapsed = run_cli(args, capsys)
    assert got == code, err
    assert where in err, err
    assert re.search(message, err), err
    assert "internal error" not in err
    assert elapsed < FAST_S, f"took {elapsed:.2f} s"


def assert_strict_json(out: str) -> None:
    """JSON as the standard reads it: no NaN or Infinity, which Python would let through."""
    json.loads(out, parse_constant=lambda name: pytest.fail(f"non-finite {name} in output"))


def replaced(old: str, new: str) -> str:
    """ORIGINAL with its first ``old`` replaced: a case that silently did not apply fails."""
    text = ORIGINAL.replace(old, new, 1)
    assert text != ORIGINAL, f"{old!r} is not in models.yaml"
    return text


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Writes the given text as models.yaml in the test's folder; gives its path."""

    def write(text: str) -> Path:
        path = tmp_path / "models.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def shipped_project(tmp_path: Path) -> Path:
    """A copy of the shipped models.yaml (no lock) in the test's folder."""
    config = tmp_path / "models.yaml"
    config.write_text(ORIGINAL)
    return config
