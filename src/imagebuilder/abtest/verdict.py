"""Which variant to ship: the cheapest one whose every case meets the thresholds.

Cheapest by median dollars per job when the run has a price, else by median execution
seconds (the same order: dollars are seconds at one price). The baseline is a candidate
too (quality is measured against it, so only its time, cost and failures count): when no
cheaper variant meets the thresholds, the recommendation is to keep it. What the
recommended variant saves is given per 1,000 jobs, in dollars and GPU hours, against
the baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from imagebuilder.abtest.summary import SECONDS_PER_HOUR, VariantSummary
from imagebuilder.abtest.thresholds import Thresholds

JOBS = 1000  # savings are quoted per this many jobs


@dataclass(frozen=True)
class Recommendation:
    variant: str | None  # None: no variant, the baseline included, meets the thresholds
    baseline: str
    candidates: tuple[str, ...]  # every variant that meets the thresholds, cheapest first
    saving: float | None  # fraction of the baseline's cost per job
    dollars_per_1000: float | None
    gpu_hours_per_1000: float | None
    baseline_failed: int = 0  # jobs of the baseline that failed: nothing to compare with

    @property
    def keeps_baseline(self) -> bool:
        return self.variant == self.baseline

    def sentence(self) -> str:
        """One line for every report: what to ship and what it saves."""
        if self.variant is None and self.baseline_failed:
            return (
                f"no recommendation: {self.baseline_failed} job(s) of the baseline "
                f"{self.baseline} failed, so no variant could be compared in every case"
            )
        if self.variant is None:
            return (
                "no recommendation: no variant, the baseline included, met the thresholds "
                "in every case"
            )
        if self.keeps_baseline:
            return f"keep {self.baseline}: no cheaper variant met the thresholds in every case"
        saved = []
        if self.dollars_per_1000 is not None:
            saved.append(f"${self.dollars_per_1000:,.2f}")
        if self.gpu_hours_per_1000 is not None:
            saved.append(f"{self.gpu_hours_per_1000:,.2f} GPU hours")
        share = "" if self.saving is None else f" ({self.saving:.1%})"
        what = " and ".join(saved) if saved else "an unmeasured amount"
        return (
            f"ship {self.variant}: the cheapest variant that met the thresholds in every "
            f"case; it saves {what} per {JOBS:,} jobs against {self.baseline}{share}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "baseline": self.baseline,
            "candidates": list(self.candidates),
            "saving": self.saving,
            "dollars_saved_per_1000_jobs": self.dollars_per_1000,
            "gpu_hours_saved_per_1000_jobs": self.gpu_hours_per_1000,
            "text": self.sentence(),
        }


def _cost_key(summary: VariantSummary, by_dollars: bool) -> float:
    value = summary.median_dollars if by_dollars else summary.median_execution_s
    return float("inf") if value is None else value


def recommend(variants: Sequence[VariantSummary]) -> Recommendation:
    baseline = next(v for v in variants if v.baseline)
    candidates = [v for v in variants if v.meets_thresholds and v.failed == 0 and v.jobs]
    by_dollars = all(v.median_dollars is not None for v in candidates) and bool(candidates)
    # Stable sort: among equal costs the baseline, then the variants in models.yaml order.
    ranked = sorted(candidates, key=lambda v: _cost_key(v, by_dollars))
    if not ranked:
        return Recommendation(None, baseline.variant, (), None, None, None, baseline.failed)
    best = ranked[0]
    saving = dollars = hours = None
    if not best.baseline:
        base_s, best_s = baseline.median_execution_s, best.median_execution_s
        if base_s and best_s is not None:
            saving = 1 - best_s / base_s
            hours = (base_s - best_s) * JOBS / SECONDS_PER_HOUR
        if baseline.median_dollars is not None and best.median_dollars is not None:
            dollars = (baseline.median_dollars - best.median_dollars) * JOBS
    return Recommendation(
        variant=best.variant,
        baseline=baseline.variant,
        candidates=tuple(v.variant for v in ranked),
        saving=saving,
        dollars_per_1000=dollars,
        gpu_hours_per_1000=hours,
        baseline_failed=baseline.failed,
    )


def thresholds_sentence(limits: Thresholds) -> str:
    """'SSIM >= 0.9 (default) and PSNR >= 25 dB (default) in every case; ...'"""
    quality = [
        f"{label} >= {value:g}{unit} ({limits.source(name)})"
        for name, label, unit in (("min_ssim", "SSIM", ""), ("min_psnr_db", "PSNR", " dB"))
        if (value := getattr(limits, name)) is not None
    ]
    medians = [
        f"{label} <= {prefix}{value:g}{unit} ({limits.source(name)})"
        for name, label, prefix, unit in (
            ("max_seconds", "median seconds per job", "", " s"),
            ("max_cost", "median dollars per job", "$", ""),
        )
        if (value := getattr(limits, name)) is not None
    ]
    parts = [" and ".join(quality) + " in every case"] if quality else []
    parts += medians
    return "; ".join(parts) if parts else "none"
