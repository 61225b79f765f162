"""The model architectures imagebuilder recognises from a header, as data.

Each family is told by the tensor names ComfyUI's own ``model_detection`` (diffusion
models), ``sd.py`` (text encoders) and VAE loader look for, and sized by the tensor
shapes they read. A family also says which module names its LoRAs target, so a LoRA for
another family is named as such rather than as hundreds of missing weights.
docs/inspection.md renders this table; tests build headers of each layout.
"""

from __future__ import annotations

import re

from imagebuilder.weights.families import FAMILIES
from imagebuilder.weights.family_types import Family, Shapes, VariantRule

__all__ = ["FAMILIES", "Family", "detect", "knob_values", "lora_family", "variant_of"]


def _count(shapes: Shapes, prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    return len({m.group(1) for key in shapes if (m := pattern.match(key))})


BY_NAME = {family.name: family for family in FAMILIES}


def detect(shapes: Shapes) -> Family | None:
    """The first family whose marker tensors are all present (ComfyUI's order of tests)."""
    for family in FAMILIES:
        if not all(key in shapes for key in family.requires):
            continue
        if family.shape_rank is not None:
            key, rank = family.shape_rank
            if len(shapes[key]) != rank:
                continue
        return family
    return None


def variant_of(family: Family, shapes: Shapes) -> VariantRule | None:
    return next((rule for rule in family.variants if rule.matches(shapes)), None)


def knob_values(family: Family, shapes: Shapes) -> dict[str, int]:
    values: dict[str, int] = {}
    for knob in family.knobs:
        found = shapes.get(knob.key, ())
        if len(found) > knob.dim:
            values[knob.field] = found[knob.dim] // knob.divide
    if family.blocks is not None:
        values["layers"] = _count(shapes, family.blocks)
    return values


def lora_family(modules: tuple[str, ...] | list[str]) -> Family | None:
    """The family whose LoRA module names these targets match (most matches wins)."""
    best, best_count = None, 0
    for family in FAMILIES:
        if family.lora_modules is None:
            continue
        pattern = re.compile(family.lora_modules)
        count = sum(1 for module in modules if pattern.match(module))
        if count > best_count:
            best, best_count = family, count
    return best
