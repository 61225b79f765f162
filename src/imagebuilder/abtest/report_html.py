"""The HTML report: one self-contained file people open to look at the outputs.

Every picture is a data: URI (JPEG, shrunk to ``max_side`` pixels), the styles are
inline, there is no script: the file renders the same from an artifact download, a
mail attachment or a disk with no network. Text from the target (error messages) is
escaped by Jinja's autoescaping.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from importlib import resources

import jinja2

from imagebuilder.abtest.compare import decode, preview_jpeg
from imagebuilder.abtest.report import TestReport, summary_table, warmup_line
from imagebuilder.abtest.summary import CaseRow, Pictures

DEFAULT_MAX_SIDE = 512


@dataclass(frozen=True)
class Cell:
    variant: str
    baseline: bool
    row: CaseRow | None
    output_uri: str | None
    diff_uri: str | None


def _uri(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(report: TestReport, pictures: Pictures, *, max_side: int = DEFAULT_MAX_SIDE) -> str:
    rows = {(r.case, r.variant): r for r in report.rows}
    sections = []
    for case in report.cases:
        inputs = [_uri(preview_jpeg(decode(i.data).pixels, max_side)) for i in case.images]
        cells = []
        for summary in report.variants:
            key = (case.name, summary.variant)
            output = pictures.outputs.get(key)
            diff = pictures.diffs.get(key)
            cells.append(
                Cell(
                    variant=summary.variant,
                    baseline=summary.baseline,
                    row=rows.get(key),
                    output_uri=_uri(preview_jpeg(output.pixels, max_side)) if output else None,
                    diff_uri=_uri(preview_jpeg(diff, max_side)) if diff is not None else None,
                )
            )
        sections.append({"case": case, "inputs": inputs, "cells": cells})
    template_text = resources.files(__package__).joinpath("report.html.j2").read_text("utf-8")
    template = _environment().from_string(template_text)
    return template.render(
        caption=_caption,
        warmup=warmup_line(report),
        report=report,
        sections=sections,
        table=_table_cells(report),
    )


def _caption(row: CaseRow) -> str:
    """': 2.512 s, SSIM 0.9632, PSNR 30.92 dB, 1024x1024' under a picture."""
    parts = [] if row.execution_s is None else [f"{row.execution_s:.3f} s"]
    if row.ssim is not None:
        parts.append(f"SSIM {row.ssim:.4f}")
    if row.psnr_db is not None:
        parts.append(f"PSNR {row.psnr_db:.2f} dB")
    parts.append(f"{row.width}x{row.height}")
    return ": " + ", ".join(parts)


def _table_cells(report: TestReport) -> list[list[str]]:
    """The Markdown summary table's cells, so HTML and pull request show the same numbers."""
    lines = summary_table(report)
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[:1] + lines[2:]]
