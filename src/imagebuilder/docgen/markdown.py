"""Small Markdown helpers shared by the reference generators."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

REGENERATE = "uv run python -m imagebuilder.docgen"


def cell(text: str) -> str:
    """One table cell: a single line, with pipes escaped so the row keeps its columns."""
    return " ".join(text.split()).replace("|", "\\|")


def code(text: str) -> str:
    """Inline code; a backtick inside gets a longer fence, as CommonMark allows."""
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def _markers(name: str, regenerate: str) -> tuple[str, str]:
    return (
        f"<!-- BEGIN GENERATED: {name} (regenerate: {regenerate}) -->",
        f"<!-- END GENERATED: {name} -->",
    )


class MissingMarkers(ValueError):
    """A page lacks the markers of a block the generator owns."""


def splice(
    page: str, blocks: Mapping[str, str], *, regenerate: str = REGENERATE, tight: bool = False
) -> str:
    """Replace each named generated block of ``page``; everything else stays as written.

    ``tight`` leaves out the blank lines around the body (a fenced block needs none).
    """
    for name, body in blocks.items():
        begin, end = _markers(name, regenerate)
        pattern = re.compile(
            rf"^<!-- BEGIN GENERATED: {re.escape(name)}\b.*?-->\n.*?^{re.escape(end)}$",
            flags=re.DOTALL | re.MULTILINE,
        )
        found = pattern.search(page)
        if not found:
            raise MissingMarkers(f"no generated block {name!r} (add the line {begin!r})")
        gap = "\n" if tight else "\n\n"
        block = f"{begin}{gap}{body.strip()}{gap}{end}"
        page = page[: found.start()] + block + page[found.end() :]
    return page
