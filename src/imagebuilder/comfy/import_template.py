"""import-template: the models.yaml entries a ComfyUI workflow needs.

The model files a workflow names come from ``template_models`` (UI or API format);
this module turns them into entries: every repo id and path re-validated with the same
rules as models.yaml, pickle formats refused, names like the shipped stack's.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from imagebuilder.comfy.nodes import LOADERS, canonical_folder
from imagebuilder.comfy.template_models import (
    TemplateModel,
    template_models,
)
from imagebuilder.project.config import ROLE_FOLDERS, Role
from imagebuilder.project.huburls import parse_file_url
from imagebuilder.project.pathrules import check_repo_path
from imagebuilder.project.yamlsource import round_trip_yaml

# "4steps", "8-step", "4steps_lora" (Wan): no letter may follow, "_" may.
_STEPS_IN_NAME = re.compile(r"(\d+)[-_ ]?steps?(?![a-z])", re.IGNORECASE)
_FOLDER_ROLE = {folder: role for role, folders in ROLE_FOLDERS.items() for folder in folders}
_NOT_NAME = re.compile(r"[^a-z0-9]+")


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


def parse_hub_url(url: str) -> tuple[str, str, str]:
    """(repo, path, revision) from https://huggingface.co/OWNER/NAME/resolve/REV/PATH: a
    template names the public Hub, over https only."""
    if urlsplit(url).scheme != "https":
        raise ValueError(f"{url!r} is not a Hugging Face file URL (https only)")
    found = parse_file_url(url)
    return found.repo, found.path, found.revision


def _role_for(model: TemplateModel) -> Role | None:
    loader = LOADERS.get(model.loader)
    if loader is not None:
        return loader.role
    return _FOLDER_ROLE.get(model.folder)


def _distilled_steps(role: Role, file_name: str) -> int | None:
    match = _STEPS_IN_NAME.search(file_name) if role is Role.LORA else None
    return int(match.group(1)) if match else None


def _entry_name(role: Role, alone: bool, taken: set[str], file_name: str) -> str:
    """The shipped stack's names (diffusion_model, text_encoder, vae, lightning_lora) for
    the one entry of a role; with several of a role, each is named after its file
    (clip_l, t5xxl_fp8_e4m3fn_scaled), which is what a template's placeholder then says."""
    if alone:
        base = role.value
        if role is Role.LORA and "lightning" in file_name.lower():
            base = "lightning_lora"
    else:
        stem = _NOT_NAME.sub("_", PurePosixPath(file_name).stem.lower()).strip("_")
        base = stem if stem[:1].isalpha() else f"{role.value}_{stem}"
        base = base[:56].rstrip("_")
        if base in {r.value for r in Role} and base != role.value:
            base = f"{role.value}_{base}"
    name, number = base, 1
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
        # UI widgets store 1.0000000000000002 and the like: 6 places are what a user set.
        strength=round(model.strength, 6) if role is Role.LORA and model.strength else None,
    )


# Entry name -> `updates:` rule for the entries whose release naming is known. Passed in
# (updates.known_rules.update_rules) so this package stays below updates/.
UpdateRules = Callable[[Sequence["ImportedEntry"]], dict[str, dict[str, Any]]]


def import_workflow(
    document: Any, source: str, update_rules: UpdateRules | None = None
) -> ImportResult:
    kind, models = template_models(document)
    unique: dict[tuple[str, str], tuple[TemplateModel, list[str]]] = {}
    for model in models:
        key = (canonical_folder(model.folder), model.name)
        unique.setdefault(key, (model, []))[1].append(model.node)
    entries: list[ImportedEntry] = []
    skipped: list[str] = []
    roles: dict[tuple[str, str], Role] = {}
    for key, (model, _nodes) in unique.items():
        role = _role_for(model)
        if role is None:
            skipped.append(f"{key[0]}/{key[1]}: no imagebuilder role for models/{key[0]}")
        else:
            roles[key] = role
    per_role = Counter(roles.values())
    for key, role in roles.items():
        model, nodes = unique[key]
        try:
            taken = {e.name for e in entries}
            name = _entry_name(role, per_role[role] == 1, taken, model.name)
            entries.append(_to_entry(model, role, name, nodes))
        except ValueError as exc:
            skipped.append(f"{key[0]}/{key[1]}: {exc}")
    rules = update_rules(entries) if update_rules else {}
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
            f"# updates: rules for {', '.join(ruled)} (known release names: "
            "`imagebuilder check-updates` finds newer ones)"
        )
    header += [f"# skipped: {reason}" for reason in result.skipped]
    return "\n".join(header) + "\n" + buffer.getvalue()
