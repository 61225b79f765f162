"""Pure decisions about an image: its tags, and what models it carries.

No Docker, no network: the commands feed these functions lock entries and labels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from imagebuilder.image.layers import MODEL_LABEL_PREFIX, plan_layers
from imagebuilder.project.config import Config
from imagebuilder.project.lock import Lock

CONTENT_HASH_LABEL = "io.imagebuilder.content-hash"
RECORD_FIELDS = ("repo", "file", "commit", "sha256", "size", "destination")


def image_tags(content_tag: str, user_tags: list[str]) -> list[str]:
    """The content tag first (it names the build), then the user's, without repeats."""
    return list(dict.fromkeys([content_tag, *user_tags]))


ModelRecords = dict[str, dict[str, Any]]


def records_from_labels(labels: dict[str, str]) -> ModelRecords:
    """The models an image carries, read from its io.imagebuilder.model.* labels."""
    records: ModelRecords = {}
    for key, value in labels.items():
        if not key.startswith(MODEL_LABEL_PREFIX):
            continue
        try:
            data = json.loads(value)
        except (ValueError, RecursionError):  # also deep nesting, 5000-digit numbers
            continue  # a hostile or foreign label: not ours to interpret
        if isinstance(data, dict):
            records[key.removeprefix(MODEL_LABEL_PREFIX)] = {
                field: data.get(field) for field in RECORD_FIELDS
            }
    return records


def records_from_lock(config: Config, lock: Lock) -> ModelRecords:
    layers = plan_layers(config, lock, lambda repo, path, commit: "")
    return {layer.name: layer.record() for layer in layers}


@dataclass(frozen=True)
class ModelChange:
    name: str
    kind: str  # added | removed | changed
    fields: dict[str, tuple[Any, Any]]  # field -> (left, right)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "fields": {key: {"left": a, "right": b} for key, (a, b) in self.fields.items()},
        }


def diff_records(left: ModelRecords, right: ModelRecords) -> list[ModelChange]:
    changes = []
    for name in sorted(left.keys() | right.keys()):
        if name not in right:
            changes.append(ModelChange(name, "removed", {}))
        elif name not in left:
            changes.append(ModelChange(name, "added", {}))
        else:
            fields = {
                field: (left[name].get(field), right[name].get(field))
                for field in RECORD_FIELDS
                if left[name].get(field) != right[name].get(field)
            }
            if fields:
                changes.append(ModelChange(name, "changed", fields))
    return changes
