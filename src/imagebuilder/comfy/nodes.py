"""What imagebuilder knows about ComfyUI nodes: loaders, their folders, output counts.

Shared by rendering, the consistency checks and import-template. Facts from ComfyUI's
node definitions (nodes.py, comfy_extras); only the nodes these stacks use are listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imagebuilder.project.config import Role

# An API-format graph: node id -> {"class_type": ..., "inputs": {...}, "_meta": {...}}.
Graph = dict[str, Any]


@dataclass(frozen=True)
class Loader:
    """A node that loads a model file: which inputs name files, in which folder."""

    inputs: tuple[str, ...]
    folder: str  # ComfyUI's canonical folder (models/<folder>)
    role: Role  # the models.yaml role of the files it loads
    patches: str | None = None  # a LoRA loader: the input that carries the model it patches


def _clips(count: int) -> tuple[str, ...]:
    return tuple(f"clip_name{i}" for i in range(1, count + 1))


# Every loader in ComfyUI's nodes.py and comfy_extras that names a file of a model folder.
LOADERS: dict[str, Loader] = {
    "CheckpointLoaderSimple": Loader(("ckpt_name",), "checkpoints", Role.CHECKPOINT),
    "CheckpointLoader": Loader(("ckpt_name",), "checkpoints", Role.CHECKPOINT),
    "unCLIPCheckpointLoader": Loader(("ckpt_name",), "checkpoints", Role.CHECKPOINT),
    "ImageOnlyCheckpointLoader": Loader(("ckpt_name",), "checkpoints", Role.CHECKPOINT),
    "UNETLoader": Loader(("unet_name",), "diffusion_models", Role.DIFFUSION_MODEL),
    "CLIPLoader": Loader(("clip_name",), "text_encoders", Role.TEXT_ENCODER),
    "DualCLIPLoader": Loader(_clips(2), "text_encoders", Role.TEXT_ENCODER),
    "TripleCLIPLoader": Loader(_clips(3), "text_encoders", Role.TEXT_ENCODER),
    "QuadrupleCLIPLoader": Loader(_clips(4), "text_encoders", Role.TEXT_ENCODER),
    "VAELoader": Loader(("vae_name",), "vae", Role.VAE),
    "LoraLoaderModelOnly": Loader(("lora_name",), "loras", Role.LORA, patches="model"),
    "LoraLoader": Loader(("lora_name",), "loras", Role.LORA, patches="model"),
    "CLIPVisionLoader": Loader(("clip_name",), "clip_vision", Role.CLIP_VISION),
    "ControlNetLoader": Loader(("control_net_name",), "controlnet", Role.CONTROLNET),
    "DiffControlNetLoader": Loader(("control_net_name",), "controlnet", Role.CONTROLNET),
    "StyleModelLoader": Loader(("style_model_name",), "style_models", Role.STYLE_MODEL),
    "GLIGENLoader": Loader(("gligen_name",), "gligen", Role.GLIGEN),
    "UpscaleModelLoader": Loader(("model_name",), "upscale_models", Role.UPSCALE_MODEL),
    "ModelPatchLoader": Loader(("name",), "model_patches", Role.MODEL_PATCH),
    "HypernetworkLoader": Loader(("hypernetwork_name",), "hypernetworks", Role.HYPERNETWORK),
    "PhotoMakerLoader": Loader(("photomaker_model_name",), "photomaker", Role.PHOTOMAKER),
    "AudioEncoderLoader": Loader(("audio_encoder_name",), "audio_encoders", Role.AUDIO_ENCODER),
}

# ComfyUI's legacy folder names resolve to the same place as the canonical ones.
FOLDER_ALIASES: dict[str, str] = {
    "unet": "diffusion_models",
    "clip": "text_encoders",
    "t2i_adapter": "controlnet",
}

# Outputs per node type, for checking that a link's slot exists. Unknown types are
# checked only for the node's existence.
OUTPUT_COUNTS: dict[str, int] = {
    "UNETLoader": 1,
    "CLIPLoader": 1,
    "DualCLIPLoader": 1,
    "VAELoader": 1,
    "LoraLoaderModelOnly": 1,
    "LoraLoader": 2,
    "CLIPVisionLoader": 1,
    "CheckpointLoaderSimple": 3,
    "ModelSamplingAuraFlow": 1,
    "CFGNorm": 1,
    "TextEncodeQwenImageEditPlus": 1,
    "TextEncodeQwenImageEdit": 1,
    "FluxKontextImageScale": 1,
    "VAEEncode": 1,
    "VAEDecode": 1,
    "KSampler": 1,
    "LoadImage": 2,
    "SaveImage": 0,
    "EmptySD3LatentImage": 1,
    "GetImageSize": 3,
    "ConditioningZeroOut": 1,
    "CLIPTextEncode": 1,
}

SAMPLERS = frozenset({"KSampler", "KSamplerAdvanced"})
IMAGE_INPUTS = frozenset({"LoadImage"})
# Nodes whose results a job returns: images, and videos (Wan, Hunyuan, LTX workflows).
OUTPUT_NODES = frozenset(
    {"SaveImage", "PreviewImage", "SaveVideo", "SaveWEBM", "SaveAnimatedWEBP", "SaveAnimatedPNG"}
)


def canonical_folder(folder: str) -> str:
    return FOLDER_ALIASES.get(folder, folder)


def is_link(value: object) -> bool:
    """API format writes a link as [source node id, output slot]."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
    )


def node_sort_key(node_id: str) -> tuple[int, str]:
    """Numeric ids in numeric order, then anything else: stable, readable reports."""
    return (int(node_id), "") if node_id.isdigit() else (1 << 62, node_id)
