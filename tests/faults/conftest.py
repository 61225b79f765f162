"""Fixtures of the fault suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from faults.case import CaseParts


@pytest.fixture
def case_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> CaseParts:
    return CaseParts(tmp_path, monkeypatch, capsys)
