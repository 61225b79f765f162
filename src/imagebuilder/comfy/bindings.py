"""Which entry each loader input loads, and whether each LoRA patches its own base.

A workflow binds a loader input to an entry through the file name the placeholder
renders; the LoRA check follows the model chain from each LoRA loader to the model
loader it patches (Wan 2.2: the high-noise LoRA must sit on the high-noise expert).
"""

from __future__ import annotations

from imagebuilder.comfy.chains import model_loader
from imagebuilder.comfy.nodes import LOADERS, Graph, canonical_folder, node_sort_key
from imagebuilder.comfy.problems import Problem, Severity
from imagebuilder.project.config import Config, ModelEntry
from imagebuilder.project.entries import lora_base


def pinned_in(config: Config, folder: str) -> dict[str, tuple[str, ModelEntry]]:
    """File name -> (entry name, entry) for every pinned file in a ComfyUI folder."""
    return {
        entry.dest_name: (name, entry)
        for name, entry in config.models.items()
        if canonical_folder(entry.folder) == folder
    }


def check_lora_bases(workflow: str, graph: Graph, config: Config) -> list[Problem]:
    """Each LoRA is applied to the model its entry says it patches (Wan 2.2: the high-noise
    LoRA on the high-noise model): a LoRA on the wrong expert runs, but its shapes or its
    training do not fit."""
    problems = []
    loras = pinned_in(config, "loras")
    for node_id in sorted(graph, key=node_sort_key):
        node = graph[node_id]
        loader = LOADERS.get(str(node.get("class_type")))
        found = loras.get(str(node["inputs"].get("lora_name"))) if loader else None
        if loader is None or loader.patches is None or found is None:
            continue
        lora = found[0]
        base = lora_base(config, lora)
        model_node = model_loader(graph, node_id)
        if base is None or model_node is None:
            continue
        model_loader_type = LOADERS[str(graph[model_node]["class_type"])]
        model_file = graph[model_node]["inputs"].get(model_loader_type.inputs[0])
        model = pinned_in(config, model_loader_type.folder).get(str(model_file))
        if model is not None and model[0] != base:
            problems.append(
                Problem(
                    Severity.ERROR,
                    workflow,
                    node_id,
                    f"LoRA entry {lora!r} patches {base!r}, but this node applies it to "
                    f"{model[0]!r} (loaded by node {model_node})",
                    f"wire its model input to the chain that loads {base!r}, or set "
                    f"models.{lora}.base to {model[0]!r}",
                )
            )
    return problems
