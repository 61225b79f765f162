"""Regenerate the reference pages: ``uv run python -m imagebuilder.docgen [--check]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from imagebuilder.docgen.pages import generated_pages
from imagebuilder.project.atomic import atomic_write_text


def main(argv: list[str] | None = None, *, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(prog="python -m imagebuilder.docgen", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path(), help="repository root")
    parser.add_argument("--check", action="store_true", help="fail when a page is stale")
    args = parser.parse_args(argv)
    stale = []
    for relative, text in generated_pages(args.root).items():
        path = args.root / relative
        if path.read_text(encoding="utf-8") == text:
            continue
        stale.append(relative)
        if not args.check:
            atomic_write_text(path, text)
            out(f"wrote {relative}")
    if args.check and stale:
        out(f"stale: {', '.join(stale)}; run `uv run python -m imagebuilder.docgen`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
