"""import-template: the models.yaml entries a ComfyUI workflow needs.

Reads a workflow in UI format (what ComfyUI saves; the official templates carry each
loader's model name, URL and folder in ``properties.models``, also inside subgraphs)
or API format (node id -> class_type/inputs, file names only). The file is hostile
input: size-limited, parsed as JSON only, every repo id and path re-validated with
the same rules as models.yaml, pickle formats refused.
"""

from __future__ import annotations

import io
import json
import math
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from imagebuilder.comfy.known_updates import KnownFile, update_rules
from imagebuilder.comfy.nodes import LOADERS, canonical_folder, node_sort_key
from imagebuilder.errors import WorkflowError
from imagebuilder.project.config import (
    ROLE_FOLDERS,
    SINGLE_ROLES,
    Role,
    check_repo_id,
    check_revision,
)
from imagebuilder.project.pathrules import check_repo_path
from imagebuilder.project.yamlsource import round_trip_yaml

MAX_WORKFLOW_BYTES = 20_000_000
_HUB_HOST = "huggingface.co"
_STEPS_IN_NAME = re.compile(r"(\d+)[-_ ]?steps?\b", re.IGNORECASE)
_FOLDER_ROLE = {folder: role for role, folders in ROLE_FOLDERS.items() for folder in folders}
_ENTRY_NAMES = {
    Role.DIFFUSION_MODEL: "diffusion_model",
    Role.TEXT_ENCODER: "text_encoder",
    Role.VAE: "vae",
    Role.LORA: "lora",
    Role.CLIP_VISION: "clip_vision",
}


@dataclass(frozen=True)
class TemplateModel:
    """One model file a workflow loads, as the workflow states it."""

    node: str
    loader: str
    name: str  # file name in the ComfyUI folder
    folder: str
    url: str | None = None
    strength: float | None = None


@dataclass(frozen=True)
class ImportedEntry:
    name: str
    role: str
    folder: str
    file_name: str
    repo: str | None  # None: the workflow gives no URL; find the repo on the Hub
    file: str | None
    revision: str
    nodes: tuple[str, ...]
    distilled_steps: int | None = None
    strength: float | None = None
    updates: dict[str, Any] | None = None  # a rule for file names whose releases are known

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def yaml_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "role": self.role,
            "repo": self.repo,
            "file": self.file,
            "revision": self.revision,
            "folder": self.folder,
        }
        if self.file is not None and PurePosixPath(self.file).name != self.file_name:
            fields["filename"] = self.file_name
        if self.distilled_steps is not None:
            fields["distilled_steps"] = self.distilled_steps
        if self.strength is not None:
            fields["strength"] = self.strength
        if self.updates is not None:
            fields["updates"] = self.updates
        return fields


@dataclass(frozen=True)
class ImportResult:
    source: str
    format: str  # "ui" or "api"
    entries: tuple[ImportedEntry, ...]
    skipped: tuple[str, ...]  # files imagebuilder cannot hold, each with the reason

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "format": self.format,
            "entries": [entry.as_dict() for entry in self.entries],
            "skipped": list(self.skipped),
        }


def read_workflow(path: Path) -> Any:
    if not path.is_file():
        raise WorkflowError(
            "file not found",
            location=str(path),
            hint="pass a ComfyUI workflow saved as JSON (UI or API format)",
        )
    if path.stat().st_size > MAX_WORKFLOW_BYTES:
        raise WorkflowError(f"workflow is over {MAX_WORKFLOW_BYTES} bytes", location=str(path))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WorkflowError(f"not a JSON workflow: {exc}", location=str(path)) from None
    except (RecursionError, ValueError):  # nested too deep, or an integer of 5000 digits
        raise WorkflowError(
            "not a usable JSON workflow: nested too deeply or numbers too long",
            location=str(path),
        ) from None


def _ui_nodes(document: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [n for n in document.get("nodes", []) if isinstance(n, dict)]
    definitions = document.get("definitions")
    subgraphs = definitions.get("subgraphs", []) if isinstance(definitions, dict) else []
    for subgraph in subgraphs if isinstance(subgraphs, list) else []:
        if isinstance(subgraph, dict):
            nodes.extend(n for n in subgraph.get("nodes", []) if isinstance(n, dict))
    return nodes


def finite_strength(value: object) -> float | None:
    """A LoRA strength, or None for NaN, Infinity and numbers no float holds (JSON has them)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > 1e6:
        return None
    return float(value) if math.isfinite(value) else None


def _ui_models(node: dict[str, Any]) -> list[TemplateModel]:
    node_id, loader_type = str(node.get("id")), str(node.get("type"))
    widgets = node.get("widgets_values")
    widgets = widgets if isinstance(widgets, list) else []
    strength = widgets[1] if loader_type.startswith("LoraLoader") and len(widgets) > 1 else None
    strength = finite_strength(strength)
    properties = node.get("properties")
    declared = properties.get("models") if isinstance(properties, dict) else None
    if isinstance(declared, list) and declared:
        return [
            TemplateModel(
                node_id,
                loader_type,
                str(model.get("name", "")),
                str(model.get("directory", "")),
                str(model["url"]) if model.get("url") else None,
                strength,
            )
            for model in declared
            if isinstance(model, dict)
        ]
    loader = LOADERS.get(loader_type)
    if loader is None:
        return []
    names = [w for w in widgets[: len(loader.inputs)] if isinstance(w, str) and w]
    return [TemplateModel(node_id, loader_type, n, loader.folder, None, strength) for n in names]


def _api_models(document: dict[str, Any]) -> list[TemplateModel]:
    models = []
    for node_id in sorted(document, key=node_sort_key):
        node = document[node_id]
        loader = LOADERS.get(str(node.get("class_type")))
        inputs = node.get("inputs")
        if loader is None or not isinstance(inputs, dict):
            continue
        strength = inputs.get("strength_model")
        strength = finite_strength(strength)
        for input_name in loader.inputs:
            value = inputs.get(input_name)
            if isinstance(value, str) and value:
                models.append(
                    TemplateModel(
                        node_id, str(node["class_type"]), value, loader.folder, None, strength
                    )
                )
    return models


def template_models(document: Any) -> tuple[str, list[TemplateModel]]:
    """("ui" | "api", every model file the workflow loads)."""
    if isinstance(document, dict) and isinstance(document.get("nodes"), list):
        return "ui", [m for node in _ui_nodes(document) for m in _ui_models(node)]
    if isinstance(document, dict) and all(
        isinstance(node, dict) and "class_type" in node for node in document.values()
    ):
        return "api", _api_models(document)
    raise WorkflowError(
        "not a ComfyUI workflow: expected UI format (a 'nodes' list) or API format "
        "(node id -> {class_type, inputs})"
    )


def parse_hub_url(url: str) -> tuple[str, str, str]:
    """(repo, path, revision) from https://huggingface.co/OWNER/NAME/resolve/REV/PATH."""
    parts = urlsplit(url)
    segments = [unquote(s) for s in parts.path.split("/")[1:]]
    if parts.scheme != "https" or parts.hostname != _HUB_HOST or len(segments) < 5:
        raise ValueError(f"{url!r} is not a Hugging Face file URL")
    if segments[2] not in ("resolve", "blob"):
        raise ValueError(f"{url!r} is not a Hugging Face file URL (no /resolve/)")
    repo = check_repo_id(f"{segments[0]}/{segments[1]}")
    # The revision lands in models.yaml too: same rules as there (no newline, no "..").
    return repo, check_repo_path("/".join(segments[4:])), check_revision(segments[3])


def _role_for(model: TemplateModel) -> Role | None:
    loader = LOADERS.get(model.loader)
    if loader is not None and loader.role is not None:
        return loader.role
    return _FOLDER_ROLE.get(model.folder)


def _distilled_steps(role: Role, file_name: str) -> int | None:
    match = _STEPS_IN_NAME.search(file_name) if role is Role.LORA else None
    return int(match.group(1)) if match else None


def _entry_name(role: Role, taken: set[str], file_name: str) -> str:
    """The shipped stack's names: diffusion_model, text_encoder, vae, lightning_lora."""
    base, number = _ENTRY_NAMES[role], 1
    if role is Role.LORA and "lightning" in file_name.lower():
        base = "lightning_lora"
    name = base
    while name in taken:
        number += 1
        name = f"{base}_{number}"
    return name


def _to_entry(model: TemplateModel, role: Role, name: str, nodes: list[str]) -> ImportedEntry:
    repo = file = None
    revision = "main"
    if model.url:
        repo, file, revision = parse_hub_url(model.url)
    else:
        check_repo_path(model.name)  # refuses pickle formats before anything else
    return ImportedEntry(
        name=name,
        role=role.value,
        folder=canonical_folder(model.folder),
        file_name=model.name,
        repo=repo,
        file=file,
        revision=revision,
        nodes=tuple(nodes),
        distilled_steps=_distilled_steps(role, model.name),
        strength=model.strength if role is Role.LORA else None,
    )


def import_workflow(document: Any, source: str) -> ImportResult:
    kind, models = template_models(document)
    unique: dict[tuple[str, str], tuple[TemplateModel, list[str]]] = {}
    for model in models:
        key = (canonical_folder(model.folder), model.name)
        unique.setdefault(key, (model, []))[1].append(model.node)
    entries: list[ImportedEntry] = []
    skipped: list[str] = []
    for (folder, file_name), (model, nodes) in unique.items():
        role = _role_for(model)
        if role is None:
            skipped.append(f"{folder}/{file_name}: no imagebuilder role for models/{folder}")
            continue
        try:
            name = _entry_name(role, {e.name for e in entries}, model.name)
            entries.append(_to_entry(model, role, name, nodes))
        except ValueError as exc:
            skipped.append(f"{folder}/{file_name}: {exc}")
    for role in SINGLE_ROLES:
        several = [e.name for e in entries if e.role == role.value]
        if len(several) > 1:
            skipped.append(
                f"note: {len(several)} {role.value} entries ({', '.join(several)}); an image "
                "holds one: keep one, or build the others as separate stacks"
            )
    rules = update_rules([KnownFile(e.name, e.role, e.file) for e in entries])
    entries = [replace(e, updates=rules.get(e.name)) for e in entries]
    return ImportResult(source, kind, tuple(entries), tuple(skipped))


def imported_yaml(result: ImportResult) -> str:
    """The entries as a models.yaml fragment, with comments on what is missing or skipped."""
    models = {entry.name: entry.yaml_fields() for entry in result.entries}
    buffer = io.StringIO()
    round_trip_yaml().dump({"models": models}, buffer)  # keeps the entries' order
    header = [f"# models.yaml entries for {result.source} ({result.format} format)"]
    header += [
        f"# repo unknown (no URL in the workflow): {e.name}" for e in result.entries if not e.repo
    ]
    ruled = [e.name for e in result.entries if e.updates is not None]
    if ruled:
        header.append(
            f"# updates: rules for {', '.join(ruled)} (known Qwen/Lightning release names: "
            "`imagebuilder check-updates` finds newer ones)"
        )
    header += [f"# skipped: {reason}" for reason in result.skipped]
    return "\n".join(header) + "\n" + buffer.getvalue()
