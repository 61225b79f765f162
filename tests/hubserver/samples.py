"""Repo paths of the Qwen scenarios and a tiny scenario, for the loopback Hub's own tests."""

from __future__ import annotations

EDIT = "Comfy-Org/Qwen-Image-Edit_ComfyUI"
BASE = "Comfy-Org/Qwen-Image_ComfyUI"
LIGHTNING = "lightx2v/Qwen-Image-Lightning"
DIFFUSION_2509 = "split_files/diffusion_models/qwen_image_edit_2509_fp8_e4m3fn.safetensors"
TEXT_ENCODER = "split_files/text_encoders/qwen_2.5_vl_7b_fp8_scaled.safetensors"
LORA_4STEP = "Qwen-Image-Edit-2509/Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors"


TINY = {
    "repos": [
        {
            "id": "org/tiny",
            "aliases": ["org/tiny-old"],
            "commits": [
                {
                    "date": "2025-01-02T03:04:05.000Z",
                    "title": "first",
                    "files": {"a.txt": {"text": "one"}, "d/e/b.bin": {"raw": {"size": 3000}}},
                },
                {"title": "second", "files": {"a.txt": {"text": "two"}, "c.txt": {"text": "c"}}},
            ],
            "tags": {"v1": 0},
        },
        {
            "id": "gate/keeper",
            "gated": True,
            "commits": [{"title": "init", "files": {"w.bin": {"raw": {"size": 2048, "seed": 5}}}}],
        },
    ]
}
