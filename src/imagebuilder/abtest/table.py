"""The summary table of `imagebuilder test`: one typed row per variant, rendered alike.

The Markdown comment, the HTML report and the JSON all take their table from
``summary_rows``: the numbers are computed once, and ``cells`` formats them once, so
the three can never disagree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imagebuilder.abtest.report import AbTestReport

HEADERS = (
    "variant", "steps", "jobs", "failed", "median SSIM", "worst SSIM", "median PSNR",
    "median s/job", "queue s", "$/job", "saving", "verdict",
)  # fmt: skip
ALIGN = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"


@dataclass(frozen=True)
class SummaryRow:
    """One variant's line of the table, as numbers (``cells`` formats them)."""

    variant: str
    baseline: bool
    steps: int | None
    jobs: int
    failed: int
    median_ssim: float | None
    worst_ssim: float | None
    median_psnr_db: float | None
    median_execution_s: float | None
    median_queue_s: float | None
    median_dollars: float | None
    saving: float | None  # fraction of the baseline's median seconds saved
    verdict: str  # recommended | meets | below | FAIL

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summary_rows(report: AbTestReport) -> list[SummaryRow]:
    return [
        SummaryRow(
            variant=v.variant,
            baseline=v.baseline,
            steps=v.steps,
            jobs=v.jobs,
            failed=v.failed,
            median_ssim=v.median_ssim,
            worst_ssim=v.min_ssim,
            median_psnr_db=v.median_psnr_db,
            median_execution_s=v.median_execution_s,
            median_queue_s=v.median_queue_s,
            median_dollars=v.median_dollars,
            saving=report.saving(v),
            verdict=report.verdict(v),
        )
        for v in report.variants
    ]


def number(value: float | None, spec: str, suffix: str = "") -> str:
    """A table number, or '-' when there is none."""
    return "-" if value is None else f"{value:{spec}}{suffix}"


def cells(row: SummaryRow) -> list[str]:
    """The row's cells, in HEADERS order, as every form shows them."""
    return [
        f"{row.variant} (baseline)" if row.baseline else row.variant,
        number(row.steps, "d"),
        str(row.jobs),
        str(row.failed),
        number(row.median_ssim, ".4f"),
        number(row.worst_ssim, ".4f"),
        number(row.median_psnr_db, ".2f", " dB"),
        number(row.median_execution_s, ".3f"),
        number(row.median_queue_s, ".3f"),
        number(row.median_dollars, ".6f"),
        "baseline" if row.baseline else number(row.saving, "+.1%"),
        row.verdict,
    ]


def markdown_table(rows: list[SummaryRow]) -> list[str]:
    return [
        "| " + " | ".join(HEADERS) + " |",
        ALIGN,
        *("| " + " | ".join(cells(row)) + " |" for row in rows),
    ]
