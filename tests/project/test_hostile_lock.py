"""A hostile lock and the leftovers of a killed writer: refused at their line, cleaned up.

Each case is the regression test of one finding: the input used to crash (exit 1), or a
killed write left temp files behind for good. Every lock case runs through the real
command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from imagebuilder.cli.app import main
from imagebuilder.errors import ExitCode
from imagebuilder.project.atomic import atomic_write_text, temp_files_of
from infra.hostile import (
    DEEP,
    assert_refused,
)


def _lock_text(models: str) -> str:
    return '{"models": ' + models + ', "version": 1}\n'


@pytest.mark.parametrize(
    ("models", "line", "message"),
    [
        # Before: RecursionError, exit 1.
        *(
            pytest.param(
                '{\n"x": ' + "[" * depth + "]" * depth + "}", 2, DEEP, id=f"nested-{depth}"
            )
            for depth in (250, 100_000)
        ),
        pytest.param(
            '{\n"vae": {"size":\n' + "9" * 5000 + "}}",
            3,
            "number with 5000 digits",
            id="5000-digits",
        ),
        *(
            pytest.param('{\n"vae": {\n"size": ' + constant + "}}", 3, "finite number", id=constant)
            for constant in ("NaN", "Infinity", "-Infinity")
        ),
    ],
)
def test_a_hostile_lock_is_refused_at_its_line(
    shipped_project: Path, capsys: pytest.CaptureFixture[str], models: str, line: int, message: str
) -> None:
    shipped_project.with_name("models.lock.json").write_text(_lock_text(models))
    assert_refused(
        capsys,
        ["validate", "-c", str(shipped_project)],
        code=ExitCode.CONFIG,
        where=f"models.lock.json:{line}",
        message=message,
    )


def test_a_lock_entry_name_with_escape_is_refused_and_never_printed_raw(
    shipped_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: a lock entry name with ESC reached the terminal raw."""
    lock = shipped_project.with_name("models.lock.json")
    entry = {
        "repo": "Comfy-Org/Qwen-Image_ComfyUI",
        "file": "split_files/vae/qwen_image_vae.safetensors",
        "revision": "main",
        "commit": "a" * 40,
        "sha256": "b" * 64,
        "size": 1,
    }
    lock.write_text(json.dumps({"version": 1, "models": {"vae\x1b]0;pwned\x07": entry}}))
    capsys.readouterr()
    code = main(["validate", "-c", str(shipped_project)])
    captured = capsys.readouterr()
    assert code == ExitCode.CONFIG
    assert "\x1b" not in captured.err + captured.out
    assert "\x07" not in captured.err + captured.out
    assert "lock entry name" in captured.err


def test_temp_files_left_by_a_killed_writer_are_cleaned_on_the_next_write(tmp_path: Path) -> None:
    """kill -9 between the temp file's creation and its rename leaves it behind."""
    target = tmp_path / "models.lock.json"
    target.write_text("old\n")
    child = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from imagebuilder.project import atomic
        real_replace = os.replace
        def die(*args):  # the moment between writing the temp file and renaming it
            os.kill(os.getpid(), signal.SIGKILL)
        atomic.os.replace = die
        atomic.atomic_write_text(Path({str(target)!r}), "new\\n")
        """
    )
    done = subprocess.run([sys.executable, "-c", child], check=False)
    assert done.returncode == -9
    assert target.read_text() == "old\n"  # never half-written
    assert len(temp_files_of(target)) == 1  # but the temp file stayed

    atomic_write_text(target, "newer\n")
    assert target.read_text() == "newer\n"
    assert temp_files_of(target) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models.lock.json"]


def test_a_live_writers_temp_file_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "models.lock.json"
    in_flight = tmp_path / f".models.lock.json.{os.getpid()}.tmp-abc"  # this process: alive
    in_flight.write_text("partial")
    atomic_write_text(target, "x\n")
    assert temp_files_of(target) == [in_flight]
