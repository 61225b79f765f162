"""Load models.yaml into a ``Config``, turning every problem into a line-numbered message."""

from __future__ import annotations

import difflib
import types
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from imagebuilder.errors import ConfigError, ConfigErrors
from imagebuilder.project.atomic import clean_stale_temp_files_in
from imagebuilder.project.config import Config
from imagebuilder.project.entries import entry_problems
from imagebuilder.project.paths import DEFAULT_CONFIG
from imagebuilder.project.variants import variant_problems
from imagebuilder.project.yamlsource import KeyPath, YamlSource, load_yaml

Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    source: YamlSource

    @property
    def path(self) -> Path:
        return self.source.path

    def where(self, key_path: KeyPath) -> str:
        return self.source.where(key_path)


def plain_data(node: Any) -> Any:
    """ruamel's commented containers -> plain dicts and lists for pydantic."""
    if isinstance(node, CommentedMap | dict):
        return {
            str(key) if not isinstance(key, str) else key: plain_data(v) for key, v in node.items()
        }
    if isinstance(node, CommentedSeq | list):
        return [plain_data(item) for item in node]
    return node


def _model_at(root: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The pydantic model class that owns the last key of ``loc``, for 'did you mean'."""
    model: Any = root
    for key in loc[:-1]:
        if isinstance(model, type) and issubclass(model, BaseModel):
            field = model.model_fields.get(str(key))
            if field is None:
                return None
            model = _unwrap_optional(field.annotation)
        else:  # dict[str, Model] / tuple[Model, ...]: step through to the value type
            args = [arg for arg in getattr(model, "__args__", ()) if arg is not Ellipsis]
            model = _unwrap_optional(args[-1]) if args else None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap_optional(annotation: Any) -> Any:
    """``Model | None`` -> ``Model``; anything else unchanged."""
    if isinstance(annotation, types.UnionType):
        for arg in annotation.__args__:
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
    return annotation


def _message(error: Any, root: type[BaseModel]) -> tuple[str, str | None]:
    kind = error["type"]
    loc = error["loc"]
    key = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        owner = _model_at(root, loc)
        known = list(owner.model_fields) if owner else []
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else None
        if known and not close:
            hint = f"known keys here: {', '.join(known)}"
        return f"unknown key {key!r}", hint
    if kind == "missing":
        return f"missing required key {key!r}", None
    text = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        text = f"{text} (got {type(value).__name__} {value!r})"
    return text, None


def schema_problems(
    error: ValidationError, source: YamlSource, root: type[BaseModel] = Config
) -> list[ConfigError]:
    """One line-numbered ConfigError per pydantic error; ``root`` is the file's model
    (Config for models.yaml; other YAML files of the project reuse this)."""
    problems = []
    for item in error.errors():
        loc = tuple(part for part in item["loc"] if not str(part).startswith("function-"))
        text, hint = _message(item, root)
        key_path = ".".join(str(part) for part in loc) or "(top level)"
        line = source.line_of(loc)
        problems.append(
            ConfigError(
                f"{key_path}: {text}",
                location=source.where(loc),
                hint=hint,
                line=line,
                file=str(source.path),
            )
        )
    return problems


def _semantic_problems(config: Config, source: YamlSource) -> list[ConfigError]:
    problems: list[ConfigError] = []

    def problem(key_path: KeyPath, message: str, hint: str) -> None:
        problems.append(
            ConfigError(
                f"{'.'.join(map(str, key_path))}: {message}",
                location=source.where(key_path),
                hint=hint,
                line=source.line_of(key_path),
                file=str(source.path),
            )
        )

    by_destination: dict[str, list[str]] = defaultdict(list)
    for name, entry in config.models.items():
        by_destination[entry.destination].append(name)
        follows = entry.updates.follows if entry.updates else None
        if follows is not None and follows not in config.models:
            problem(
                ("models", name, "updates", "follows"),
                f"follows {follows!r}, which is not an entry",
                f"name one of: {', '.join(config.models)}",
            )
    for destination, names in by_destination.items():
        for name in names[1:]:
            problem(
                ("models", name, "file"),
                f"destination models/{destination} is already used by entry {names[0]!r}",
                "give one of them another 'filename' or 'folder'",
            )
    for name, entry in config.models.items():
        for key_path, message, hint in entry_problems(config, name, entry):
            problem(key_path, message, hint)
    for key_path, message, hint in variant_problems(config):  # variants: see variants.py
        problem(key_path, message, hint)
    return problems


def validate_document(source: YamlSource, root: type[Model], top_keys: str) -> Model:
    """The YAML document checked against ``root``: a mapping at the top (``top_keys``
    names what it holds), every schema error reported at once with its line."""
    if not isinstance(source.document, CommentedMap):
        raise ConfigError(
            f"the top level must be a mapping ({top_keys})",
            location=f"{source.path.name}:1",
            line=1,
            file=str(source.path),
        )
    try:
        return root.model_validate(plain_data(source.document))
    except ValidationError as exc:
        raise ConfigErrors(schema_problems(exc, source, root)) from None


def parse_config(source: YamlSource) -> Config:
    config = validate_document(source, Config, "version, image, models, ...")
    problems = _semantic_problems(config, source)
    if problems:
        raise ConfigErrors(problems)
    return config


def load_config(path: Path = DEFAULT_CONFIG) -> LoadedConfig:
    source = load_yaml(path)
    # A writer killed mid-write (kill -9, OOM) left its temp file: gone at the next run.
    clean_stale_temp_files_in(path.parent)
    return LoadedConfig(config=parse_config(source), source=source)
