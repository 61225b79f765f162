"""import-template --project: an official ComfyUI template as a project folder.

models.yaml (the entries import-template finds, the shipped base image, the sampler
settings the template runs), the workflow in API format with every loader and sampler
value a placeholder, and the node schema snapshot it is checked against. Entries the
exported graph does not load (a LoRA behind a switch that is off) are left out and
listed; each LoRA gets the `base` its model chain leads to.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imagebuilder.comfy.chains import model_loader
from imagebuilder.comfy.import_template import ImportResult
from imagebuilder.comfy.nodes import LOADERS, SAMPLERS, Graph, canonical_folder
from imagebuilder.comfy.ui_to_api import to_api
from imagebuilder.comfy.workflows import dump_graph
from imagebuilder.project.yamlsource import round_trip_yaml

_SAMPLER_KEYS = ("steps", "cfg", "sampler_name", "scheduler", "denoise")
_SHIFT_NODES = frozenset({"ModelSamplingAuraFlow", "ModelSamplingSD3", "ModelSamplingFlux"})
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class ImportedProject:
    files: dict[str, bytes]
    left_out: tuple[str, ...]  # entries the exported graph does not load


def _same(values: list[Any]) -> Any | None:
    return values[0] if values and all(v == values[0] for v in values) else None


def _bind(graph: Graph, by_file: dict[tuple[str, str], str]) -> tuple[Graph, set[str]]:
    """Loader inputs -> entry placeholders; returns the graph and the entries it loads."""
    used: set[str] = set()
    for node in graph.values():
        loader = LOADERS.get(node["class_type"])
        if loader is None:
            continue
        for name in loader.inputs:
            entry = by_file.get((loader.folder, str(node["inputs"].get(name))))
            if entry is not None:
                node["inputs"][name] = f"{{{{ {entry} }}}}"
                used.add(entry)
                if loader.patches is not None and "strength_model" in node["inputs"]:
                    node["inputs"]["strength_model"] = f"{{{{ {entry}.strength }}}}"
    return graph, used


def _sampler_settings(graph: Graph) -> dict[str, Any]:
    """The samplers' shared settings, made placeholders; a setting they disagree on stays."""
    samplers = [n for n in graph.values() if n["class_type"] in SAMPLERS]
    settings: dict[str, Any] = {}
    for key in _SAMPLER_KEYS:
        value = _same([n["inputs"][key] for n in samplers if key in n["inputs"]])
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            settings[key] = value
            for node in samplers:
                if key in node["inputs"]:
                    node["inputs"][key] = f"{{{{ {key} }}}}"
    shifts = [n for n in graph.values() if n["class_type"] in _SHIFT_NODES]
    shift = _same([n["inputs"].get("shift") for n in shifts])
    if isinstance(shift, int | float) and shifts:
        settings["shift"] = round(float(shift), 6)
        for node in shifts:
            node["inputs"]["shift"] = "{{ shift }}"
    if "cfg" in settings:
        settings["cfg"] = float(settings["cfg"])
    if "denoise" in settings:
        settings["denoise"] = float(settings["denoise"])
    return settings


def _lora_bases(graph: Graph, used: set[str]) -> dict[str, str]:
    """LoRA entry -> the entry its loader's model chain starts at."""
    bases: dict[str, str] = {}
    for node_id, node in graph.items():
        loader = LOADERS.get(node["class_type"])
        if loader is None or loader.patches is None:
            continue
        lora = str(node["inputs"].get("lora_name", "")).strip("{} ")
        start = model_loader(graph, node_id)
        if start is None or lora not in used:
            continue
        base_loader = LOADERS[graph[start]["class_type"]]
        base = str(graph[start]["inputs"].get(base_loader.inputs[0], "")).strip("{} ")
        if base in used:
            bases[lora] = base
    return bases


def build_project(
    result: ImportResult, document: Any, snapshot: bytes, shipped: dict[str, Any]
) -> ImportedProject:
    """The project's files. ``snapshot``: the node schema file the project is checked
    against, ``shipped``: the shipped models.yaml as data (its base image)."""
    schema = json.loads(snapshot)
    nodes = schema.get("object_info", schema)
    graph = to_api(document, nodes) if "nodes" in document else json.loads(json.dumps(document))
    by_file = {(canonical_folder(e.folder), e.file_name): e.name for e in result.entries}
    graph, used = _bind(graph, by_file)
    sampler = _sampler_settings(graph)
    bases = _lora_bases(graph, used)
    models: dict[str, Any] = {}
    for entry in result.entries:
        if entry.name in used:
            fields = entry.yaml_fields()
            if entry.name in bases:
                fields["base"] = bases[entry.name]
            models[entry.name] = fields
    stem = _SLUG.sub("_", Path(result.source).stem.lower()).strip("_")[:60] or "workflow"
    config = {
        "version": 1,
        "image": {
            "name": f"ghcr.io/example/{stem.replace('_', '-')}-worker",
            "base": shipped["image"]["base"],
            "comfyui_root": shipped["image"].get("comfyui_root", "/comfyui"),
            "gpu_memory_gb": shipped["image"]["gpu_memory_gb"],
        },
        "models": models,
        "sampler": sampler,
    }
    buffer = io.StringIO()
    round_trip_yaml().dump(config, buffer)
    header = (
        f"# A project from the ComfyUI template {Path(result.source).name} "
        "(imagebuilder import-template --project).\n"
        "# Set image.name and image.gpu_memory_gb for your worker; `imagebuilder lock` pins "
        "every file.\n"
    )
    files = {
        "models.yaml": (header + buffer.getvalue()).encode(),
        f"workflows/{stem}.json": dump_graph(graph).encode(),
        "workflows/schema/object_info.json": snapshot,
    }
    left_out = tuple(sorted(e.name for e in result.entries if e.name not in used))
    return ImportedProject(files, left_out)
