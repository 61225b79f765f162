"""models.yaml's `test:` section: the thresholds `imagebuilder test` decides with."""

from __future__ import annotations

from pydantic import Field

from imagebuilder.project.strict import Strict


class AbTestThresholds(Strict):
    """Thresholds of `imagebuilder test`; each option on the command line wins. A value set
    here is also a gate: a variant that misses it fails the run (exit 13)."""

    min_ssim: float | None = Field(default=None, ge=0, le=1)
    """Lowest SSIM against the baseline any case may have (default 0.90)."""
    min_psnr_db: float | None = Field(default=None, ge=0, le=100)
    """Lowest PSNR in dB against the baseline any case may have (default 25)."""
    max_seconds: float | None = Field(default=None, gt=0, le=86400)
    """Highest median execution seconds per job (default: none)."""
    max_cost: float | None = Field(default=None, gt=0, le=1000)
    """Highest median dollars per job; needs cost.price_per_hour (default: none)."""
