"""The Flux.1 Kontext and Wan 2.2 14B stacks of examples/ as the Hub serves them: the real
repos and paths, full-size virtual files (header reads, sizes) or tiny real ones (builds).

``other_stacks()`` is a scenario for HubServer; ``add_wan_lora_v2`` and
``repackage_flux_fp8`` are the upstream changes check-updates must find.
"""

from __future__ import annotations

from typing import Any

from .releases import made_up_sha
from .server import HubServer

FLUX_REPO = "Comfy-Org/flux1-kontext-dev_ComfyUI"
FLUX_ENCODERS = "comfyanonymous/flux_text_encoders"
LUMINA_REPO = "Comfy-Org/Lumina_Image_2.0_Repackaged"
WAN22_REPO = "Comfy-Org/Wan_2.2_ComfyUI_Repackaged"
WAN21_REPO = "Comfy-Org/Wan_2.1_ComfyUI_repackaged"
FLUX_FP8 = "split_files/diffusion_models/flux1-dev-kontext_fp8_scaled.safetensors"
WAN_LORA = "split_files/loras/wan2.2_i2v_lightx2v_{steps}steps_lora_v{version}_{expert}.safetensors"
WAN_EXPERT = "split_files/diffusion_models/wan2.2_i2v_{expert}_14B_fp8_scaled.safetensors"

# Knobs for tiny files of the same structure (small=True): widths that still divide.
_SMALL: dict[str, dict[str, Any]] = {
    "flux_transformer": {"depth": 2, "single": 1, "hidden": 64},
    "wan_transformer": {"layers": 2, "dim": 64, "ffn": 128},
    "family_lora": {"layers": 2, "hidden": 64, "ffn": 128, "rank": 4},
    "t5_encoder": {"blocks": 1, "hidden": 64, "ff": 128, "vocab": 256},
    "clip_text_encoder": {"layers": 1, "hidden": 64, "vocab": 256},
    "image_vae": {"base": 8},
    "qwen_vae": {"base": 8},
}


def _file(generator: str, seed: int, small: bool, **args: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"generator": generator, "seed": seed}
    if small:
        spec["args"] = {**args, **_SMALL[generator]}
        spec["real"] = True
    else:
        spec["args"] = args
        spec["sha256"] = made_up_sha(f"{generator}-{seed}")
    return spec


def _repo(repo: str, date: str, files: dict[str, Any]) -> dict[str, Any]:
    readme = {"README.md": {"text": f"# {repo.split('/')[1]}\n"}}
    return {"id": repo, "commits": [{"date": date, "title": "Upload", "files": readme | files}]}


def other_stacks(*, small: bool = False) -> dict[str, Any]:
    """Both stacks' repos; full size by default (flux1-dev-kontext_fp8_scaled 11.9 GB,
    each Wan expert 14.3 GB, each Wan Lightning LoRA 1.2 GB, ...)."""
    f = small
    lora = {"family": "wan", "rank": 128}
    return {
        "repos": [
            _repo(FLUX_REPO, "2025-06-26T16:00:00.000Z", {
                FLUX_FP8: _file("flux_transformer", 101, f),
                "split_files/diffusion_models/flux1-dev-kontext_bf16.safetensors":
                    _file("flux_transformer", 102, f, dtype="BF16", scaled=False),
            }),
            _repo(FLUX_ENCODERS, "2024-08-01T10:00:00.000Z", {
                "clip_l.safetensors": _file("clip_text_encoder", 103, f),
                "t5xxl_fp8_e4m3fn_scaled.safetensors": _file("t5_encoder", 104, f),
                "t5xxl_fp16.safetensors": _file("t5_encoder", 105, f, dtype="F16", scaled=False),
            }),
            _repo(LUMINA_REPO, "2025-02-05T10:00:00.000Z", {
                "split_files/vae/ae.safetensors": _file("image_vae", 106, f),
            }),
            _repo(WAN22_REPO, "2025-07-28T12:00:00.000Z", {
                WAN_EXPERT.format(expert="high_noise"): _file("wan_transformer", 111, f),
                WAN_EXPERT.format(expert="low_noise"): _file("wan_transformer", 112, f),
                WAN_LORA.format(steps=4, version=1, expert="high_noise"):
                    _file("family_lora", 113, f, **lora),
                WAN_LORA.format(steps=4, version=1, expert="low_noise"):
                    _file("family_lora", 114, f, **lora),
                "split_files/vae/wan_2.1_vae.safetensors": _file("qwen_vae", 115, f),
            }),
            _repo(WAN21_REPO, "2025-02-26T12:00:00.000Z", {
                "split_files/text_encoders/umt5_xxl_fp8_e4m3fn_scaled.safetensors":
                    _file("t5_encoder", 116, f, vocab=256384),
            }),
        ]
    }  # fmt: skip


def add_wan_lora_v2(server: HubServer, *, small: bool = False) -> None:
    """lightx2v's second version of the 4-step LoRAs, repackaged beside the first."""
    lora = {"family": "wan", "rank": 128}
    server.commit(
        WAN22_REPO,
        {
            WAN_LORA.format(steps=4, version=2, expert=expert): _file(
                "family_lora", 120 + n, small, **lora
            )
            for n, expert in enumerate(("high_noise", "low_noise"))
        },
        title="Add lightx2v 4-step LoRAs v2",
        date="2025-09-01T12:00:00.000Z",
    )


def repackage_flux_fp8(server: HubServer, *, small: bool = False) -> None:
    """Comfy-Org re-uploads the fp8 file under its name: a content change."""
    server.commit(
        FLUX_REPO,
        {FLUX_FP8: _file("flux_transformer", 130, small)},
        title="Re-export fp8_scaled",
        date="2025-08-10T12:00:00.000Z",
    )
