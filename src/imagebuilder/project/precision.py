"""The one precision vocabulary: the family a file's weights belong to (fp8, bf16, ...).

A file name's token claims one (``updates.releases.precision_family``), a safetensors
header proves one (``weights.inspection.Precision.family``), and an update rule asks for
one (``precision:`` in models.yaml, read with ``wanted_precision``); all three speak
this enum, so they are compared as values, never as strings.
"""

from __future__ import annotations

from enum import StrEnum


class PrecisionFamily(StrEnum):
    """What a precision token in a file name claims; the header has the final word."""

    FP8 = "fp8"
    BF16 = "bf16"
    FP16 = "fp16"
    FP32 = "fp32"
    INT8 = "int8"
    INT4 = "int4"
    GGUF = "gguf"
    UNKNOWN = "unknown"


def wanted_precision(rule_precision: str) -> PrecisionFamily | None:
    """An update rule's ``precision`` as a family; None for ``any``."""
    return None if rule_precision == "any" else PrecisionFamily(rule_precision)
