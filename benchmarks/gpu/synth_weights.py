"""Write random weights with the exact keys, shapes and dtypes ComfyUI expects.

The key lists are never written by hand: each model is built from ComfyUI's own classes
on the meta device (no memory, no compute), exactly as its loaders would build it for
the pinned files, and its state_dict() names every tensor with its shape and dtype.
Values are random (seeded, so every run writes the same files): compute time does not
depend on them, and a seeded file makes two runs comparable pixel for pixel.

Which file plays which role comes from the rendered workflows' index.json
(pinned_files: loader class, folder, file name), so the names match the graphs.

    python3 synth_weights.py --comfyui PATH --index rendered/index.json \
        --models BASE/models [--only diffusion_model,text_encoder,vae,lora] [--scaled-fp8]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import torch
from safetensors.torch import save_file

FP8 = torch.float8_e4m3fn
BF16 = torch.bfloat16
LORA_RANK = 64
# The Lightning LoRAs target every Linear of each block's attention and MLPs
# (12 per block), not the modulation layers.
LORA_TARGET = re.compile(r"^transformer_blocks\.\d+\.(attn\.|img_mlp\.|txt_mlp\.)")
ROLE_OF_LOADER = {
    "UNETLoader": "diffusion_model",
    "CLIPLoader": "text_encoder",
    "VAELoader": "vae",
    "LoraLoaderModelOnly": "lora",
}


def diffusion_model_meta() -> torch.nn.Module:
    import comfy.ldm.qwen_image.model
    import comfy.ops

    # The class defaults are Qwen-Image's (60 blocks, 24x128 heads, joint dim 3584);
    # model detection reads the same numbers back from the file's shapes.
    return comfy.ldm.qwen_image.model.QwenImageTransformer2DModel(
        dtype=BF16, device="meta", operations=comfy.ops.disable_weight_init
    )


def diffusion_model_tensors(scaled: bool) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """The fp8_e4m3fn file: every Linear weight FP8, everything else bf16.

    ``scaled`` adds what a "scaled" FP8 file carries (a per-layer float32 scale_weight
    and the scaled_fp8 marker), which selects ComfyUI's scaled-FP8 operations.
    """
    model = diffusion_model_meta()
    linear_weights = {
        f"{name}.weight"
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear)
    }
    specs: dict[str, tuple[tuple[int, ...], torch.dtype]] = {}
    for key, tensor in model.state_dict().items():
        dtype = FP8 if key in linear_weights else BF16
        specs[key] = (tuple(tensor.shape), dtype)
        if scaled and key in linear_weights:
            specs[key.removesuffix("weight") + "scale_weight"] = ((), torch.float32)
    if scaled:
        specs["scaled_fp8"] = ((0,), FP8)
    return specs


def text_encoder_tensors() -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """What CLIPLoader type qwen_image builds for qwen_2.5_vl_7b_fp8_scaled: Qwen2.5-VL-7B
    (language model and vision tower) with ComfyUI's scaled-FP8 operations."""
    import comfy.text_encoders.qwen_image

    te_class = comfy.text_encoders.qwen_image.te(dtype_llama=BF16, llama_scaled_fp8=FP8)
    te = te_class(device="meta")
    transformer = te.qwen25_7b.transformer  # load_sd() loads the file into this module
    specs = {key: (tuple(t.shape), t.dtype) for key, t in transformer.state_dict().items()}
    # The published file also carries the language model's output head (bf16, 1.09 GB),
    # which ComfyUI's module has no slot for (it reads hidden states, and loads with
    # strict=False); keep it so the file size, and so the cold read time, match.
    vocab, hidden = transformer.model.embed_tokens.weight.shape
    specs["lm_head.weight"] = ((vocab, hidden), BF16)
    return specs


def vae_tensors() -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    import comfy.ldm.wan.vae

    # The Wan 2.1 VAE configuration ComfyUI's VAE class picks for this file's keys.
    with torch.device("meta"):
        vae = comfy.ldm.wan.vae.WanVAE(
            dim=96,
            z_dim=16,
            dim_mult=[1, 2, 4, 4],
            num_res_blocks=2,
            attn_scales=[],
            temperal_downsample=[False, True, True],
            dropout=0.0,
        )
    return {key: (tuple(t.shape), BF16) for key, t in vae.state_dict().items()}


def lora_tensors() -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """A rank-64 LoRA over the Linears the Lightning LoRA targets, bare key names."""
    model = diffusion_model_meta()
    specs: dict[str, tuple[tuple[int, ...], torch.dtype]] = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and LORA_TARGET.match(name):
            out_features, in_features = module.weight.shape
            specs[f"{name}.lora_down.weight"] = ((LORA_RANK, in_features), BF16)
            specs[f"{name}.lora_up.weight"] = ((out_features, LORA_RANK), BF16)
            specs[f"{name}.alpha"] = ((), BF16)
    return specs


def random_tensor(key: str, shape: tuple[int, ...], dtype: torch.dtype, seed: int) -> torch.Tensor:
    """Finite, well-scaled values: unit norms, zero biases, 1/sqrt(fan_in) weights."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if key == "scaled_fp8":
        return torch.empty(shape, dtype=dtype)
    if key.endswith(("scale_weight", "scale_input")):
        return torch.ones(shape, dtype=dtype)
    if key.endswith(".alpha"):
        return torch.full(shape, float(LORA_RANK), dtype=dtype)
    if key.endswith("bias"):
        return torch.zeros(shape, dtype=dtype)
    if len(shape) <= 1 or key.endswith("gamma"):
        return torch.ones(shape, dtype=dtype)
    generator = torch.Generator(device=device).manual_seed(seed)
    fan_in = 1
    for size in shape[1:]:
        fan_in *= size
    std = 1.0 / fan_in**0.5
    if key.endswith("lora_up.weight"):
        std *= 0.05  # a LoRA is a small correction of the base weight
    values = torch.randn(shape, generator=generator, device=device, dtype=torch.float32)
    return (values * std).to(dtype).cpu()


def materialise(
    specs: dict[str, tuple[tuple[int, ...], torch.dtype]], seed: int
) -> Iterator[tuple[str, torch.Tensor]]:
    for index, (key, (shape, dtype)) in enumerate(sorted(specs.items())):
        yield key, random_tensor(key, shape, dtype, seed * 1_000_003 + index)


def write(
    path: Path, specs: dict[str, tuple[tuple[int, ...], torch.dtype]], seed: int
) -> dict[str, object]:
    started = time.perf_counter()
    tensors = dict(materialise(specs, seed))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    save_file(tensors, str(partial))
    partial.replace(path)
    size = path.stat().st_size
    seconds = time.perf_counter() - started
    print(
        f"wrote {path} ({len(tensors)} tensors, {size / 1e9:.3f} GB) in {seconds:.1f} s", flush=True
    )
    return {"file": path.name, "tensors": len(tensors), "bytes": size, "seconds": round(seconds, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--comfyui", type=Path, required=True, help="ComfyUI source tree")
    parser.add_argument("--index", type=Path, required=True, help="rendered index.json")
    parser.add_argument("--models", type=Path, required=True, help="ComfyUI models folder")
    parser.add_argument("--only", default="diffusion_model,text_encoder,vae,lora")
    parser.add_argument(
        "--scaled-fp8", metavar="FILE", help="also write a scaled-FP8 diffusion model as FILE"
    )
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--report", type=Path, help="append a JSON line per file written")
    args = parser.parse_args()
    sys.path.insert(0, str(args.comfyui.resolve()))
    index = json.loads(args.index.read_text())
    pinned = {
        ROLE_OF_LOADER[entry["class_type"]]: entry
        for workflow in index["workflows"]
        for entry in workflow["pinned_files"]
        if entry["class_type"] in ROLE_OF_LOADER
    }
    builders = {
        "diffusion_model": lambda: diffusion_model_tensors(scaled=False),
        "text_encoder": text_encoder_tensors,
        "vae": vae_tensors,
        "lora": lora_tensors,
    }
    results = []
    for role in args.only.split(","):
        if role == "scaled_fp8":
            continue
        entry = pinned[role]
        target = args.models / entry["folder"] / entry["file"]
        results.append({"role": role, **write(target, builders[role](), args.seed)})
    if args.scaled_fp8:
        target = args.models / "diffusion_models" / args.scaled_fp8
        results.append(
            {
                "role": "diffusion_model_scaled_fp8",
                **write(target, diffusion_model_tensors(scaled=True), args.seed),
            }
        )
    if args.report:
        with args.report.open("a", encoding="utf-8") as report:
            for result in results:
                report.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
