"""Where output goes: results on stdout (table or JSON), progress and logs on stderr."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true") or "GITHUB_ACTIONS" in os.environ


# Results: plain stdout. Logs and progress: stderr, never mixed into a result.
stdout = Console(soft_wrap=True, highlight=False)
stderr = Console(stderr=True, soft_wrap=True, highlight=False)


def log(message: str) -> None:
    stderr.print(message, markup=False)


def warn(message: str) -> None:
    stderr.print(f"warning: {message}", markup=False, style="yellow")


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def emit(data: Any, as_json: bool, render_human: Callable[[], None]) -> None:
    """One result: JSON when asked for, the human rendering otherwise."""
    if as_json:
        emit_json(data)
    else:
        render_human()
