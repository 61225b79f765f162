"""Consistency checks between a rendered workflow and the pinned stack.

Pure functions over a graph and a Config. Errors make the worker fail at run time
(a loader naming a file the image lacks, a link to nowhere); warnings are legal but
probably not what was meant (a Lightning LoRA run at other steps than it was distilled
for, cfg above 1 with a Lightning LoRA). Every problem names its workflow and node id.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from imagebuilder.comfy.bindings import check_lora_bases, pinned_in
from imagebuilder.comfy.chains import model_chain
from imagebuilder.comfy.node_schema import NodeSchema, check_against_schema
from imagebuilder.comfy.nodes import (
    LOADERS,
    OUTPUT_COUNTS,
    SAMPLERS,
    Graph,
    is_link,
    node_sort_key,
)
from imagebuilder.comfy.object_info import load_snapshot, snapshot_path
from imagebuilder.comfy.problems import Problem, Severity
from imagebuilder.comfy.wasted_work import check_wasted_work
from imagebuilder.comfy.workflows import TEMPLATES_DIR, rendered_graphs
from imagebuilder.errors import WorkflowError
from imagebuilder.project.config import Config, ModelEntry, Role
from imagebuilder.project.variants import stacks

__all__ = [
    "Problem",
    "Severity",
    "check_stack_workflows",
    "check_workflow",
    "require_consistent",
]


def _check_structure(workflow: str, graph: Graph) -> list[Problem]:
    problems = []
    for node_id in sorted(graph, key=node_sort_key):
        node = graph[node_id]
        inputs = node.get("inputs") if isinstance(node, dict) else None
        if (
            not isinstance(node, dict)
            or not isinstance(node.get("class_type"), str)
            or not isinstance(inputs, dict)
        ):
            problems.append(
                Problem(
                    Severity.ERROR,
                    workflow,
                    node_id,
                    "node has no 'class_type' string or no 'inputs' object",
                    "export the graph from ComfyUI with 'Export (API)'",
                )
            )
            continue
        problems.extend(_check_links(workflow, graph, node_id, inputs))
    return problems


def _check_links(
    workflow: str, graph: Graph, node_id: str, inputs: dict[str, Any]
) -> list[Problem]:
    problems = []
    for input_name, value in inputs.items():
        if not is_link(value):
            continue
        source_id, slot = value
        source = graph.get(source_id)
        if not isinstance(source, dict):
            problems.append(
                Problem(
                    Severity.ERROR,
                    workflow,
                    node_id,
                    f"input {input_name!r} links to node {source_id!r}, which does not exist",
                    "reconnect the input in ComfyUI and export the graph again",
                )
            )
            continue
        outputs = OUTPUT_COUNTS.get(str(source.get("class_type")))
        if slot < 0 or (outputs is not None and slot >= outputs):
            problems.append(
                Problem(
                    Severity.ERROR,
                    workflow,
                    node_id,
                    f"input {input_name!r} links to output {slot} of node {source_id} "
                    f"({source.get('class_type')}), which has {outputs} output(s)",
                    "reconnect the input in ComfyUI and export the graph again",
                )
            )
    return problems


def _check_loaders(workflow: str, graph: Graph, config: Config) -> list[Problem]:
    problems = []
    for node_id in sorted(graph, key=node_sort_key):
        node = graph[node_id]
        loader = LOADERS.get(str(node.get("class_type")))
        if loader is None or not isinstance(node.get("inputs"), dict):
            continue
        pinned = pinned_in(config, loader.folder)
        for input_name in loader.inputs:
            file_name = node["inputs"].get(input_name)
            if file_name in pinned:
                continue
            problems.append(
                Problem(
                    Severity.ERROR,
                    workflow,
                    node_id,
                    f"{node['class_type']} loads {file_name!r} from models/{loader.folder}, "
                    "which is not a pinned file: the image does not have it",
                    _loader_hint(loader.folder, loader.role, pinned),
                )
            )
    return problems


def _loader_hint(folder: str, role: Role, pinned: dict[str, tuple[str, ModelEntry]]) -> str:
    if not pinned:
        return (
            f"nothing is pinned in models/{folder}: add the file to models.yaml as an entry "
            f"with role: {role.value} and folder: {folder}"
        )
    entries = sorted(name for name, _ in pinned.values())
    return (
        f"pinned in models/{folder}: {', '.join(sorted(pinned))}; name the entry with a "
        f"placeholder ({', '.join('{{ ' + name + ' }}' for name in entries)}) or add the "
        "file to models.yaml"
    )


def _loras_in(graph: Graph, config: Config, node_ids: list[str]) -> list[ModelEntry]:
    pinned = pinned_in(config, "loras")
    loras = []
    for node_id in node_ids:
        node = graph[node_id]
        loader = LOADERS.get(str(node.get("class_type")))
        if loader is None or loader.role is not Role.LORA:
            continue
        found = pinned.get(str(node.get("inputs", {}).get("lora_name")))
        if found is not None:
            loras.append(found[1])
    return loras


def _is_lightning(entry: ModelEntry) -> bool:
    return entry.distilled_steps is not None or "lightning" in entry.dest_name.lower()


def _steps_reason(steps: int, distilled: int) -> str:
    if steps > distilled:
        return (
            f"{steps - distilled} extra transformer pass(es) per job that a distilled LoRA does "
            "not need; quality does not improve and images can over-sharpen"
        )
    return (
        "fewer steps than the LoRA's schedule usually leave images soft or unfinished; "
        "keep it only if an A/B test shows the quality is acceptable"
    )


def _check_sampler(workflow: str, graph: Graph, config: Config) -> list[Problem]:
    problems = []
    for node_id in sorted(graph, key=node_sort_key):
        node = graph[node_id]
        if node.get("class_type") not in SAMPLERS or not isinstance(node.get("inputs"), dict):
            continue
        # The LoRAs on this sampler's own model chain (Wan 2.2: one per expert).
        loras = _loras_in(graph, config, model_chain(graph, node_id))
        steps, cfg = node["inputs"].get("steps"), node["inputs"].get("cfg")
        for lora in loras:
            distilled = lora.distilled_steps
            if isinstance(steps, int) and distilled is not None and steps != distilled:
                problems.append(
                    Problem(
                        Severity.WARNING,
                        workflow,
                        node_id,
                        f"KSampler runs {steps} steps, but LoRA {lora.dest_name!r} was "
                        f"distilled for {distilled}: {_steps_reason(steps, distilled)}",
                        f"set sampler.steps to {distilled}, or use the {steps}-step LoRA",
                    )
                )
            if isinstance(cfg, int | float) and cfg > 1 and _is_lightning(lora):
                problems.append(
                    Problem(
                        Severity.WARNING,
                        workflow,
                        node_id,
                        f"cfg {cfg} above 1 with Lightning LoRA {lora.dest_name!r}: the LoRA "
                        "was distilled at cfg 1, and cfg > 1 adds an unconditional pass per "
                        "step (double the time) and tends to burn the image",
                        "set sampler.cfg to 1.0",
                    )
                )
    return problems


def check_workflow(
    workflow: str, graph: Graph, config: Config, schema: NodeSchema | None = None
) -> list[Problem]:
    """Every problem in one rendered graph against the stack that renders it and, given a
    snapshot of ComfyUI's node schema, against the nodes that ComfyUI has."""
    well_formed = {
        node_id: node
        for node_id, node in graph.items()
        if isinstance(node, dict) and isinstance(node.get("inputs"), dict)
    }
    problems = (
        _check_structure(workflow, graph)
        + _check_loaders(workflow, well_formed, config)
        + check_lora_bases(workflow, well_formed, config)
        + _check_sampler(workflow, well_formed, config)
        + check_wasted_work(workflow, well_formed, config)
    )
    if schema is not None:
        problems += check_against_schema(workflow, well_formed, schema)
    return problems


def check_stack_workflows(
    config: Config,
    templates_dir: Path = TEMPLATES_DIR,
    schema: NodeSchema | None = None,
) -> list[Problem]:
    """Check every workflow as every variant renders it (the plain stack without variants),
    against ``schema`` or else the project's snapshot (workflows/schema/object_info.json)."""
    if schema is None:
        schema = load_snapshot(snapshot_path(templates_dir))
    problems: list[Problem] = []
    for stack in stacks(config):
        graphs = rendered_graphs(config, stack.name, templates_dir=templates_dir)
        for workflow, graph in graphs.items():
            problems.extend(
                replace(problem, variant=stack.name)
                for problem in check_workflow(workflow, graph, stack.config, schema)
            )
    return problems


def require_consistent(config: Config, templates_dir: Path = TEMPLATES_DIR) -> list[Problem]:
    """The warnings (for the caller to show); a WorkflowError listing every error if any."""
    problems = check_stack_workflows(config, templates_dir)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    warnings = [p for p in problems if p.severity is Severity.WARNING]
    if errors:
        raise WorkflowError(
            f"{len(errors)} workflow problem(s):\n" + "\n".join(e.render() for e in errors),
            location=str(templates_dir),
            hint="fix the templates in workflows/ or the pinned files in models.yaml",
        )
    return warnings
