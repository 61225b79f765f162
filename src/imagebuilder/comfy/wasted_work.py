"""Warnings for graph work that cannot change the image: what it costs, as measured.

At cfg 1.0 ComfyUI skips the unconditional pass (one model call per step) and never
reads the negative conditioning, so a text encoder run for the negative prompt is pure
cost. At denoise 1.0 a flow-matching sampler starts from sigma 1.0 and multiplies the
start latent by (1 - sigma) = 0: only its size matters, so VAE-encoding an image for it
is pure cost. Both were measured in real ComfyUI (docs/inference.md); the warning
quotes the cost inputs' own numbers where models.yaml has them.
"""

from __future__ import annotations

import math
from typing import Any

from imagebuilder.comfy.nodes import SAMPLERS, Graph, is_link, node_sort_key
from imagebuilder.comfy.problems import Problem, Severity
from imagebuilder.project.config import Config
from imagebuilder.project.cost_settings import CostSettings

_TEXT_ENCODERS = ("CLIPTextEncode", "TextEncode")  # CLIPTextEncode*, TextEncodeQwenImage*...


def _source_type(graph: Graph, value: Any) -> str | None:
    if not is_link(value):
        return None
    source = graph.get(value[0])
    return str(source.get("class_type")) if isinstance(source, dict) else None


def _images_encoded(node: dict[str, Any]) -> int:
    return sum(
        1 for name, value in node["inputs"].items() if name.startswith("image") and is_link(value)
    )


def _workflow_cost(
    cost: CostSettings | None, workflow: str
) -> tuple[float, float, float, float] | None:
    """(text encode s, VAE encode s, seconds per step, fixed s) for this workflow."""
    if cost is None:
        return None
    measured = cost.workflows.get(workflow)
    step = measured.seconds_per_step if measured else cost.seconds_per_step
    fixed = measured.fixed_seconds if measured else cost.fixed_seconds
    return (
        fixed.get("text_encoding", 0.0),
        fixed.get("vae_encode", 0.0),
        step,
        sum(fixed.values()),
    )


def _saving(seconds: float, config: Config, workflow: str, steps: Any) -> str:
    measured = _workflow_cost(config.cost, workflow)
    if measured is None or seconds <= 0:
        return ""
    _, _, step, fixed = measured
    job = fixed + (steps if isinstance(steps, int) else config.sampler.steps) * step
    gpu = config.cost.gpu if config.cost else ""
    return f" (measured on {gpu}: about {seconds:.2f} s a job, {seconds / job:.0%} of a warm job)"


def check_wasted_work(workflow: str, graph: Graph, config: Config) -> list[Problem]:
    problems = []
    measured = _workflow_cost(config.cost, workflow)
    text_s, vae_s = (measured[0], measured[1]) if measured else (0.0, 0.0)
    for node_id in sorted(graph, key=node_sort_key):
        node = graph[node_id]
        if node.get("class_type") not in SAMPLERS or not isinstance(node.get("inputs"), dict):
            continue
        inputs = node["inputs"]
        cfg, denoise, steps = inputs.get("cfg"), inputs.get("denoise"), inputs.get("steps")
        negative = _source_type(graph, inputs.get("negative"))
        if _is_one(cfg) and negative and negative.startswith(_TEXT_ENCODERS):
            # The negative node encodes the text and VAE-encodes every reference image.
            images = _images_encoded(graph[inputs["negative"][0]])
            seconds = text_s + (vae_s if images else 0.0)
            problems.append(
                Problem(
                    Severity.WARNING,
                    workflow,
                    node_id,
                    f"the negative conditioning comes from {negative} (node "
                    f"{inputs['negative'][0]}), but at cfg {cfg:g} ComfyUI never uses it: "
                    f"the encode is wasted work{_saving(seconds, config, workflow, steps)}",
                    "feed the sampler's negative input from ConditioningZeroOut of the "
                    "positive conditioning",
                )
            )
        latent = _source_type(graph, inputs.get("latent_image"))
        encoder = str(inputs["latent_image"][0]) if latent else ""
        if (
            _is_one(denoise)
            and latent
            and latent.startswith("VAEEncode")
            and not _used_elsewhere(graph, encoder, node_id)
        ):
            # The measured VAE encode covers every reference image; this is one of them.
            seconds = vae_s / max(1, _reference_images(graph))
            problems.append(
                Problem(
                    Severity.WARNING,
                    workflow,
                    node_id,
                    f"the start latent comes from {latent} (node {inputs['latent_image'][0]}), "
                    f"but at denoise {denoise:g} only its size matters: the VAE encode is "
                    f"wasted work{_saving(seconds, config, workflow, steps)}",
                    "use EmptySD3LatentImage (or the model's empty latent node) with the "
                    "reference's width and height from GetImageSize",
                )
            )
    return problems


def _used_elsewhere(graph: Graph, source: str, sampler: str) -> bool:
    """Whether a node's output also feeds something besides the sampler's start latent:
    Flux Kontext's ReferenceLatent reads the same VAE encode, so it is not wasted."""
    for node_id, node in graph.items():
        for name, value in node.get("inputs", {}).items():
            is_start_latent = node_id == sampler and name == "latent_image"
            if is_link(value) and str(value[0]) == source and not is_start_latent:
                return True
    return False


def _is_one(value: Any) -> bool:
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isclose(value, 1.0)
    )


def _reference_images(graph: Graph) -> int:
    return sum(1 for node in graph.values() if node.get("class_type") == "LoadImage")
