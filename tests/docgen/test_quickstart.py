"""The README quickstart shows what the commands really do.

scripts/quickstart-demo.py replays the quickstart against the loopback Hub and pastes
the output into README.md. This replays it again and checks that the README still shows
the same commands with the same exit codes (tables and hashes may change with the output
format: `uv run python scripts/quickstart-demo.py --write` refreshes them).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "quickstart_demo", ROOT / "scripts" / "quickstart-demo.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _steps(text: str) -> list[str]:
    return re.findall(r"^(?:\$ imagebuilder .*|\[exit \d+\])$", text, flags=re.MULTILINE)


def test_readme_quickstart_shows_the_commands_and_exit_codes_of_a_real_run() -> None:
    blocks = _demo().transcripts(columns=80)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, transcript in blocks.items():
        shown = readme.split(f"<!-- BEGIN GENERATED: {name} ", 1)[1].split("<!-- END", 1)[0]
        assert _steps(shown) == _steps(transcript), name
    assert _steps(blocks["quickstart-check-2511"])[-1] == "[exit 100]"


def test_update_shows_the_table_once() -> None:
    demo = _demo()
    transcript = (
        "$ imagebuilder update\nchecking\ncheck-updates\n┏━┓\n│x│\n└─┘\nupdated: a\n[exit 0]"
    )
    assert demo.without_table(transcript, "[...]").splitlines() == [
        "$ imagebuilder update",
        "checking",
        "[...]",
        "updated: a",
        "[exit 0]",
    ]
