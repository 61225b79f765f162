"""The thresholds a variant must meet, with where each came from.

The quality minimums have documented defaults, so every run has thresholds to decide
with: the command line wins over models.yaml's `test:` section, which wins over these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Quality against the baseline, per case. SSIM 0.90: below it the structure visibly
# differs at full size (the 2-step outputs of a 4-step Lightning LoRA score ~0.8);
# PSNR 25 dB: catches a brightness or colour shift that SSIM's structure term forgives.
DEFAULT_MIN_SSIM = 0.90
DEFAULT_MIN_PSNR_DB = 25.0
DEFAULT = "default"
THRESHOLD_NAMES = ("min_ssim", "min_psnr_db", "max_seconds", "max_cost")


@dataclass(frozen=True)
class Thresholds:
    min_ssim: float | None = None
    min_psnr_db: float | None = None
    max_seconds: float | None = None
    max_cost: float | None = None
    # Who set each value: "default", "models.yaml" or "command line"; one not named here
    # was given by the caller, and gates like a user's.
    sources: dict[str, str] = field(default_factory=dict)

    def source(self, name: str) -> str:
        return self.sources.get(name, "given")

    def gates(self, name: str) -> bool:
        return self.source(name) != DEFAULT

    def missed(
        self,
        scores: list[tuple[str, float | None, float | None]],
        med_seconds: float | None,
        med_dollars: float | None,
    ) -> list[tuple[str, bool]]:
        """What missed which threshold, each with whether it gates: ``scores`` are (case,
        SSIM, PSNR) against the baseline (none for the baseline itself)."""
        missed = []
        for case, ssim, psnr in scores:
            if self.min_ssim is not None and ssim is not None and ssim < self.min_ssim:
                missed.append((f"{case}: SSIM {ssim:.4f} < {self.min_ssim:g}", "min_ssim"))
            low = self.min_psnr_db
            if low is not None and psnr is not None and psnr < low:
                missed.append((f"{case}: PSNR {psnr:.2f} dB < {low:g} dB", "min_psnr_db"))
        slow = self.max_seconds
        if slow is not None and med_seconds is not None and med_seconds > slow:
            missed.append((f"median {med_seconds:.3f} s per job > {slow:g} s", "max_seconds"))
        dear = self.max_cost
        if dear is not None and med_dollars is not None and med_dollars > dear:
            missed.append((f"median ${med_dollars:.6f} per job > ${dear:g}", "max_cost"))
        return [(text, self.gates(name)) for text, name in missed]

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in THRESHOLD_NAMES} | {
            "sources": {
                name: self.source(name)
                for name in THRESHOLD_NAMES
                if getattr(self, name) is not None
            }
        }


def resolve_thresholds(
    command_line: dict[str, float | None], models_yaml: dict[str, float | None]
) -> Thresholds:
    """The command line over models.yaml over the defaults, each value with its source."""
    defaults: dict[str, float | None] = {
        "min_ssim": DEFAULT_MIN_SSIM,
        "min_psnr_db": DEFAULT_MIN_PSNR_DB,
    }
    values: dict[str, float | None] = {}
    sources: dict[str, str] = {}
    for name in THRESHOLD_NAMES:
        for source, given in (
            ("command line", command_line),
            ("models.yaml", models_yaml),
            (DEFAULT, defaults),
        ):
            if given.get(name) is not None:
                values[name], sources[name] = given[name], source
                break
    return Thresholds(
        min_ssim=values.get("min_ssim"),
        min_psnr_db=values.get("min_psnr_db"),
        max_seconds=values.get("max_seconds"),
        max_cost=values.get("max_cost"),
        sources=sources,
    )
