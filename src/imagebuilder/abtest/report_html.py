"""The HTML report: one self-contained file people open to look at the outputs.

Every picture is a data: URI (JPEG, at full size up to ``max_side`` pixels; the zoomed
crops PNG), the styles are inline, there is no script: the file renders the same from an
artifact download, a mail attachment or a disk with no network. A click on a picture
shows it at full size (a checkbox and CSS, no script). First comes the recommendation
and the thresholds it was decided with; each variant's output has a crop of the window
where it differs most from the baseline, enlarged, beside the baseline's same window.
Text from the target (error messages) is escaped by Jinja's autoescaping.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from importlib import resources

import jinja2

from imagebuilder.abtest import zoom
from imagebuilder.abtest.compare import decode, preview_jpeg
from imagebuilder.abtest.report import HOW_TO_SET, AbTestReport, warmup_line
from imagebuilder.abtest.summary import CaseRow, Pictures
from imagebuilder.abtest.table import HEADERS, cells, summary_rows
from imagebuilder.abtest.verdict import thresholds_sentence


@dataclass(frozen=True)
class Zoom:
    """The window where a variant differs most, cut from both outputs and enlarged."""

    window: zoom.Window
    baseline_uri: str
    variant_uri: str


DEFAULT_MAX_SIDE = 2048  # full size for the usual 1024-1328 px outputs


@dataclass(frozen=True)
class Cell:
    variant: str
    baseline: bool
    row: CaseRow | None
    output_uri: str | None
    diff_uri: str | None
    zoom: Zoom | None = None


def _uri(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def _png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _zoom(pictures: Pictures, case: str, variant: str, baseline: str) -> Zoom | None:
    diff = pictures.diffs.get((case, variant))
    mine, reference = pictures.outputs.get((case, variant)), pictures.outputs.get((case, baseline))
    if diff is None or mine is None or reference is None:
        return None
    window = zoom.largest_difference(diff)
    return Zoom(
        window=window,
        baseline_uri=_png_uri(zoom.png(zoom.crop(reference.pixels, window))),
        variant_uri=_png_uri(zoom.png(zoom.crop(mine.pixels, window))),
    )


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(
    report: AbTestReport, pictures: Pictures, *, max_side: int = DEFAULT_MAX_SIDE
) -> str:
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
                    zoom=_zoom(pictures, case.name, summary.variant, report.baseline),
                )
            )
        sections.append({"case": case, "inputs": inputs, "cells": cells})
    template_text = resources.files(__package__).joinpath("report.html.j2").read_text("utf-8")
    template = _environment().from_string(template_text)
    return template.render(
        caption=_caption,
        thresholds=thresholds_sentence(report.thresholds),
        how_to_set=HOW_TO_SET,
        recommendation=report.recommendation,
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


def _table_cells(report: AbTestReport) -> list[list[str]]:
    """The summary table's header and cells: the same rows the Markdown shows."""
    return [list(HEADERS), *(cells(row) for row in summary_rows(report))]
