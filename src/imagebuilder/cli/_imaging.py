"""What `build` and `build-variants` share on the terminal: progress, the variants table."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from imagebuilder.cli import output

if TYPE_CHECKING:
    from rich.status import Status

    from imagebuilder.image.build import ImageBuild
    from imagebuilder.project.config import Config
    from imagebuilder.project.lock import Lock


class Progress:
    """Build output on stderr: a live status line on a terminal, step headers in CI."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty() and not output.in_ci()
        self.status: Status | None = None

    def __enter__(self) -> Progress:
        if self.live:
            self.status = output.stderr.status("building ...")
            self.status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.__exit__(None, None, None)

    def __call__(self, line: str) -> None:
        if self.status is not None:
            from rich.text import Text

            # A Text, not a str: rich would parse a str as markup ("[/]" in a build line
            # crashes it), and build lines carry file names and engine output.
            self.status.update(Text(output.printable(line[:120])))
        elif line.startswith(("Step ", "Successfully")):
            output.log(line[:160])


def build_variants_and_report(config: Config, lock: Lock, plan: ImageBuild, as_json: bool) -> None:
    """One image per variant (image.variants), then the table or JSON."""
    from imagebuilder.cli._common import make_hub
    from imagebuilder.image.variants import build_all_variants

    with Progress() as progress:
        built, warnings = build_all_variants(
            config, lock, plan, file_url=make_hub().file_url, progress=progress, log=output.log
        )
    output.warn_each(w.render() for w in warnings)
    _emit_variants(plan.repository, built, as_json)


def _emit_variants(repository: str, built: list[dict[str, Any]], as_json: bool) -> None:
    from rich.table import Table

    def human() -> None:
        table = Table("variant", "tags", "image id", "own entries")
        for result in built:
            table.add_row(
                result["variant"] + (" (baseline)" if result["baseline"] else ""),
                ", ".join(result["tags"]),
                result["image_id"][:19],
                ", ".join(result["own_entries"]) or "-",
            )
        output.stdout.print(table)

    output.emit({"image": repository, "variants": built}, as_json, human)
