"""The loopback servers' "model": output pixels computed from the graph, deterministically.

Not a diffusion model: a cheap function with the properties the tests need. The seed
and prompt pick a coarse colour field and a fine noise pattern; the noise shrinks with
more steps, so 4 and 3 steps give similar images (high SSIM) and 2 steps a visibly
noisier one, while another seed changes everything. The LoRA strength scales the
edit. Fault markers in the prompt trigger the failures a real worker has.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

NODE_ERROR_MARK = "[node-error]"  # the sampler raises, as a CUDA OOM would
HANG_MARK = "[hang]"  # execution never finishes (until interrupted)
NO_OUTPUT_MARK = "[no-output]"  # finishes, but the save node writes nothing
BAD_OUTPUT_MARK = "[bad-output]"  # the saved "image" is not one
MANY_OUTPUTS_MARK = "[many-outputs]"  # the save node lists 400 images (a broken history)
_PLACEHOLDER = re.compile(r"\{\{.*\}\}")


class NodeError(Exception):
    def __init__(self, node_id: str, node_type: str, message: str):
        super().__init__(message)
        self.node_id, self.node_type, self.message = node_id, node_type, message


@dataclass(frozen=True)
class Recipe:
    """What the graph asks for, read the way ComfyUI would wire it."""

    images: tuple[str, ...]
    prompt: str
    seed: int
    steps: int
    lora_strength: float
    sampler_id: str
    save_ids: tuple[str, ...]
    video_ids: tuple[str, ...] = ()  # SaveVideo (MP4) / SaveAnimatedWEBP nodes
    frames: int = 9


def _order(node_id: str) -> tuple[int, str]:
    return (int(node_id), "") if node_id.isdigit() else (1 << 62, node_id)


def validate(graph: Any, inputs: set[str]) -> dict[str, Any]:
    """ComfyUI-style node_errors: {} when the graph would run."""
    errors: dict[str, Any] = {}
    if not isinstance(graph, dict) or not graph:
        return {"": {"errors": [{"message": "prompt is not a graph", "details": ""}]}}
    for node_id, node in graph.items():
        problems = []
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str):
            problems.append({"message": "node has no class_type", "details": node_id})
        else:
            for name, value in (node.get("inputs") or {}).items():
                if isinstance(value, str) and _PLACEHOLDER.search(value):
                    problems.append(
                        {
                            "type": "value_not_in_list",
                            "message": "Value not in list",
                            "details": f"{name}: {value!r}",
                        }
                    )
            if node["class_type"] == "LoadImage" and node["inputs"].get("image") not in inputs:
                problems.append(
                    {
                        "type": "custom_validation_failed",
                        "message": "Custom validation failed for node",
                        "details": f"image - Invalid image file: {node['inputs'].get('image')}",
                    }
                )
        if problems:
            errors[node_id] = {
                "errors": problems,
                "class_type": node.get("class_type") if isinstance(node, dict) else None,
            }
    return errors


_SAMPLERS = ("KSampler", "KSamplerAdvanced")
_VIDEO_SAVERS = ("SaveVideo", "SaveAnimatedWEBP")
_CONDITIONING = ("conditioning", "positive")


def _prompt_text(graph: dict[str, Any], link: Any) -> str:
    """The text at the start of a conditioning chain (FluxGuidance -> ReferenceLatent ->
    CLIPTextEncode, WanImageToVideo -> CLIPTextEncode), as ComfyUI would evaluate it."""
    seen: set[str] = set()
    while isinstance(link, list) and link and str(link[0]) in graph and str(link[0]) not in seen:
        node_id = str(link[0])
        seen.add(node_id)
        inputs = graph[node_id].get("inputs", {})
        for name in ("prompt", "text"):
            if isinstance(inputs.get(name), str):
                return str(inputs[name])
        link = next((inputs[n] for n in _CONDITIONING if isinstance(inputs.get(n), list)), None)
    return ""


def recipe(graph: dict[str, Any]) -> Recipe:
    by_type: dict[str, list[str]] = {}
    for node_id in sorted(graph, key=_order):
        by_type.setdefault(graph[node_id]["class_type"], []).append(node_id)
    samplers = [n for t in _SAMPLERS for n in by_type.get(t, [])]
    noisy = [n for n in samplers if graph[n]["inputs"].get("add_noise", "enable") != "disable"]
    sampler_id = (noisy or ["?"])[0]
    sampler = graph.get(sampler_id, {}).get("inputs", {})
    lora = graph.get((by_type.get("LoraLoaderModelOnly") or ["?"])[0], {}).get("inputs", {})
    video = graph.get((by_type.get("WanImageToVideo") or ["?"])[0], {}).get("inputs", {})
    return Recipe(
        images=tuple(graph[n]["inputs"]["image"] for n in by_type.get("LoadImage", [])),
        prompt=_prompt_text(graph, sampler.get("positive")),
        seed=int(sampler.get("seed", sampler.get("noise_seed", 0))),
        steps=max(1, int(sampler.get("steps", 1))),
        lora_strength=float(lora.get("strength_model", 1.0)),
        sampler_id=sampler_id,
        save_ids=tuple(by_type.get("SaveImage", [])),
        video_ids=tuple(n for t in _VIDEO_SAVERS for n in by_type.get(t, [])),
        frames=int(video.get("length", 9)),
    )


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0


def render(plan: Recipe, uploads: dict[str, bytes]) -> bytes:
    """The output PNG for this recipe; raises NodeError for the node-error marker."""
    if NODE_ERROR_MARK in plan.prompt:
        raise NodeError(plan.sampler_id, "KSampler", "Allocation on device: out of memory")
    if BAD_OUTPUT_MARK in plan.prompt:
        return b"<html>502 Bad Gateway</html>"
    # Text-to-image: no input, the edit is drawn on a grey canvas.
    base = _pixels(uploads[plan.images[0]]) if plan.images else np.full((32, 32, 3), 0.5)
    height, width = base.shape[:2]
    for name in plan.images[1:]:
        other = Image.open(io.BytesIO(uploads[name])).convert("RGB").resize((width, height))
        base = 0.75 * base + 0.25 * np.asarray(other, dtype=np.float64) / 255.0
    words = [plan.seed & 0xFFFFFFFF, plan.seed >> 32, zlib.crc32(plan.prompt.encode())]
    rng = np.random.default_rng(words)
    coarse = (rng.random((8, 8, 3)) * 255).astype(np.uint8)
    field = Image.fromarray(coarse, mode="RGB").resize((width, height), Image.Resampling.BILINEAR)
    edit = np.asarray(field, dtype=np.float64) / 255.0
    detail = rng.standard_normal((height, width, 3))
    weight = 0.35 * min(max(plan.lora_strength, 0.0), 2.0)
    out = (1 - weight) * base + weight * edit + (0.35 / plan.steps) * detail
    buffer = io.BytesIO()
    Image.fromarray((np.clip(out, 0, 1) * 255).round().astype(np.uint8), mode="RGB").save(
        buffer, format="PNG", compress_level=1
    )
    return buffer.getvalue()


def mp4(frames: int, width: int = 32, height: int = 32) -> bytes:
    """A structurally valid MP4 (ftyp, moov with one video track, mdat) of ``frames``
    samples: what SaveVideo writes, minus real codec data."""

    def box(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I4s", 8 + len(payload), kind) + payload

    tkhd = bytes(76) + struct.pack(">II", width << 16, height << 16)
    hdlr = bytes(8) + b"vide" + bytes(12) + b"VideoHandler\0"
    stsz = bytes(4) + struct.pack(">II", 0, frames) + struct.pack(f">{frames}I", *[1] * frames)
    stbl = box(b"stbl", box(b"stsz", stsz))
    mdia = box(b"mdia", box(b"hdlr", hdlr) + box(b"minf", stbl))
    moov = box(b"moov", box(b"trak", box(b"tkhd", tkhd) + mdia))
    return box(b"ftyp", b"isom\0\0\2\0isomiso2mp41") + moov + box(b"mdat", bytes(frames))


def animated_webp(frames: int, size: int = 16) -> bytes:
    images = [Image.new("RGB", (size, size), (i * 7 % 256, 64, 128)) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="WEBP", save_all=True, append_images=images[1:], duration=62)
    return buffer.getvalue()
