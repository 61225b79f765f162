"""Follow a graph's links upstream: which loader a sampler's model comes from, which
LoRAs patch it on the way, which text encoder its conditioning starts at.

Pure functions over API-format graphs. Walks are bounded by the graph's size (every
node is visited at most once), so a hostile cycle cannot loop.
"""

from __future__ import annotations

from collections.abc import Iterator

from imagebuilder.comfy.nodes import LOADERS, Graph, is_link

_MODEL_INPUTS = ("model", "unet")  # how ComfyUI nodes name their MODEL input


def upstream(graph: Graph, node_id: str, inputs: tuple[str, ...]) -> Iterator[str]:
    """Node ids reached from ``node_id`` through its ``inputs`` links, nearest first,
    following the same input names at each node (a model chain, a conditioning chain)."""
    seen = {node_id}
    current = node_id
    while True:
        node = graph.get(current)
        node_inputs = node.get("inputs") if isinstance(node, dict) else None
        if not isinstance(node_inputs, dict):
            return
        link = next((node_inputs[n] for n in inputs if is_link(node_inputs.get(n))), None)
        if link is None or link[0] in seen or link[0] not in graph:
            return
        current = str(link[0])
        seen.add(current)
        yield current


def model_chain(graph: Graph, node_id: str) -> list[str]:
    """The nodes a node's model passes through, nearest first, ending at its loader."""
    return list(upstream(graph, node_id, _MODEL_INPUTS))


def model_loader(graph: Graph, node_id: str) -> str | None:
    """The node that loads the model ``node_id`` works on (UNETLoader, checkpoint), if any."""
    for found in model_chain(graph, node_id):
        loader = LOADERS.get(str(graph[found].get("class_type")))
        if loader is not None and loader.patches is None:
            return found
    return None
