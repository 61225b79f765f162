"""docs/faults.md carries the table of the cases this suite runs: it must be current."""

from __future__ import annotations

from faults.table import DOC, current_block, render


def test_the_outcome_table_in_the_docs_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert current_block(text) == render(), (
        "docs/faults.md is stale: run `uv run python tests/faults/table.py --write`"
    )
