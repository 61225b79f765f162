"""What every fault case works with: its module's stage, its own folder, environment and
captured output, bound in one object so a case takes one fixture, not four."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Generic, NamedTuple, Self, TypeVar

import pytest

StageT = TypeVar("StageT")


class CaseParts(NamedTuple):
    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]


@dataclass
class Case(Generic[StageT]):
    """A runner of one suite's commands is a Case with that suite's stage and methods."""

    stage: StageT
    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]

    def elsewhere(self, folder: str) -> Self:
        """The same case working in a subfolder of its own (a baseline run, say)."""
        return replace(self, tmp_path=self.tmp_path / folder)
