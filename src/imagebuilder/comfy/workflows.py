"""Render the worker's ComfyUI workflows from their templates and models.yaml.

A template (workflows/*.json) is an API-format graph, valid JSON, in which an input
value may be a placeholder string such as ``"{{ steps }}"``. Rendering replaces each
placeholder with the typed value from the stack (a file name, an int, a float), so
the loaders always name the files the image holds and the KSampler runs the pinned
settings. An unknown placeholder is an error, never an empty string.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imagebuilder.comfy.nodes import (
    IMAGE_INPUTS,
    LOADERS,
    OUTPUT_NODES,
    Graph,
    canonical_folder,
    node_sort_key,
)
from imagebuilder.errors import WorkflowError
from imagebuilder.project.config import Config, Role
from imagebuilder.project.variants import effective_config

TEMPLATES_DIR = Path("workflows")
INDEX_NAME = "index.json"
MAX_TEMPLATE_BYTES = 1_000_000
_PLACEHOLDER = re.compile(r"^\{\{\s*([a-z][a-z0-9_]*(?:\.strength)?)\s*\}\}$")


@dataclass(frozen=True)
class Template:
    name: str  # file stem: qwen_image_edit_1
    path: Path
    graph: Graph


def load_templates(templates_dir: Path = TEMPLATES_DIR) -> list[Template]:
    """Every *.json template in the folder, sorted by name."""
    paths = sorted(templates_dir.glob("*.json"))
    if not paths:
        raise WorkflowError(
            "no workflow templates found",
            location=str(templates_dir),
            hint="add an API-format workflow there (`imagebuilder import-template` writes one "
            "from a ComfyUI template)",
        )
    return [_load_template(path) for path in paths]


def _not_finite(name: str) -> float:
    raise ValueError(f"{name} is not a finite number (and not JSON)")


def _load_template(path: Path) -> Template:
    if path.stat().st_size > MAX_TEMPLATE_BYTES:
        raise WorkflowError(f"template is over {MAX_TEMPLATE_BYTES} bytes", location=str(path))
    try:
        graph = json.loads(path.read_text(encoding="utf-8"), parse_constant=_not_finite)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WorkflowError(f"template is not valid JSON: {exc}", location=str(path)) from None
    except (ValueError, RecursionError) as exc:  # a 5,000-digit number, hostile nesting
        raise WorkflowError(
            f"template cannot be read ({type(exc).__name__}: nested too deep, a number too "
            "long, or NaN/Infinity)",
            location=str(path),
        ) from None
    if not isinstance(graph, dict) or not all(isinstance(v, dict) for v in graph.values()):
        raise WorkflowError(
            "template is not an API-format graph (an object of node id -> node)",
            location=str(path),
            hint="export it from ComfyUI with 'Export (API)'",
        )
    return Template(name=path.stem, path=path, graph=graph)


def placeholder_values(config: Config) -> dict[str, Any]:
    """What each placeholder stands for in this stack: the sampler settings, each entry by
    its name (``{{ clip_l }}``, ``{{ high_noise_lora.strength }}``) and each role that has
    exactly one entry (``{{ diffusion_model }}``, ``{{ lora_strength }}``)."""
    values: dict[str, Any] = config.sampler.model_dump()
    for role in Role:
        entries = config.entries_by_role(role)
        # Several entries of a role have no single name: templates name the entry instead.
        if len(entries) == 1:
            values[role.value] = entries[0][1].dest_name
            if role is Role.LORA:
                values["lora_strength"] = entries[0][1].strength
    for name, entry in config.models.items():
        values[name] = entry.dest_name
        if entry.role is Role.LORA:
            values[f"{name}.strength"] = entry.strength
    return values


def _missing_hint(key: str, values: dict[str, Any], config: Config | None) -> str:
    role = Role.LORA if key == "lora_strength" else next((r for r in Role if key == r), None)
    names = [n for n, _ in config.entries_by_role(role)] if config and role else []
    if role is not None and len(names) > 1:
        example = f"{names[0]}.strength" if key == "lora_strength" else names[0]
        return (
            f"the stack has {len(names)} {role.value} entries "
            f"({', '.join(names)}): name the one this node loads, e.g. {{{{ {example} }}}}"
        )
    known = ", ".join(sorted(values))
    return (
        f"known here: {known}; a role placeholder needs exactly one entry of its role, an "
        "entry placeholder is the entry's name in models.yaml"
    )


def render_graph(template: Template, values: dict[str, Any], stack: Config | None = None) -> Graph:
    """The template with every placeholder replaced; a WorkflowError names unknown ones
    (and, given the ``stack``, the entries a role placeholder could mean)."""
    rendered: Graph = {}
    for node_id, node in template.graph.items():
        inputs = node.get("inputs", {})
        new_inputs = {}
        for input_name, value in inputs.items() if isinstance(inputs, dict) else ():
            where = (template, node_id, input_name)
            new_inputs[input_name] = _fill(where, value, values, stack)
        rendered[node_id] = {**node, "inputs": new_inputs} if "inputs" in node else dict(node)
    return rendered


def _fill(
    where: tuple[Template, str, str], value: Any, values: dict[str, Any], stack: Config | None
) -> Any:
    if not isinstance(value, str):
        return value
    match = _PLACEHOLDER.match(value)
    if match is None:
        return value
    key = match.group(1)
    if key not in values:
        template, node_id, input_name = where
        raise WorkflowError(
            f"node {node_id} input {input_name!r}: placeholder {{{{ {key} }}}} has no value "
            "in this stack",
            location=str(template.path),
            hint=_missing_hint(key, values, stack),
        )
    return values[key]


def dump_graph(graph: Graph) -> str:
    """Stable text: node ids in numeric order, so goldens and image layers are reproducible."""
    ordered = {node_id: graph[node_id] for node_id in sorted(graph, key=node_sort_key)}
    return json.dumps(ordered, indent=2, ensure_ascii=False) + "\n"


def _index_entry(template: Template, graph: Graph, config: Config) -> dict[str, Any]:
    pinned_by_file = {
        (canonical_folder(entry.folder), entry.dest_name): (name, entry)
        for name, entry in config.models.items()
    }
    inputs, outputs, pinned = [], [], []
    for node_id in sorted(graph, key=node_sort_key):
        class_type = graph[node_id].get("class_type")
        node_inputs = graph[node_id].get("inputs", {})
        if class_type in IMAGE_INPUTS:
            inputs.append({"node": node_id, "class_type": class_type, "input": "image"})
        if class_type in OUTPUT_NODES:
            outputs.append({"node": node_id, "class_type": class_type})
        loader = LOADERS.get(str(class_type))
        for input_name in loader.inputs if loader else ():
            file_name = node_inputs.get(input_name)
            found = pinned_by_file.get((loader.folder, str(file_name))) if loader else None
            entry_name, entry = found if found else (None, None)
            pinned.append(
                {
                    "node": node_id,
                    "class_type": class_type,
                    "folder": loader.folder if loader else None,
                    "file": file_name,
                    "entry": entry_name,
                    "repo": entry.repo if entry else None,
                    "path": entry.file if entry else None,
                }
            )
    return {
        "name": template.name,
        "file": f"{template.name}.json",
        "inputs": inputs,
        "outputs": outputs,
        "pinned_files": pinned,
    }


def render_all(
    config: Config, variant: str | None = None, *, templates_dir: Path = TEMPLATES_DIR
) -> dict[str, str]:
    """File name -> text for every rendered workflow plus ``index.json``."""
    stack = effective_config(config, variant)
    values = placeholder_values(stack)
    files: dict[str, str] = {}
    index: list[dict[str, Any]] = []
    for template in load_templates(templates_dir):
        graph = render_graph(template, values, stack)
        files[f"{template.name}.json"] = dump_graph(graph)
        index.append(_index_entry(template, graph, stack))
    document = {"variant": variant, "sampler": stack.sampler.model_dump(), "workflows": index}
    files[INDEX_NAME] = json.dumps(document, indent=2, sort_keys=True) + "\n"
    return files


def rendered_graphs(
    config: Config, variant: str | None = None, *, templates_dir: Path = TEMPLATES_DIR
) -> dict[str, Graph]:
    """Template name -> rendered graph (for the checks)."""
    stack = effective_config(config, variant)
    values = placeholder_values(stack)
    return {t.name: render_graph(t, values, stack) for t in load_templates(templates_dir)}


def rendered_workflow_files(
    config: Config, project_dir: Path, variant: str | None = None
) -> dict[str, bytes]:
    """The build context's workflows/ folder: rendered graphs plus index.json, as bytes.

    Templates come from ``workflows/`` beside models.yaml; a project without that folder
    ships no workflows.
    """
    templates_dir = project_dir / TEMPLATES_DIR
    if not templates_dir.is_dir():
        return {}
    files = render_all(config, variant, templates_dir=templates_dir)
    return {name: text.encode("utf-8") for name, text in files.items()}
