"""Golden files (tests/golden/): generated output compared byte for byte.

A missing golden fails the test: it is never written silently, so a test cannot pass by
creating what it compares against. To accept new output on purpose, run the tests with
IMAGEBUILDER_UPDATE_GOLDENS=1, review the diff of tests/golden/ and commit it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden"
UPDATE_ENV = "IMAGEBUILDER_UPDATE_GOLDENS"


def updating() -> bool:
    return os.environ.get(UPDATE_ENV) == "1"


def check_golden(relative: str, text: str) -> None:
    """``text`` must equal tests/golden/<relative> (written instead when updating)."""
    path = GOLDEN_DIR / relative
    if updating():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    if not path.is_file():
        pytest.fail(
            f"golden file tests/golden/{relative} is missing; create it on purpose with "
            f"{UPDATE_ENV}=1, review it and commit it"
        )
    assert text == path.read_text(encoding="utf-8"), (
        f"output differs from tests/golden/{relative}; if the change is intended, re-run "
        f"with {UPDATE_ENV}=1 and review the diff"
    )


def check_golden_folder(relative: str, files: dict[str, str]) -> None:
    """Every file as its golden, and no golden left over that the output no longer has."""
    folder = GOLDEN_DIR / relative
    if updating() and folder.is_dir():
        for stale in folder.iterdir():
            if stale.name not in files:
                stale.unlink()
    for name, text in files.items():
        check_golden(f"{relative}/{name}", text)
    assert sorted(p.name for p in folder.iterdir()) == sorted(files)
