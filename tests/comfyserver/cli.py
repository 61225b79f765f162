"""One `imagebuilder test --json` run over a fresh cases file, as the A/B tests make it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from imagebuilder.cli import main

from .project import write_cases


@dataclass(frozen=True)
class CasesRun:
    code: int
    document: dict[str, Any]
    out: str
    err: str

    def rows(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The result rows by (case, variant)."""
        return {(row["case"], row["variant"]): row for row in self.document["rows"]}


@dataclass(frozen=True)
class CasesRunner:
    """Writes the cases file next to ``project`` and runs `test` against ``target``;
    options of write_cases (two_images, size) pass through, anything else is argv."""

    project: Path
    capsys: pytest.CaptureFixture[str]

    @property
    def report(self) -> Path:
        return self.project.parent / "report.html"

    def __call__(
        self,
        target: str,
        prompts: dict[str, str],
        *args: str,
        warmup: bool = False,
        two_images: str | None = None,
        size: int = 48,
    ) -> CasesRun:
        cases = write_cases(self.project.parent, prompts, two_images=two_images, size=size)
        argv = ["test", "-c", str(self.project), "--target", target, "--cases", str(cases)]
        argv += ["--report", str(self.report), "--json", "--poll-interval", "0.01"]
        code = main([*argv, *([] if warmup else ["--no-warmup"]), *args])
        captured = self.capsys.readouterr()
        return CasesRun(code, json.loads(captured.out), captured.out, captured.err)
