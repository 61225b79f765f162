"""The sample cases file (samples/cases.yaml): inputs, edit prompt and seed per case.

Read as hostile input with the project's YAML loader (line numbers, no aliases, size
limit). Image paths are relative to the cases file and may not leave its folder, so a
cases file from a pull request cannot make the runner upload files from elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from imagebuilder.errors import ConfigError, ConfigErrors
from imagebuilder.project.load import validate_document
from imagebuilder.project.yamlsource import YamlSource, load_yaml

DEFAULT_CASES = Path("samples/cases.yaml")
MAX_IMAGE_BYTES = 20_000_000  # a RunPod /run body is capped at 10 MB; base64 adds a third
MAX_SEED = 2**64 - 1  # ComfyUI's KSampler seed range
_IMAGE_MAGIC = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpeg"}


def _image_format(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return next((kind for magic, kind in _IMAGE_MAGIC.items() if data.startswith(magic)), None)


MAX_IMAGES = 8


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CaseSpec(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    # Reference images, none for text-to-image: the workflow with as many LoadImage nodes
    # runs them (in node-id order).
    images: tuple[str, ...] = Field(default=(), max_length=MAX_IMAGES, strict=False)
    prompt: str = Field(min_length=1, max_length=2000)
    seed: int = Field(ge=0, le=MAX_SEED)
    workflow: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,100}$")
    description: str = Field(default="", max_length=200)


class CasesFile(_Strict):
    version: int = Field(ge=1, le=1)
    cases: tuple[CaseSpec, ...] = Field(min_length=1, max_length=100, strict=False)


@dataclass(frozen=True)
class InputImage:
    path: Path
    data: bytes
    format: str  # png, jpeg, webp

    @property
    def file_name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class Case:
    name: str
    images: tuple[InputImage, ...]
    prompt: str
    seed: int
    workflow: str | None
    description: str
    where: str  # cases.yaml:12, for messages


def _image(source: YamlSource, index: int, position: int, relative: str) -> InputImage:
    key_path = ("cases", index, "images", position)
    root = source.path.parent.resolve()
    path = (root / relative).resolve()

    def problem(message: str, hint: str) -> ConfigError:
        return ConfigError(
            f"cases[{index}].images[{position}]: {message}",
            location=source.where(key_path),
            hint=hint,
            line=source.line_of(key_path),
            file=str(source.path),
        )

    if Path(relative).is_absolute() or not path.is_relative_to(root):
        raise problem(
            f"{relative!r} is outside the cases file's folder",
            "give a path relative to the cases file, inside its folder",
        )
    if not path.is_file():
        raise problem(f"{relative!r} not found", f"expected the file at {path}")
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        raise problem(f"{relative!r} is {size} bytes", f"keep inputs under {MAX_IMAGE_BYTES}")
    data = path.read_bytes()
    kind = _image_format(data)
    if kind is None:
        raise problem(f"{relative!r} is not a PNG, JPEG or WebP image", "ComfyUI loads those")
    return InputImage(path=path, data=data, format=kind)


def _duplicates(spec: CasesFile, source: YamlSource) -> list[ConfigError]:
    seen: set[str] = set()
    problems = []
    for index, case in enumerate(spec.cases):
        if case.name in seen:
            key_path = ("cases", index, "name")
            problems.append(
                ConfigError(
                    f"cases[{index}].name: {case.name!r} is used twice",
                    location=source.where(key_path),
                    hint="give every case its own name: reports and outputs are keyed by it",
                    line=source.line_of(key_path),
                    file=str(source.path),
                )
            )
        seen.add(case.name)
    return problems


def parse_cases(source: YamlSource) -> tuple[Case, ...]:
    spec = validate_document(source, CasesFile, "version, cases")
    problems = _duplicates(spec, source)
    cases: list[Case] = []
    for index, item in enumerate(spec.cases):
        try:
            images = tuple(
                _image(source, index, position, relative)
                for position, relative in enumerate(item.images)
            )
        except ConfigError as problem:
            problems.append(problem)
            continue
        cases.append(
            Case(
                name=item.name,
                images=images,
                prompt=item.prompt,
                seed=item.seed,
                workflow=item.workflow,
                description=item.description,
                where=source.where(("cases", index)),
            )
        )
    if problems:
        raise ConfigErrors(problems)
    return tuple(cases)


def load_cases(path: Path = DEFAULT_CASES) -> tuple[Case, ...]:
    """Every case with its image bytes read; all problems reported together."""
    if not path.is_file():
        raise ConfigError(
            "cases file not found",
            location=str(path),
            hint="pass --cases FILE, or run from the repository root (samples/cases.yaml)",
            file=str(path),
        )
    return parse_cases(load_yaml(path))
