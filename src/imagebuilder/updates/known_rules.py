"""`updates:` rules for model files whose release naming is known (Qwen-Image, Lightning).

Pure data and one function. The import-template command passes it to
comfy.import_template, which adds these rules so an imported stack gets
the same check-updates behaviour as the shipped one: newer Qwen-Image-Edit releases
(YYMM version tokens, precision confirmed from the header) and the Lightning LoRA
following its base to a new version. A file outside these families gets no rule.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from imagebuilder.project.config import Role
from imagebuilder.project.precision import PrecisionFamily
from imagebuilder.updates.releases import parse_release

# Releases in Comfy-Org's repackaged repos: qwen_image_edit[_YYMM]_<precision>; no version
# token = the first release. Written out as the shipped models.yaml spells it.
EDIT_PATTERN = (
    r"split_files/diffusion_models/qwen_image_edit_(?:(?P<version>\d{4})_)?"
    r"(?P<precision>[a-z0-9_]+)\.safetensors$"
)
# Text-to-image releases: qwen_image[_YYMM]_<precision>, never an Edit file.
IMAGE_PATTERN = (
    r"split_files/diffusion_models/qwen_image_(?!edit_)(?:(?P<version>\d{4})_)?"
    r"(?P<precision>[a-z0-9_]+)\.safetensors$"
)
# lightx2v's Lightning LoRAs for an Edit base: the base's YYMM, steps, LoRA version.
EDIT_LIGHTNING_PATTERN = (
    r"Qwen-Image-Edit-(?P<base_version>\d{4})-Lightning-(?P<steps>\d+)steps-"
    r"V(?P<lora_version>\d+(?:\.\d+)*)-(?P<precision>bf16|fp32)\.safetensors$"
)
LIGHTNING_SEARCH = {"author": "lightx2v", "search": "Qwen-Image"}
_RULE_PRECISIONS = {"fp8", "bf16", "fp16", "fp32"}


class KnownFile(Protocol):
    """What import-template knows of one entry: enough to pick a rule."""

    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def file(self) -> str | None: ...


def _precision(pattern: str, file: str) -> str:
    release = parse_release(re.compile(pattern), "", file)
    family = release.family if release is not None else PrecisionFamily.UNKNOWN
    return family.value if family.value in _RULE_PRECISIONS else "any"


def _base_rule(file: str) -> dict[str, Any] | None:
    for pattern in (EDIT_PATTERN, IMAGE_PATTERN):
        if re.search(pattern, file):
            return {"pattern": pattern, "precision": _precision(pattern, file)}
    return None


def update_rules(entries: Sequence[KnownFile]) -> dict[str, dict[str, Any]]:
    """Entry name -> the `updates:` mapping for it, for the files whose naming is known.

    A Lightning Edit LoRA follows the Edit diffusion model when the stack has one, and
    finds lightx2v's per-release repos (Qwen-Image-Edit-2511-Lightning, ...) by search.
    """
    rules: dict[str, dict[str, Any]] = {}
    edit_bases = []
    for entry in entries:
        if entry.role == Role.DIFFUSION_MODEL.value and entry.file:
            rule = _base_rule(entry.file)
            if rule is not None:
                rules[entry.name] = rule
                edit_bases += [entry.name] if rule["pattern"] == EDIT_PATTERN else []
    for entry in entries:
        if entry.role != Role.LORA.value or not entry.file or len(edit_bases) != 1:
            continue
        if re.search(EDIT_LIGHTNING_PATTERN, entry.file):
            rules[entry.name] = {
                "pattern": EDIT_LIGHTNING_PATTERN,
                "follows": edit_bases[0],
                "search": [dict(LIGHTNING_SEARCH)],
            }
    return rules
