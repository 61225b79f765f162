"""The `cost` table as plain lines that fit the terminal (80 columns and up).

One line per variant and workflow; the sources of the numbers follow, wrapped to the
width, so a reader sees where each number came from without a 200-column line.
"""

from __future__ import annotations

import textwrap

from imagebuilder.comfy.cost import CostReport, CostRow

_HEADERS = ("variant", "workflow", "steps", "s/job", "+cold", "$/1k jobs", "saving")
_RIGHT = {"steps", "s/job", "+cold", "$/1k jobs", "saving"}


def _cells(row: CostRow, cold: bool) -> tuple[str, ...]:
    steps = f"{row.steps}x{row.passes_per_step}" if row.passes_per_step > 1 else str(row.steps)
    saving = "baseline" if row.saving is None else f"{row.saving:+.1%}"
    amortised = f"{row.amortised_seconds_per_job or 0:.3f}" if cold else "-"
    return (
        row.variant,
        row.workflow,
        steps,
        f"{row.seconds_per_job:.3f}",
        amortised,
        f"{row.dollars_per_1000_jobs:.3f}",
        saving,
    )


def render(report: CostReport, width: int) -> str:
    """The table, then the inputs and the source of every number."""
    rows = [_HEADERS, *(_cells(row, report.cold_start is not None) for row in report.rows)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEADERS))]
    lines = []
    for cells in rows:
        padded = [
            cell.rjust(w) if header in _RIGHT else cell.ljust(w)
            for cell, w, header in zip(cells, widths, _HEADERS, strict=True)
        ]
        lines.append("  ".join(padded).rstrip())
    inputs = report.inputs
    lines.append("")
    lines.append(f"inputs: {inputs.gpu} at ${inputs.price_per_hour:g}/h")
    if report.cold_start is not None:
        lines.append(f"+cold: s/job with the cold start spread over {inputs.jobs_per_worker} jobs")
    wrap = max(width, 40)
    for what, source in report.sources:
        lines += textwrap.wrap(f"source of {what}: {source}", width=wrap, subsequent_indent="  ")
    return "\n".join(lines) + "\n"
