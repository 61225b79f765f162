"""A problem found in a workflow: severity, where (workflow, node, variant) and what to do."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    severity: Severity
    workflow: str
    node: str
    message: str
    hint: str = ""
    variant: str | None = None

    def render(self) -> str:
        where = f"{self.workflow}.json node {self.node}"
        if self.variant:
            where = f"variant {self.variant}: {where}"
        text = f"{where}: {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
