"""The `cost` table as plain lines that fit the terminal (80 columns and up).

One line per variant and workflow; the sources of the numbers follow, wrapped to the
width, so a reader sees where each number came from without a 200-column line. The
Markdown form (`--markdown`) is the same report as a table for a pull request.
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


def cost_markdown(report: CostReport) -> str:
    """The report as a Markdown table with its inputs, sources and notes (for a PR)."""
    inputs, cold = report.inputs, report.cold_start
    amortised = f" s/job incl. cold start ({cold.jobs_per_worker} jobs/worker) |" if cold else ""
    lines = [
        "| variant | workflow | steps | cfg | s/step | fixed s | seconds/job |"
        f"{amortised} $/job | $/1000 jobs | saving vs baseline | denoising cut |",
        "|---|---|---:|---:|---:|---:|---:|" + ("---:|" if cold else "") + "---:|---:|---:|---:|",
    ]
    for row in report.rows:
        saving = "baseline" if row.saving is None else f"{row.saving:.1%}"
        cut = "-" if row.denoise_saving is None else f"{row.denoise_saving:.1%}"
        extra = f" {row.amortised_seconds_per_job or 0:.3f} |" if cold else ""
        lines.append(
            f"| {row.variant} | {row.workflow} | {row.steps} | {row.cfg:g} "
            f"| {row.seconds_per_step:.3f} | {row.fixed_seconds:.3f} | {row.seconds_per_job:.3f} |"
            f"{extra} {row.dollars_per_job:.6f} | {row.dollars_per_1000_jobs:.3f} "
            f"| {saving} | {cut} |"
        )
    lines.append("")
    lines.append(f"Inputs: {inputs.gpu} at ${inputs.price_per_hour:g}/hour.")
    lines.append("")
    lines.append("Sources:")
    lines.extend(f"- {what}: {source}" for what, source in report.sources)
    lines.append("")
    lines.extend(f"- {note}" for note in report.notes)
    return "\n".join(lines) + "\n"
