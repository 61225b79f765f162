"""One job's graph: a variant's rendered workflow with a case's images, prompt and seed.

Pure functions over API-format graphs. The workflow for a case is the one with as many
LoadImage nodes as the case has images (or the one the case names). Images go into the
LoadImage nodes in node-id order (the order index.json lists them); the prompt goes
into the text input of the encoder the sampler's ``positive`` conditioning starts at,
followed upstream through FluxGuidance, ReferenceLatent, WanImageToVideo and the like;
the seed into every sampler that adds noise (Wan 2.2's second expert continues the
first one's noise). A case without images runs a text-to-image workflow (no LoadImage).
A workflow where any of these cannot be found is refused, never guessed.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from imagebuilder.abtest.cases import Case
from imagebuilder.comfy.chains import upstream
from imagebuilder.comfy.nodes import IMAGE_INPUTS, OUTPUT_NODES, Graph, is_link, node_sort_key
from imagebuilder.errors import WorkflowError

SEED_INPUTS = {"KSampler": "seed", "KSamplerAdvanced": "noise_seed"}
PROMPT_INPUTS = ("prompt", "text")  # TextEncodeQwenImageEdit(Plus), CLIPTextEncode
# How conditioning nodes name the conditioning they pass on: FluxGuidance and
# ReferenceLatent ("conditioning"), WanImageToVideo and InstructPix2Pix-style ("positive").
CONDITIONING_INPUTS = ("conditioning", "positive", "conditioning_to", "cond")


@dataclass(frozen=True)
class JobGraph:
    workflow: str
    graph: Graph
    uploads: tuple[tuple[str, bytes], ...]  # (name the graph loads, bytes) per input image
    output_nodes: tuple[str, ...]


def upload_name(data: bytes, file_format: str, job: str) -> str:
    """Content plus job: re-uploads are idempotent, cases never clash, and no two jobs
    load the same file name. ComfyUI caches a node's output while its inputs are
    unchanged: with one name per case, the second variant of a case would reuse the
    first one's image load, text encoding and VAE encode and look cheaper than a real
    request, which always brings a new image."""
    digest = hashlib.sha256(data + b"\0" + job.encode()).hexdigest()[:24]
    return f"ib_{digest}.{file_format}"


def _nodes_of(graph: Graph, class_types: frozenset[str] | set[str]) -> list[str]:
    found = [nid for nid, node in graph.items() if node.get("class_type") in class_types]
    return sorted(found, key=node_sort_key)


def choose_workflow(case: Case, workflows: Mapping[str, Graph]) -> str:
    if case.workflow is not None:
        if case.workflow not in workflows:
            raise WorkflowError(
                f"case {case.name!r} names workflow {case.workflow!r}, which does not exist",
                location=case.where,
                hint=f"workflows: {', '.join(sorted(workflows))}",
            )
        return case.workflow
    fitting = [
        name
        for name, graph in workflows.items()
        if len(_nodes_of(graph, IMAGE_INPUTS)) == len(case.images)
    ]
    if len(fitting) != 1:
        raise WorkflowError(
            f"case {case.name!r} has {len(case.images)} image(s); "
            f"{len(fitting)} workflows load that many ({', '.join(sorted(fitting)) or 'none'})",
            location=case.where,
            hint="name the workflow with 'workflow:' in the case",
        )
    return fitting[0]


def _noise_samplers(graph: Graph, workflow: str) -> list[tuple[str, str]]:
    """(node id, seed input) of every sampler that adds noise; the first one is where the
    prompt's conditioning is looked for."""
    samplers = _nodes_of(graph, set(SEED_INPUTS))
    adding = [
        node_id
        for node_id in samplers
        if graph[node_id].get("inputs", {}).get("add_noise", "enable") != "disable"
    ]
    if not adding:
        raise WorkflowError(
            f"workflow {workflow!r} has {len(samplers)} samplers and none adds noise; a test "
            "case needs one that takes its seed",
            location=workflow,
        )
    return [(node_id, SEED_INPUTS[graph[node_id]["class_type"]]) for node_id in adding]


def _prompt_node(graph: Graph, sampler_id: str, workflow: str) -> tuple[str, str]:
    positive = graph[sampler_id].get("inputs", {}).get("positive")
    start = [str(positive[0])] if is_link(positive) and str(positive[0]) in graph else []
    chain = start + list(upstream(graph, start[0], CONDITIONING_INPUTS)) if start else []
    for node_id in chain:
        inputs = graph[node_id].get("inputs", {})
        for name in PROMPT_INPUTS:
            if isinstance(inputs.get(name), str):
                return node_id, name
    raise WorkflowError(
        f"workflow {workflow!r}: the sampler's positive conditioning does not start at a text "
        "encoder with a 'prompt' or 'text' input (followed through: "
        f"{', '.join(str(graph[n].get('class_type')) for n in chain) or 'nothing'})",
        location=workflow,
        hint="wire the positive conditioning from the prompt's encoder node, directly or "
        "through conditioning nodes (FluxGuidance, ReferenceLatent, WanImageToVideo, ...)",
    )


def job_graph(case: Case, workflows: Mapping[str, Graph], job: str) -> JobGraph:
    """The graph one case runs in one variant (``workflows``: that variant's rendered set;
    ``job``: what tells this job's input file names from every other job's)."""
    workflow = choose_workflow(case, workflows)
    graph = copy.deepcopy(dict(workflows[workflow]))
    loaders = _nodes_of(graph, IMAGE_INPUTS)
    if len(loaders) != len(case.images):
        raise WorkflowError(
            f"workflow {workflow!r} loads {len(loaders)} image(s), case {case.name!r} has "
            f"{len(case.images)}",
            location=case.where,
        )
    uploads = []
    for node_id, image in zip(loaders, case.images, strict=True):
        name = upload_name(image.data, image.format, job)
        graph[node_id]["inputs"]["image"] = name
        uploads.append((name, image.data))
    samplers = _noise_samplers(graph, workflow)
    for sampler_id, seed_input in samplers:
        graph[sampler_id]["inputs"][seed_input] = case.seed
    prompt_id, prompt_input = _prompt_node(graph, samplers[0][0], workflow)
    graph[prompt_id]["inputs"][prompt_input] = case.prompt
    outputs = tuple(_nodes_of(graph, OUTPUT_NODES))
    if not outputs:
        raise WorkflowError(
            f"workflow {workflow!r} saves no image or video",
            location=workflow,
            hint=f"end the graph with one of: {', '.join(sorted(OUTPUT_NODES))}",
        )
    return JobGraph(workflow=workflow, graph=graph, uploads=tuple(uploads), output_nodes=outputs)
