"""Upstream releases after the pinned 2509 stack, as commits on the loopback Hub.

check-updates scenarios, the update command tests and the check-updates benchmark add
them to a running server; each file carries a made-up but stable sha256.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .server import HubServer

EDIT_REPO = "Comfy-Org/Qwen-Image-Edit_ComfyUI"
IMAGE_REPO = "Comfy-Org/Qwen-Image_ComfyUI"
LORA_REPO = "lightx2v/Qwen-Image-Lightning"
LORA_2511_REPO = "lightx2v/Qwen-Image-Edit-2511-Lightning"
DIFFUSION_DIR = "split_files/diffusion_models"
TEXT_ENCODER = "split_files/text_encoders/qwen_2.5_vl_7b_fp8_scaled.safetensors"
VAE = "split_files/vae/qwen_image_vae.safetensors"
FP8MIXED_2511 = f"{DIFFUSION_DIR}/qwen_image_edit_2511_fp8mixed.safetensors"
INT8_2511 = f"{DIFFUSION_DIR}/qwen_image_edit_2511_int8_convrot.safetensors"
LORA_2511_4STEPS = "Qwen-Image-Edit-2511-Lightning-4steps-V1.0-bf16.safetensors"
SCALED_2509 = "Qwen-Image-Edit-2509/qwen_image_edit_2509_fp8_e4m3fn_scaled.safetensors"
# lightx2v's fused FP8 + Lightning 2511 base (scaled FP8 with the 4-step LoRA merged in).
FUSED_2511 = "qwen_image_edit_2511_fp8_e4m3fn_scaled_lightning_comfyui_4steps_v1.0.safetensors"


def made_up_sha(name: str) -> str:
    return hashlib.sha256(f"test-made-up:{name}".encode()).hexdigest()


def transformer(name: str, dtype: str, seed: int, **args: Any) -> dict[str, Any]:
    return {
        "generator": "qwen_image_transformer",
        "args": {"dtype": dtype, **args},
        "seed": seed,
        "sha256": made_up_sha(name),
    }


def lora(name: str, seed: int, **args: Any) -> dict[str, Any]:
    return {"generator": "lightning_lora", "args": args, "seed": seed, "sha256": made_up_sha(name)}


def add_2511_release(server: HubServer) -> None:
    """The real Dec 2025 release: bf16, fp8mixed and int8 files, one commit; fp8mixed and
    int8 in ComfyUI's mixed-precision layout (``.comfy_quant``, ``.weight_scale``)."""
    server.commit(
        EDIT_REPO,
        {
            f"{DIFFUSION_DIR}/qwen_image_edit_2511_bf16.safetensors": transformer(
                "2511-bf16", "BF16", 41, edit_2511=True
            ),
            FP8MIXED_2511: transformer("2511-fp8mixed", "F8_E4M3", 42, edit_2511=True, mixed=True),
            INT8_2511: transformer("2511-int8", "I8", 43, edit_2511=True, mixed=True),
        },
        title="Add Qwen-Image-Edit-2511",
        date="2025-12-23T10:00:00.000Z",
    )


def add_2511_lora_repo(
    server: HubServer, *, steps: tuple[int, ...] = (4, 8), fused: bool = True
) -> None:
    """lightx2v's 2511 repo: the Lightning LoRAs and (``fused``) the fused 4-step base."""
    files = {
        f"Qwen-Image-Edit-2511-Lightning-{n}steps-V1.0-bf16.safetensors": lora(f"2511-{n}", 60 + n)
        for n in steps
    }
    files["README.md"] = {"text": "# Qwen-Image-Edit-2511-Lightning\n"}
    if fused:
        files[FUSED_2511] = transformer(
            "2511-fused-4steps", "F8_E4M3", 69, scaled=True, edit_2511=True
        )
    server.add_repo(
        {
            "id": LORA_2511_REPO,
            "commits": [{"date": "2025-12-24T03:00:00.000Z", "title": "Upload", "files": files}],
        }
    )


def publish_2511(server: HubServer) -> None:
    """Upstream publishes the 2511 base (bf16, fp8mixed, int8) and its Lightning LoRAs."""
    add_2511_release(server)
    add_2511_lora_repo(server)
