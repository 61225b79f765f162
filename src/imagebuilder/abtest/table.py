"""The summary table of `imagebuilder test`: one typed row per variant, rendered alike.

The Markdown comment, the HTML report and the JSON all take their table from
``summary_rows``: the numbers are computed once, and ``cells`` formats them once, so
the three can never disagree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from imagebuilder.abtest.summary import VariantSummary

if TYPE_CHECKING:
    from imagebuilder.abtest.report import AbTestReport

HEADERS = (
    "variant", "steps", "jobs", "failed", "median SSIM", "worst SSIM", "median PSNR",
    "median s/job", "queue s", "$/job", "saving", "verdict",
)  # fmt: skip
ALIGN = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"


@dataclass(frozen=True)
class SummaryRow:
    """One variant's line of the table: its summary, what it saves, its verdict."""

    summary: VariantSummary
    saving: float | None  # fraction of the baseline's median seconds saved
    verdict: str  # recommended | meets | below | FAIL

    def as_dict(self) -> dict[str, Any]:
        """The JSON's variant: every number of the summary, the saving and the verdict."""
        return asdict(self.summary) | {"saving": self.saving, "verdict": self.verdict}


def summary_rows(report: AbTestReport) -> list[SummaryRow]:
    return [SummaryRow(v, report.saving(v), report.verdict(v)) for v in report.variants]


def number(value: float | None, spec: str, suffix: str = "") -> str:
    """A table number, or '-' when there is none."""
    return "-" if value is None else f"{value:{spec}}{suffix}"


def cells(row: SummaryRow) -> list[str]:
    """The row's cells, in HEADERS order, as every form shows them."""
    v = row.summary
    return [
        f"{v.variant} (baseline)" if v.baseline else v.variant,
        number(v.steps, "d"),
        str(v.jobs),
        str(v.failed),
        number(v.median_ssim, ".4f"),
        number(v.min_ssim, ".4f"),
        number(v.median_psnr_db, ".2f", " dB"),
        number(v.median_execution_s, ".3f"),
        number(v.median_queue_s, ".3f"),
        number(v.median_dollars, ".6f"),
        "baseline" if v.baseline else number(row.saving, "+.1%"),
        row.verdict,
    ]


def markdown_table(rows: list[SummaryRow]) -> list[str]:
    return [
        "| " + " | ".join(HEADERS) + " |",
        ALIGN,
        *("| " + " | ".join(cells(row)) + " |" for row in rows),
    ]
