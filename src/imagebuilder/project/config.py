"""The models.yaml schema: what the image holds, where it comes from, how it updates.

Pure data: pydantic models with strict, forbidding validation. Loading, line numbers
and friendly messages live in ``project.load``; this module only says what is valid.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

# Hub repo ids: "owner/name", each part 1-96 of [A-Za-z0-9._-], no "--" or ".." (the
# Hub's own rule), so a repo id can never smuggle a path or an option into a URL.
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
# A branch, tag or commit: git ref rules, kept strict since revisions end up in URLs.
_REVISION = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)(?!.*@\{)[A-Za-z0-9._/-]{1,200}(?<![./])$")
_COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_IMAGE_REF = re.compile(
    r"^(?P<name>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
PICKLE_SUFFIXES = frozenset({".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle"})


def check_repo_id(value: str) -> str:
    if not _REPO_ID.match(value) or "--" in value or ".." in value:
        raise ValueError(
            f"{value!r} is not a Hub repo id; expected 'owner/name' "
            "(letters, digits, '.', '_', '-'; no '--' or '..')"
        )
    return value


def check_revision(value: str) -> str:
    if not _REVISION.match(value):
        raise ValueError(
            f"{value!r} is not a valid revision; use a branch or tag name such as 'main', "
            "or a 40-character commit sha"
        )
    return value


def check_repo_path(value: str) -> str:
    path = PurePosixPath(value)
    if (
        not value
        or value.startswith("/")
        or "\\" in value
        or any(part in ("", ".", "..") for part in value.split("/"))
        or any(ord(ch) < 32 or ord(ch) == 127 for ch in value)
    ):
        raise ValueError(
            f"{value!r} is not a safe relative path in the repo "
            "(no leading '/', no '..', no backslashes or control characters)"
        )
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        raise ValueError(
            f"{value!r} is a pickle-based format ({suffix}), refused: loading it can run "
            "arbitrary code; use the .safetensors release of this model"
        )
    if suffix != ".safetensors":
        raise ValueError(f"{value!r} is not a .safetensors file; only safetensors are supported")
    return value


def check_image_ref(value: str) -> str:
    if not _IMAGE_REF.match(value):
        raise ValueError(f"{value!r} is not a valid image reference")
    return value


def check_pinned_image(value: str) -> str:
    match = _IMAGE_REF.match(value)
    if not match or not match.group("digest"):
        raise ValueError(
            f"{value!r} is not pinned by digest; write it as 'name[:tag]@sha256:<64 hex>' "
            "(find the digest with `docker buildx imagetools inspect NAME:TAG`)"
        )
    return value


def check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a valid regular expression: {exc}") from None
    return value


RepoId = Annotated[str, AfterValidator(check_repo_id)]
Revision = Annotated[str, AfterValidator(check_revision)]
RepoPath = Annotated[str, AfterValidator(check_repo_path)]
ImageRef = Annotated[str, AfterValidator(check_image_ref)]
PinnedImageRef = Annotated[str, AfterValidator(check_pinned_image)]
Regex = Annotated[str, AfterValidator(check_regex)]
EntryName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class Role(StrEnum):
    DIFFUSION_MODEL = "diffusion_model"
    TEXT_ENCODER = "text_encoder"
    VAE = "vae"
    LORA = "lora"
    CLIP_VISION = "clip_vision"


# Roles a ComfyUI graph loads exactly once; several LoRAs, by contrast, are normal.
SINGLE_ROLES = frozenset({Role.DIFFUSION_MODEL, Role.TEXT_ENCODER, Role.VAE})

# ComfyUI model folders (under models/) each role may use; legacy aliases included.
ROLE_FOLDERS: dict[Role, frozenset[str]] = {
    Role.DIFFUSION_MODEL: frozenset({"diffusion_models", "unet"}),
    Role.TEXT_ENCODER: frozenset({"text_encoders", "clip"}),
    Role.VAE: frozenset({"vae"}),
    Role.LORA: frozenset({"loras"}),
    Role.CLIP_VISION: frozenset({"clip_vision"}),
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RepoSearch(Strict):
    """A Hub model search that discovers candidate repos (author + name substring)."""

    author: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
    search: str = Field(min_length=1, max_length=96)


class UpdateRule(Strict):
    """Which files count as a newer release of an entry.

    ``pattern`` is a regular expression searched in each file path of the candidate
    repos. Named groups give meaning: ``version`` (a release token such as 2509, compared
    numerically; no match = oldest), ``precision`` (fp8_e4m3fn, bf16, ...), ``steps`` and
    ``lora_version`` for LoRAs, ``base_version`` for the base a LoRA belongs to.
    """

    pattern: Regex
    precision: str = Field(default="any", pattern=r"^(any|fp8|bf16|fp16|fp32)$")
    # YAML has lists, not tuples: accept a list here (strict mode would refuse it).
    repos: tuple[RepoId, ...] = Field(default=(), strict=False)
    search: tuple[RepoSearch, ...] = Field(default=(), strict=False)
    follows: EntryName | None = None  # a LoRA follows this base entry to new versions


class ModelEntry(Strict):
    role: Role = Field(strict=False)  # YAML gives a string; strict mode wants the enum
    repo: RepoId
    file: RepoPath
    revision: Revision = "main"
    folder: str = Field(pattern=r"^[a-z_]+$")
    # Name in the ComfyUI folder; defaults to the file's base name.
    filename: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._+-]{1,200}$")
    distilled_steps: int | None = Field(default=None, ge=1, le=100)  # LoRAs: steps it targets
    strength: float = Field(default=1.0, ge=-10, le=10)  # LoRAs: strength_model
    updates: UpdateRule | None = None

    @property
    def dest_name(self) -> str:
        return self.filename or PurePosixPath(self.file).name

    @property
    def destination(self) -> str:
        """Path under ComfyUI's models/ directory."""
        return f"{self.folder}/{self.dest_name}"

    @field_validator("folder")
    @classmethod
    def _folder_fits_role(cls, folder: str, info: ValidationInfo) -> str:
        role = info.data.get("role")
        allowed = ROLE_FOLDERS.get(role) if isinstance(role, Role) else None
        if allowed is not None and folder not in allowed:
            raise ValueError(
                f"folder {folder!r} does not hold a {role}; "
                f"use one of: {', '.join(sorted(allowed))}"
            )
        return folder


class Sampler(Strict):
    """KSampler settings the worker's workflows use."""

    steps: int = Field(default=4, ge=1, le=200)
    cfg: float = Field(default=1.0, ge=0, le=30)
    sampler_name: str = Field(default="euler", pattern=r"^[a-z0-9_]+$")
    scheduler: str = Field(default="simple", pattern=r"^[a-z0-9_]+$")
    denoise: float = Field(default=1.0, ge=0, le=1)
    shift: float = Field(default=3.0, ge=0, le=100)  # ModelSamplingAuraFlow


class Registry(Strict):
    """Per-registry limits checked before anything is built or pushed."""

    max_layer_bytes: int = Field(gt=0)


class ImageSettings(Strict):
    name: ImageRef
    base: PinnedImageRef
    comfyui_root: str = Field(default="/comfyui", pattern=r"^/[A-Za-z0-9._/-]*$")
    gpu_memory_gb: float = Field(gt=0, le=1024)
    registries: dict[str, Registry] = Field(default_factory=dict)


class SamplerOverride(Strict):
    """A variant's changes to the KSampler settings; unset fields keep the stack's."""

    steps: int | None = Field(default=None, ge=1, le=200)
    cfg: float | None = Field(default=None, ge=0, le=30)
    sampler_name: str | None = Field(default=None, pattern=r"^[a-z0-9_]+$")
    scheduler: str | None = Field(default=None, pattern=r"^[a-z0-9_]+$")
    denoise: float | None = Field(default=None, ge=0, le=1)
    shift: float | None = Field(default=None, ge=0, le=100)


class Variant(Strict):
    """One arm of an A/B test: an image tagged by the variant's name."""

    baseline: bool = False  # the variant `cost` compares the others with
    description: str = Field(default="", max_length=200)
    sampler: SamplerOverride = SamplerOverride()
    # The LoRA entry (in models:) this variant loads, e.g. the 8-step release; unset =
    # the LoRA entries no variant claims. Every variant's image holds only its own LoRA.
    lora: EntryName | None = None


class CostSettings(Strict):
    """Inputs of `imagebuilder cost`: measured GPU seconds and the GPU's price."""

    gpu: str = Field(min_length=1, max_length=100)
    price_per_hour: float = Field(gt=0, le=10_000)  # dollars per GPU hour
    seconds_per_step: float = Field(gt=0, le=3600)  # one denoising step (cfg 1)
    # Per-job work that does not scale with steps: text encoding, VAE, loading, overhead.
    fixed_seconds: dict[str, float] = Field(default_factory=dict)
    source: str = Field(default="", max_length=500)  # where the numbers come from

    @model_validator(mode="after")
    def _fixed_not_negative(self) -> CostSettings:
        for part, seconds in self.fixed_seconds.items():
            if seconds < 0:
                raise ValueError(f"fixed_seconds.{part} is negative ({seconds})")
        return self


# Variant names become image tags: keep them tag-safe and short.
VariantName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


class Config(Strict):
    version: int = Field(ge=1, le=1)
    image: ImageSettings
    models: dict[EntryName, ModelEntry] = Field(min_length=1)
    sampler: Sampler = Sampler()
    variants: dict[VariantName, Variant] = Field(default_factory=dict)
    cost: CostSettings | None = None

    def entries_by_role(self, role: Role) -> list[tuple[str, ModelEntry]]:
        return [(name, entry) for name, entry in self.models.items() if entry.role is role]


def is_commit_sha(value: str) -> bool:
    return bool(_COMMIT_SHA.match(value))


def is_sha256(value: str) -> bool:
    return bool(_SHA256.match(value))
