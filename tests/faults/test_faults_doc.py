"""docs/faults.md carries the table of the cases this suite runs: it must be current."""

from __future__ import annotations

from pathlib import Path

from faults.matrix import ROUND_TWO
from faults.table import DOC, current_block, render


def test_the_outcome_table_in_the_docs_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert current_block(text) == render(), (
        "docs/faults.md is stale: run `uv run python tests/faults/table.py --write`"
    )


def test_every_second_round_row_is_asserted_by_a_test() -> None:
    sources = "".join(
        path.read_text(encoding="utf-8") for path in Path(__file__).parent.glob("test_*.py")
    )
    # A test names its row as ROUND_TWO["key"], or passes "key" to one that does.
    unused = [key for key in ROUND_TWO if f'"{key}"' not in sources]
    assert not unused, f"rows in the table that no test asserts: {unused}"
