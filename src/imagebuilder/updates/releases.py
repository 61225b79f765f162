"""Release tokens in file names: which file is a newer release of a pinned one.

Pure functions. An entry's ``updates.pattern`` is a regular expression whose named
groups give meaning to parts of a path: ``version`` (a release token such as 2509,
compared numerically; a name without one is the first release), ``precision``
(fp8_e4m3fn, bf16, ...), ``steps`` and ``lora_version`` (LoRAs), ``base_version`` (the
base a LoRA belongs to). File names come from the Hub, so every token is checked
before it is used: a group that does not hold a number makes the file no candidate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imagebuilder.project.precision import PrecisionFamily

FIRST_RELEASE = 0  # a name without a version token is the first release: older than any
_MAX_NUMBER_DIGITS = 9  # tokens are dates (2509) or small counts; longer is not a token
_MAX_VERSION_PARTS = 4  # V1.0, V2.1.3; more parts is not a version


# Checked in order: "fp8mixed" must not fall through to a later rule, "int8_convrot" is
# INT8 (not FP8) although it is a quantized release too.
_FAMILY_RULES: tuple[tuple[re.Pattern[str], PrecisionFamily], ...] = (
    (re.compile(r"gguf|q[2-8]_k|q[48]_0"), PrecisionFamily.GGUF),
    (re.compile(r"fp8|float8|e4m3|e5m2|f8_"), PrecisionFamily.FP8),
    (re.compile(r"int8|i8|w8a8"), PrecisionFamily.INT8),
    (re.compile(r"int4|nf4|fp4|nvfp4|mxfp4"), PrecisionFamily.INT4),
    (re.compile(r"bf16|bfloat16"), PrecisionFamily.BF16),
    (re.compile(r"fp16|f16|half|float16"), PrecisionFamily.FP16),
    (re.compile(r"fp32|f32|float32|full"), PrecisionFamily.FP32),
)


def precision_family(token: str | None) -> PrecisionFamily:
    """The family a name's precision token claims (``fp8mixed`` -> FP8, ``int8_x`` -> INT8)."""
    if not token:
        return PrecisionFamily.UNKNOWN
    lowered = token.lower()
    for pattern, family in _FAMILY_RULES:
        if pattern.search(lowered):
            return family
    return PrecisionFamily.UNKNOWN


@dataclass(frozen=True, order=True)
class Release:
    """One file, read through an update pattern."""

    version: int
    repo: str
    path: str
    precision: str | None = None
    steps: int | None = None
    lora_version: tuple[int, ...] | None = None
    base_version: int | None = None

    @property
    def family(self) -> PrecisionFamily:
        return precision_family(self.precision)

    @property
    def lora_version_text(self) -> str | None:
        if self.lora_version is None:
            return None
        return "V" + ".".join(str(part) for part in self.lora_version)


def _number(text: str | None) -> int | None:
    if text is None or not text.isdigit() or not text.isascii():
        return None
    if len(text) > _MAX_NUMBER_DIGITS:
        return None
    return int(text)


def _dotted(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    parts = text.split(".")
    numbers = [_number(part) for part in parts]
    if len(parts) > _MAX_VERSION_PARTS or any(n is None for n in numbers):
        return None
    return tuple(n for n in numbers if n is not None)


class _NotAToken(ValueError):
    pass


def _group(match: re.Match[str], name: str) -> str | None:
    return match.groupdict().get(name)


def parse_release(pattern: re.Pattern[str], repo: str, path: str) -> Release | None:
    """The release a path names, or None when the pattern does not match or a token is bad."""
    match = pattern.search(path)
    if match is None:
        return None
    try:
        return Release(
            version=_token(match, "version", default=FIRST_RELEASE),
            repo=repo,
            path=path,
            precision=_group(match, "precision"),
            steps=_optional_token(match, "steps"),
            lora_version=_optional_dotted(match, "lora_version"),
            base_version=_optional_token(match, "base_version"),
        )
    except _NotAToken:
        return None


def _token(match: re.Match[str], name: str, *, default: int) -> int:
    value = _optional_token(match, name)
    return default if value is None else value


def _optional_token(match: re.Match[str], name: str) -> int | None:
    text = _group(match, name)
    if text is None:
        return None
    number = _number(text)
    if number is None:
        raise _NotAToken(name)
    return number


def _optional_dotted(match: re.Match[str], name: str) -> tuple[int, ...] | None:
    text = _group(match, name)
    if text is None:
        return None
    parts = _dotted(text.lstrip("vV"))
    if parts is None:
        raise _NotAToken(name)
    return parts


def newer_base_releases(current: Release, candidates: list[Release]) -> list[list[Release]]:
    """Releases newer than ``current``, grouped by version, newest group first.

    Callers inspect one group at a time and stop at the first that holds an acceptable
    file, so header reads stay proportional to the releases of one version.
    """
    groups: dict[int, list[Release]] = {}
    for release in candidates:
        if release.version > current.version:
            groups.setdefault(release.version, []).append(release)
    return [sorted(groups[v], key=lambda r: (r.repo, r.path)) for v in sorted(groups, reverse=True)]


def _same_lora_line(current: Release, candidate: Release, base_version: int | None) -> bool:
    return (
        candidate.base_version == base_version
        and candidate.steps == current.steps
        and (candidate.precision or "") == (current.precision or "")
    )


def lora_for_base(
    current: Release, candidates: list[Release], base_version: int | None
) -> Release | None:
    """The LoRA for ``base_version`` with the pinned step count and precision.

    The pinned LoRA version when the base has one, else the newest: a newer LoRA
    version is offered separately (``newer_lora_version``), never slipped in.
    """
    fitting = [r for r in candidates if _same_lora_line(current, r, base_version)]
    same_version = [r for r in fitting if r.lora_version == current.lora_version]
    return max(same_version or fitting, key=_lora_rank, default=None)


def newer_lora_version(
    reference: Release, candidates: list[Release], base_version: int | None
) -> Release | None:
    """The newest LoRA for the base, same steps and precision, newer than ``reference``."""
    if reference.lora_version is None:
        return None
    fitting = [
        r
        for r in candidates
        if _same_lora_line(reference, r, base_version)
        and r.lora_version is not None
        and r.lora_version > reference.lora_version
    ]
    return max(fitting, key=_lora_rank, default=None)


def fewer_step_loras(
    current: Release, candidates: list[Release], base_version: int | None
) -> list[Release]:
    """Cheaper LoRAs for the base: fewer steps, same precision; newest of each step count.
    ``base_version`` None: LoRA names without a base version (Wan's lightx2v LoRAs)."""
    if current.steps is None:
        return []
    best: dict[int, Release] = {}
    for r in candidates:
        if (
            r.base_version == base_version
            and r.steps is not None
            and r.steps < current.steps
            and (r.precision or "") == (current.precision or "")
        ):
            kept = best.get(r.steps)
            if kept is None or _lora_rank(r) > _lora_rank(kept):
                best[r.steps] = r
    return [best[steps] for steps in sorted(best, reverse=True)]


def _lora_rank(release: Release) -> tuple[tuple[int, ...], str, str]:
    return (release.lora_version or (), release.repo, release.path)
