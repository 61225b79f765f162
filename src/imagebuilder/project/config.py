"""The models.yaml schema: what the image holds, where it comes from, how it updates.

Pure data: pydantic models with strict, forbidding validation. Loading, line numbers
and friendly messages live in ``project.load``; this module only says what is valid.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import PurePosixPath
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from imagebuilder.project.abtest_settings import AbTestThresholds
from imagebuilder.project.cost_settings import CostSettings
from imagebuilder.project.engine import EngineSettings
from imagebuilder.project.pathrules import (
    check_container_root,
    check_dest_filename,
    check_repo_path,
)
from imagebuilder.project.start_settings import StartSettings
from imagebuilder.project.strict import Strict
from imagebuilder.project.values import (
    check_image_ref,
    check_pinned_image,
    check_regex,
    check_repo_id,
    check_revision,
)

RepoId = Annotated[str, AfterValidator(check_repo_id)]
Revision = Annotated[str, AfterValidator(check_revision)]
RepoPath = Annotated[str, AfterValidator(check_repo_path)]
DestFilename = Annotated[str, AfterValidator(check_dest_filename)]
ContainerRoot = Annotated[str, AfterValidator(check_container_root)]
ImageRef = Annotated[str, AfterValidator(check_image_ref)]
PinnedImageRef = Annotated[str, AfterValidator(check_pinned_image)]
Regex = Annotated[str, AfterValidator(check_regex)]
EntryName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class Role(StrEnum):
    """What a file is to ComfyUI: one role per model folder ComfyUI has (folder_paths)."""

    CHECKPOINT = "checkpoint"
    DIFFUSION_MODEL = "diffusion_model"
    TEXT_ENCODER = "text_encoder"
    VAE = "vae"
    VAE_APPROX = "vae_approx"
    LORA = "lora"
    CLIP_VISION = "clip_vision"
    CONTROLNET = "controlnet"
    STYLE_MODEL = "style_model"
    GLIGEN = "gligen"
    UPSCALE_MODEL = "upscale_model"
    MODEL_PATCH = "model_patch"
    HYPERNETWORK = "hypernetwork"
    EMBEDDING = "embedding"
    PHOTOMAKER = "photomaker"
    AUDIO_ENCODER = "audio_encoder"


# ComfyUI model folders (under models/) each role may use; legacy aliases included.
ROLE_FOLDERS: dict[Role, frozenset[str]] = {
    Role.CHECKPOINT: frozenset({"checkpoints"}),
    Role.DIFFUSION_MODEL: frozenset({"diffusion_models", "unet"}),
    Role.TEXT_ENCODER: frozenset({"text_encoders", "clip"}),
    Role.VAE: frozenset({"vae"}),
    Role.VAE_APPROX: frozenset({"vae_approx"}),
    Role.LORA: frozenset({"loras"}),
    Role.CLIP_VISION: frozenset({"clip_vision"}),
    Role.CONTROLNET: frozenset({"controlnet", "t2i_adapter"}),
    Role.STYLE_MODEL: frozenset({"style_models"}),
    Role.GLIGEN: frozenset({"gligen"}),
    Role.UPSCALE_MODEL: frozenset({"upscale_models"}),
    Role.MODEL_PATCH: frozenset({"model_patches"}),
    Role.HYPERNETWORK: frozenset({"hypernetworks"}),
    Role.EMBEDDING: frozenset({"embeddings"}),
    Role.PHOTOMAKER: frozenset({"photomaker"}),
    Role.AUDIO_ENCODER: frozenset({"audio_encoders"}),
}

# Roles whose files a LoRA can patch (its `base`).
BASE_ROLES = frozenset({Role.DIFFUSION_MODEL, Role.CHECKPOINT})


class RepoSearch(Strict):
    """A Hub model search that discovers candidate repos (author + name substring)."""

    author: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
    """Hub user or organisation whose repos are searched."""
    search: str = Field(min_length=1, max_length=96)
    """Substring of the repo name, as the Hub's model search matches it."""


class UpdateRule(Strict):
    """Which files count as a newer release of an entry (how `check-updates` finds them).

    ``pattern`` is a regular expression searched in each file path of the candidate
    repos. Named groups give meaning: ``version`` (a release token such as 2509, compared
    numerically; no match = oldest), ``precision`` (fp8_e4m3fn, bf16, ...), ``steps`` and
    ``lora_version`` for LoRAs, ``base_version`` for the base a LoRA belongs to.
    """

    pattern: Regex
    """Regular expression with the named groups above, searched in each file path."""
    precision: str = Field(default="any", pattern=r"^(any|fp8|bf16|fp16|fp32)$")
    """Only candidates whose safetensors header has this precision (fp8: read from the
    header, not the name)."""
    # YAML has lists, not tuples: accept a list here (strict mode would refuse it).
    repos: tuple[RepoId, ...] = Field(default=(), strict=False)
    """More repos to look in, besides the entry's own."""
    search: tuple[RepoSearch, ...] = Field(default=(), strict=False)
    """Hub model searches that discover more repos to look in."""
    follows: EntryName | None = None
    """For a LoRA: the base entry it follows to new versions (same steps and precision)."""
    alternatives: Literal["option", "change", "off"] = "option"
    """For a diffusion model: the same release in a better FP8 form (scaled or mixed where
    the pin is plain FP8) is reported as an option, proposed as a change (when `pattern`
    matches its path), or not looked for. Fused base+LoRA files are always options."""


class ModelEntry(Strict):
    """One file of the image: where it comes from and where ComfyUI finds it."""

    role: Role = Field(strict=False)  # YAML gives a string; strict mode wants the enum
    """What the file is: one role per ComfyUI model folder; any number of entries each
    (Flux's two text encoders, Wan 2.2's high- and low-noise diffusion models)."""
    repo: RepoId
    """Hub repo id `owner/name` (letters, digits, `.`, `_`, `-`; no `--` or `..`)."""
    file: RepoPath
    """Path in the repo: relative, no `..`, `.safetensors` only (pickle formats refused)."""
    revision: Revision = "main"
    """Branch, tag or 40-hex commit to resolve; the lock pins the commit."""
    folder: str = Field(pattern=r"^[a-z_]+$")
    """ComfyUI folder under models/; must fit the role (e.g. loras for a lora)."""
    filename: DestFilename | None = Field(default=None, pattern=r"^[A-Za-z0-9._+-]{1,200}$")
    """Name in the ComfyUI folder; unset: the file's base name."""
    distilled_steps: int | None = Field(default=None, ge=1, le=100)
    """LoRAs: the step count the LoRA was distilled for (workflows are checked against it)."""
    strength: float = Field(default=1.0, ge=-10, le=10)
    """LoRAs: the loader's strength_model."""
    base: EntryName | None = None
    """LoRAs: the diffusion_model or checkpoint entry the LoRA patches (Wan 2.2: the
    high-noise LoRA on the high-noise model); unset: its `updates.follows`, else the only
    base. Workflows must apply it to that model; `verify` checks the shapes fit."""
    updates: UpdateRule | None = None
    """How `check-updates` finds newer releases; unset: content changes only."""

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
    """Denoising steps (a Lightning LoRA wants its distilled_steps)."""
    cfg: float = Field(default=1.0, ge=0, le=30)
    """Guidance scale; 1 skips the unconditional pass (one transformer pass a step)."""
    sampler_name: str = Field(default="euler", pattern=r"^[a-z0-9_]+$")
    """KSampler sampler name."""
    scheduler: str = Field(default="simple", pattern=r"^[a-z0-9_]+$")
    """KSampler scheduler name."""
    denoise: float = Field(default=1.0, ge=0, le=1)
    """KSampler denoise."""
    shift: float = Field(default=3.0, ge=0, le=100)
    """ModelSamplingAuraFlow shift."""


class Registry(Strict):
    """Per-registry limits checked before anything is built or pushed."""

    max_layer_bytes: int = Field(gt=0, le=2**50)  # a PiB: past any registry's limit
    """Largest layer this registry accepts (GHCR: 10 GB, its default when unset)."""


class ImageSettings(Strict):
    """The image: its name, its base and what it must run on."""

    name: ImageRef
    """Image repository to build and publish, e.g. ghcr.io/example/worker."""
    base: PinnedImageRef
    """Base image pinned by digest: `name[:tag]@sha256:<64 hex>`."""
    comfyui_root: ContainerRoot = Field(default="/comfyui", pattern=r"^/[A-Za-z0-9._/-]{0,200}$")
    """Where ComfyUI lives in the base image; models go to its models/ folder."""
    gpu_memory_gb: float = Field(gt=0, le=1024)
    """GPU memory of the smallest card the worker runs on, in GiB (`verify`'s budget)."""
    registries: dict[str, Registry] = Field(default_factory=dict)
    """Limits per registry host."""
    comfyui: EngineSettings | None = None
    """Which ComfyUI the image runs (the engine); unset: not pinned, nothing checks that
    the image's ComfyUI can load the files (docs/engine.md)."""


class SamplerOverride(Strict):
    """A variant's changes to the KSampler settings; unset fields keep the stack's."""

    steps: int | None = Field(default=None, ge=1, le=200)
    """As sampler.steps."""
    cfg: float | None = Field(default=None, ge=0, le=30)
    """As sampler.cfg."""
    sampler_name: str | None = Field(default=None, pattern=r"^[a-z0-9_]+$")
    """As sampler.sampler_name."""
    scheduler: str | None = Field(default=None, pattern=r"^[a-z0-9_]+$")
    """As sampler.scheduler."""
    denoise: float | None = Field(default=None, ge=0, le=1)
    """As sampler.denoise."""
    shift: float | None = Field(default=None, ge=0, le=100)
    """As sampler.shift."""


class Variant(Strict):
    """One arm of an A/B test: an image tagged by the variant's name."""

    baseline: bool = False
    """The variant `cost` compares the others with (default: the first)."""
    description: str = Field(default="", max_length=200)
    """Free text for people."""
    sampler: SamplerOverride = SamplerOverride()
    """Sampler fields this variant changes."""
    lora: EntryName | None = None
    """The LoRA entry (in models:) this variant loads, e.g. the 8-step release; unset: the
    LoRA entries no variant claims. Every variant's image holds only its own LoRA."""
    diffusion_model: EntryName | None = None
    """The diffusion model entry this variant loads, e.g. a scaled-FP8 copy of the same
    base; unset: the diffusion model entries no variant claims."""


# Variant names become image tags: keep them tag-safe and short.
VariantName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


class Config(Strict):
    """models.yaml."""

    version: int = Field(ge=1, le=1)
    """Format version; 1."""
    image: ImageSettings
    """The image and its base."""
    models: dict[EntryName, ModelEntry] = Field(min_length=1)
    """The files the image holds, by entry name (lower_snake_case, stable across updates)."""
    sampler: Sampler = Sampler()
    """KSampler settings the workflows are rendered with."""
    variants: dict[VariantName, Variant] = Field(default_factory=dict)
    """A/B variants, each built as its own image; names become tags."""
    cost: CostSettings | None = None
    """Inputs of `imagebuilder cost`."""
    test: AbTestThresholds | None = None
    """Thresholds of `imagebuilder test` (which variant it recommends)."""
    start: StartSettings | None = None
    """The image's own start path (prefetch, flags, warm-up); unset: starts as its base."""

    def entries_by_role(self, role: Role) -> list[tuple[str, ModelEntry]]:
        return [(name, entry) for name, entry in self.models.items() if entry.role is role]
