"""The result of one `imagebuilder test` run, and its JSON and Markdown forms.

The JSON holds every row and summary (no image bytes: the HTML report has the
pictures); the Markdown is a pull-request comment: the recommendation, the thresholds,
the table, what each variant missed.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from imagebuilder.abtest.cases import Case
from imagebuilder.abtest.compare import MAX_SCORED_PIXELS
from imagebuilder.abtest.summary import CaseRow, VariantSummary
from imagebuilder.abtest.table import markdown_table, number, summary_rows
from imagebuilder.abtest.thresholds import Thresholds
from imagebuilder.abtest.verdict import Recommendation, recommend, thresholds_sentence
from imagebuilder.project.characters import terminal_safe

_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
HOW_TO_SET = (
    "set them in models.yaml (`test: {min_ssim: ..., min_psnr_db: ...}`) or with "
    "--min-ssim, --min-psnr, --max-seconds, --max-cost"
)


@dataclass(frozen=True)
class AbTestReport:
    target: dict[str, Any]
    started_at: str  # ISO 8601 UTC
    baseline: str
    price_per_hour: float | None
    thresholds: Thresholds
    cases: tuple[Case, ...]
    variants: tuple[VariantSummary, ...]
    rows: tuple[CaseRow, ...]
    warmups: tuple[CaseRow, ...]

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.variants)

    @property
    def recommendation(self) -> Recommendation:
        return recommend(self.variants)

    def verdict(self, summary: VariantSummary) -> str:
        """The verdict column: recommended, meets, below (the thresholds) or FAIL."""
        if not summary.passed:
            return "FAIL"
        if summary.variant == self.recommendation.variant:
            return "recommended"
        return "meets" if summary.meets_thresholds else "below"

    def saving(self, summary: VariantSummary) -> float | None:
        """Fraction of the baseline's median seconds per job this variant saves."""
        base = next((v for v in self.variants if v.baseline), None)
        if base is None or summary.baseline:
            return None
        if base.median_execution_s and summary.median_execution_s is not None:
            return 1 - summary.median_execution_s / base.median_execution_s
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "target": self.target,
            "started_at": self.started_at,
            "baseline": self.baseline,
            "price_per_hour": self.price_per_hour,
            "thresholds": self.thresholds.as_dict(),
            "recommendation": self.recommendation.as_dict(),
            "cases": [
                {
                    "name": c.name,
                    "prompt": c.prompt,
                    "seed": c.seed,
                    "images": [i.path.name for i in c.images],
                }
                for c in self.cases
            ],
            "variants": [row.as_dict() for row in summary_rows(self)],
            "rows": [asdict(r) for r in self.rows],
            "warmups": [asdict(r) for r in self.warmups],
        }


def summary_table(report: AbTestReport) -> list[str]:
    """The table as Markdown lines (the HTML report and the JSON show the same rows)."""
    return markdown_table(summary_rows(report))


def markdown(report: AbTestReport) -> str:
    verdict = "passed" if report.passed else "FAILED"
    target = report.target
    lines = [
        f"### imagebuilder test: {verdict}",
        "",
        f"Target `{_md(str(target.get('target')))}`"
        + (f" ({_md(str(target['gpu']))})" if target.get("gpu") else "")
        + f", {len(report.cases)} case(s), baseline `{report.baseline}`, {report.started_at}.",
        "",
        f"**Recommendation:** {report.recommendation.sentence()}.",
        "",
        f"Thresholds: {thresholds_sentence(report.thresholds)}; {HOW_TO_SET}.",
        "",
        *summary_table(report),
    ]
    seconds_note = (
        "Seconds are the target's own execution time per job (ComfyUI's history "
        "timestamps, or RunPod's executionTime); queue is waiting plus cold start."
    )
    lines += ["", seconds_note]
    shrunk = sorted({r.scored_size for r in report.rows if r.scored_size})
    if shrunk:
        lines += [
            "",
            f"SSIM and PSNR of outputs over {MAX_SCORED_PIXELS:,} pixels were computed on "
            f"copies shrunk to {', '.join(shrunk)} (Lanczos; `scored_size` in the JSON).",
        ]
    if report.warmups:
        lines += [
            "",
            "Warm-up jobs (model loading; left out of the medians): " + warmup_line(report) + ".",
        ]
    problems = [(v.variant, reason) for v in report.variants for reason in v.reasons]
    if problems:
        lines += ["", "Thresholds missed and failures:"]
        lines += [f"- `{variant}`: {_md(reason)}" for variant, reason in problems]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Worker text for Markdown, as the terminal gets it: no control characters (ESC, OSC,
    BEL), no HTML tag a renderer would act on (a "<" that opens one is escaped; "SSIM
    0.82 < 0.9" stays as it is), no backtick to break out of code spans."""
    return _TAG_START.sub("&lt;", terminal_safe(text)).replace("`", "'")


def warmup_line(report: AbTestReport) -> str:
    parts = []
    for row in report.warmups:
        if row.ok:
            seconds, queued = number(row.execution_s, ".3f"), number(row.queue_s, ".3f")
            parts.append(f"{row.variant} {seconds} s + {queued} s queued")
        else:
            parts.append(f"{row.variant} failed ({row.failure_kind})")
    return ", ".join(parts)
