"""Check a rendered graph against ComfyUI's own node schema, offline.

ComfyUI describes every node it has at GET /object_info: its inputs (required,
optional, hidden), each input's type (INT, FLOAT, STRING, BOOLEAN, a list of allowed
values, or a link type such as MODEL or LATENT) with its limits, and its outputs. A
snapshot of that answer from the ComfyUI the worker runs is kept in the project
(workflows/schema/object_info.json), so a node type, input name, type or value that
ComfyUI lacks fails `check-workflows` in CI instead of the worker's first job.

Pure functions over the parsed snapshot and a graph; reading and writing the snapshot
file is in object_info.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imagebuilder.comfy.nodes import IMAGE_INPUTS, LOADERS, Graph, is_link, node_sort_key
from imagebuilder.comfy.problems import Problem, Severity

# Inputs whose allowed values list the files present on the machine the snapshot came
# from: the pinned files are checked against models.yaml instead (checks._check_loaders),
# and input images are the caller's.
_FILE_LISTS = {name: set(loader.inputs) for name, loader in LOADERS.items()} | {
    name: {"image"} for name in IMAGE_INPUTS
}
_SCALARS = {"INT", "FLOAT", "STRING", "BOOLEAN"}


@dataclass(frozen=True)
class InputSpec:
    kind: str  # INT, FLOAT, STRING, BOOLEAN, COMBO, or a link type such as MODEL
    options: dict[str, Any]
    choices: tuple[Any, ...] | None = None  # COMBO: the allowed values
    required: bool = True


@dataclass(frozen=True)
class NodeSpec:
    inputs: dict[str, InputSpec]
    hidden: frozenset[str]
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class NodeSchema:
    nodes: dict[str, NodeSpec]
    comfyui: str  # which ComfyUI the snapshot describes, for messages


def _input_spec(raw: Any, required: bool) -> InputSpec:
    if not isinstance(raw, list) or not raw:
        return InputSpec("*", {}, None, required)
    kind = raw[0]
    options = raw[1] if len(raw) > 1 and isinstance(raw[1], dict) else {}
    if isinstance(kind, list):  # the classic form: a list of allowed values
        return InputSpec("COMBO", options, tuple(kind), required)
    if kind == "COMBO" and isinstance(options.get("options"), list):
        return InputSpec("COMBO", options, tuple(options["options"]), required)
    return InputSpec(str(kind), options, None, required)


def parse_object_info(object_info: dict[str, Any], comfyui: str) -> NodeSchema:
    """The /object_info answer as NodeSpecs; malformed entries become permissive specs."""
    nodes = {}
    for name, raw in object_info.items():
        if not isinstance(raw, dict):
            continue
        sections: dict[str, Any] = raw["input"] if isinstance(raw.get("input"), dict) else {}
        inputs: dict[str, InputSpec] = {}
        for section, required in (("required", True), ("optional", False)):
            for input_name, spec in (sections.get(section) or {}).items():
                inputs[input_name] = _input_spec(spec, required)
        hidden = frozenset((sections.get("hidden") or {}).keys())
        outputs = tuple(str(t) for t in raw.get("output") or [])
        nodes[name] = NodeSpec(inputs, hidden, outputs)
    return NodeSchema(nodes, comfyui)


def _type_matches(expected: str, produced: str) -> bool:
    if "*" in (expected, produced):
        return True
    # An input may accept several types, written "IMAGE,MASK".
    return produced in expected.split(",") or expected in produced.split(",")


def _value_problem(name: str, spec: InputSpec, value: Any) -> str | None:
    """Why a literal value is not allowed, or None."""
    if spec.kind == "COMBO":
        if spec.choices is not None and value not in spec.choices:
            shown = ", ".join(repr(c) for c in spec.choices[:12])
            more = ", ..." if len(spec.choices) > 12 else ""
            return f"input {name!r} is {value!r}, not one of ComfyUI's values: {shown}{more}"
        return None
    if spec.kind == "INT" and (not isinstance(value, int) or isinstance(value, bool)):
        return f"input {name!r} is {value!r}; ComfyUI expects a whole number (INT)"
    if spec.kind == "FLOAT" and (not isinstance(value, int | float) or isinstance(value, bool)):
        return f"input {name!r} is {value!r}; ComfyUI expects a number (FLOAT)"
    if spec.kind == "STRING" and not isinstance(value, str):
        return f"input {name!r} is {value!r}; ComfyUI expects text (STRING)"
    if spec.kind == "BOOLEAN" and not isinstance(value, bool):
        return f"input {name!r} is {value!r}; ComfyUI expects true or false (BOOLEAN)"
    if spec.kind in ("INT", "FLOAT"):
        low, high = spec.options.get("min"), spec.options.get("max")
        if isinstance(low, int | float) and value < low:
            return f"input {name!r} is {value}, below ComfyUI's minimum {low}"
        if isinstance(high, int | float) and value > high:
            return f"input {name!r} is {value}, above ComfyUI's maximum {high}"
        return None
    if spec.kind not in _SCALARS:
        return f"input {name!r} takes a link to a {spec.kind} output, not the value {value!r}"
    return None


def _link_problem(
    name: str, spec: InputSpec, value: list[Any], graph: Graph, schema: NodeSchema
) -> str | None:
    source = graph.get(value[0])
    if not isinstance(source, dict):
        return None  # a dangling link is reported by the structure check
    source_spec = schema.nodes.get(str(source.get("class_type")))
    if source_spec is None:
        return None  # reported on the source node itself
    slot = value[1]
    if slot >= len(source_spec.outputs):
        return (
            f"input {name!r} links to output {slot} of node {value[0]} "
            f"({source.get('class_type')}), which has {len(source_spec.outputs)} output(s)"
        )
    produced = source_spec.outputs[slot]
    expected = "COMBO" if spec.kind == "COMBO" else spec.kind
    if spec.kind == "COMBO" and produced == "COMBO":
        return None
    if not _type_matches(expected, produced):
        return (
            f"input {name!r} expects {expected} but links to output {slot} of node "
            f"{value[0]} ({source.get('class_type')}), which gives {produced}"
        )
    return None


def _node_problems(
    node_id: str, node: dict[str, Any], graph: Graph, schema: NodeSchema
) -> list[str]:
    class_type = str(node.get("class_type"))
    spec = schema.nodes.get(class_type)
    if spec is None:
        return [f"ComfyUI {schema.comfyui} has no node type {class_type!r}"]
    messages = []
    inputs: dict[str, Any] = node["inputs"]
    skip = _FILE_LISTS.get(class_type, set())
    for name, value in inputs.items():
        input_spec = spec.inputs.get(name)
        if input_spec is None:
            if name not in spec.hidden:
                known = ", ".join(sorted(spec.inputs)) or "none"
                messages.append(f"{class_type} has no input {name!r} (its inputs: {known})")
            continue
        if is_link(value):
            problem = _link_problem(name, input_spec, value, graph, schema)
        elif name in skip:
            problem = None
        else:
            problem = _value_problem(name, input_spec, value)
        if problem:
            messages.append(problem)
    for name, input_spec in spec.inputs.items():
        if input_spec.required and name not in inputs:
            messages.append(
                f"{class_type} needs input {name!r} ({input_spec.kind}), which is missing"
            )
    return messages


def check_against_schema(workflow: str, graph: Graph, schema: NodeSchema) -> list[Problem]:
    """Errors for every node type, input, type and value the snapshot does not allow."""
    hint = (
        "use a node and values this ComfyUI has, or refresh the snapshot from a worker "
        "running the newer ComfyUI: imagebuilder check-workflows --refresh-object-info URL"
    )
    problems = []
    for node_id in sorted(graph, key=node_sort_key):
        node = graph[node_id]
        if not isinstance(node, dict) or not isinstance(node.get("inputs"), dict):
            continue  # reported by the structure check
        for message in _node_problems(node_id, node, graph, schema):
            problems.append(Problem(Severity.ERROR, workflow, node_id, message, hint))
    return problems
