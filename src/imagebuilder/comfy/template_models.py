"""The model files a ComfyUI workflow loads, as the workflow states them.

Reads a workflow in UI format (what ComfyUI saves; the official templates carry each
loader's model name, URL and folder in ``properties.models``, also inside subgraphs)
or API format (node id -> class_type/inputs, file names only). The file is hostile
input: size-limited and parsed as JSON only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imagebuilder.comfy.nodes import LOADERS, node_sort_key
from imagebuilder.errors import WorkflowError

MAX_WORKFLOW_BYTES = 20_000_000


@dataclass(frozen=True)
class TemplateModel:
    """One model file a workflow loads, as the workflow states it."""

    node: str
    loader: str
    name: str  # file name in the ComfyUI folder
    folder: str
    url: str | None = None
    strength: float | None = None


def read_workflow(path: Path) -> Any:
    if not path.is_file():
        raise WorkflowError(
            "file not found",
            location=str(path),
            hint="pass a ComfyUI workflow saved as JSON (UI or API format), or its Hub URL",
        )
    if path.stat().st_size > MAX_WORKFLOW_BYTES:
        raise WorkflowError(f"workflow is over {MAX_WORKFLOW_BYTES} bytes", location=str(path))
    return parse_workflow(path.read_bytes(), str(path))


def parse_workflow(data: bytes, where: str) -> Any:
    """A workflow's JSON, from a file or the Hub; WorkflowError for anything else."""
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WorkflowError(f"not a JSON workflow: {exc}", location=where) from None
    except (RecursionError, ValueError):  # nested too deep, or an integer of 5000 digits
        raise WorkflowError(
            "not a usable JSON workflow: nested too deeply or numbers too long",
            location=where,
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
