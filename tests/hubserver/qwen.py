"""Tensor layouts of the Qwen-Image-Edit stack (shapes from shared/reference/qwen-stack.md).

Every generator takes `layers` (and width knobs) so tests can build tiny but structurally
faithful files; the defaults reproduce the real checkpoints' headers and sizes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ._safetensors import TensorSpec
from .families import GENERATORS as FAMILY_GENERATORS

Tensors = dict[str, TensorSpec]
Generated = tuple[Tensors, dict[str, str]]

TEXT_DIM = 3584  # Qwen2.5-VL hidden size; also txt_norm / txt_in width in the transformer
_NORM_DTYPE = "BF16"  # FP8 checkpoints keep norms and biases in BF16


def _t(dtype: str, *shape: int, value: float | None = None) -> TensorSpec:
    return TensorSpec(dtype=dtype, shape=tuple(shape), value=value)


def _linear(
    out: Tensors,
    name: str,
    rows: int,
    cols: int,
    dtype: str,
    *,
    bias: bool,
    scaled: bool,
    mixed: bool = False,
) -> None:
    out[f"{name}.weight"] = _t(dtype, rows, cols)
    if bias:
        out[f"{name}.bias"] = _t(_NORM_DTYPE if dtype.startswith(("F8", "I8")) else dtype, rows)
    if scaled:
        out[f"{name}.scale_weight"] = _t("F32", value=1.0)
    if mixed:  # ComfyUI's mixed-precision layout (its comfy_quant JSON is a few dozen bytes)
        out[f"{name}.comfy_quant"] = _t("U8", 32)
        out[f"{name}.weight_scale"] = _t("F32", value=1.0)
        if dtype.startswith("F8"):
            out[f"{name}.input_scale"] = _t("F32", value=1.0)


def transformer_linears(hidden: int = 3072, text_dim: int = TEXT_DIM) -> dict[str, tuple[int, int]]:
    """Per-block linear layers the Lightning LoRAs target: suffix -> (out, in)."""
    mlp = 4 * hidden
    shapes = {
        f"attn.{n}": (hidden, hidden)
        for n in ("to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj")
    }
    shapes |= {"attn.to_out.0": (hidden, hidden), "attn.to_add_out": (hidden, hidden)}
    for stream in ("img_mlp", "txt_mlp"):
        shapes[f"{stream}.net.0.proj"] = (mlp, hidden)
        shapes[f"{stream}.net.2"] = (hidden, mlp)
    del text_dim  # kept in the signature so callers pass the same knobs everywhere
    return shapes


def qwen_image_transformer(
    layers: int = 60,
    dtype: str = "F8_E4M3",
    scaled: bool = False,
    edit_2511: bool = False,
    hidden: int = 3072,
    text_dim: int = TEXT_DIM,
    mixed: bool = False,
) -> Generated:
    """The diffusion model as ComfyUI ships it: bare diffusers-style keys, 20.4 B params.

    ``mixed``: ComfyUI's mixed-precision layout (fp8mixed, int8 releases): each quantized
    linear carries ``.comfy_quant`` and ``.weight_scale`` (FP8 also ``.input_scale``)."""
    fp8 = dtype.startswith("F8")
    small = _NORM_DTYPE if fp8 or dtype == "I8" else dtype  # dtype of biases and norms
    out: Tensors = {}

    def lin(name: str, rows: int, cols: int) -> None:
        _linear(out, name, rows, cols, dtype, bias=True, scaled=scaled and fp8, mixed=mixed)

    lin("img_in", hidden, 64)
    lin("txt_in", hidden, text_dim)
    out["txt_norm.weight"] = _t(small, text_dim)
    lin("time_text_embed.timestep_embedder.linear_1", hidden, 256)
    lin("time_text_embed.timestep_embedder.linear_2", hidden, hidden)
    head_dim = 128 if hidden >= 128 else hidden
    for n in range(layers):
        block = f"transformer_blocks.{n}"
        lin(f"{block}.img_mod.1", 6 * hidden, hidden)
        lin(f"{block}.txt_mod.1", 6 * hidden, hidden)
        for suffix, (rows, cols) in transformer_linears(hidden).items():
            lin(f"{block}.{suffix}", rows, cols)
        for norm in ("norm_q", "norm_k", "norm_added_q", "norm_added_k"):
            out[f"{block}.attn.{norm}.weight"] = _t(small, head_dim)
    lin("norm_out.linear", 2 * hidden, hidden)
    lin("proj_out", 64, hidden)
    if scaled and fp8:
        out["scaled_fp8"] = _t(dtype, 0)  # marker ComfyUI looks for; its dtype names the format
    if edit_2511:
        out["__index_timestep_zero__"] = _t(small, 0)
    return out, {"format": "pt"}


def qwen_text_encoder(
    dtype: str = "F8_E4M3",
    scaled: bool = True,
    layers: int = 28,
    hidden: int = TEXT_DIM,
    intermediate: int = 18944,
    vocab: int = 152064,
    vision_blocks: int = 32,
    vision_hidden: int = 1280,
) -> Generated:
    """Qwen2.5-VL-7B as ComfyUI's text encoder file: language model plus the vision tower."""
    fp8 = dtype.startswith("F8")
    small = _NORM_DTYPE if fp8 else dtype
    kv = max(hidden // 7, 1)  # 4 KV heads of 128 = 512 for the 7B model
    out: Tensors = {"model.embed_tokens.weight": _t(small, vocab, hidden)}
    for n in range(layers):
        p = f"model.layers.{n}"
        for name, rows, cols, bias in (
            ("self_attn.q_proj", hidden, hidden, True),
            ("self_attn.k_proj", kv, hidden, True),
            ("self_attn.v_proj", kv, hidden, True),
            ("self_attn.o_proj", hidden, hidden, False),
            ("mlp.gate_proj", intermediate, hidden, False),
            ("mlp.up_proj", intermediate, hidden, False),
            ("mlp.down_proj", hidden, intermediate, False),
        ):
            _linear(out, f"{p}.{name}", rows, cols, dtype, bias=bias, scaled=scaled and fp8)
        out[f"{p}.input_layernorm.weight"] = _t(small, hidden)
        out[f"{p}.post_attention_layernorm.weight"] = _t(small, hidden)
    out["model.norm.weight"] = _t(small, hidden)
    _vision_tower(out, vision_blocks, vision_hidden, hidden)
    if scaled and fp8:
        out["scaled_fp8"] = _t(dtype, 0)
    return out, {"format": "pt"}


def _vision_tower(out: Tensors, blocks: int, width: int, text_dim: int) -> None:
    # The vision tower stays BF16 in the scaled FP8 release.
    mlp = width * 3420 // 1280
    out["visual.patch_embed.proj.weight"] = _t("BF16", width, 3, 2, 14, 14)
    for n in range(blocks):
        p = f"visual.blocks.{n}"
        out[f"{p}.norm1.weight"] = _t("BF16", width)
        out[f"{p}.norm2.weight"] = _t("BF16", width)
        for name, rows, cols in (
            ("attn.qkv", 3 * width, width),
            ("attn.proj", width, width),
            ("mlp.gate_proj", mlp, width),
            ("mlp.up_proj", mlp, width),
            ("mlp.down_proj", width, mlp),
        ):
            _linear(out, f"{p}.{name}", rows, cols, "BF16", bias=True, scaled=False)
    merged = 4 * width
    out["visual.merger.ln_q.weight"] = _t("BF16", width)
    _linear(out, "visual.merger.mlp.0", merged, merged, "BF16", bias=True, scaled=False)
    _linear(out, "visual.merger.mlp.2", text_dim, merged, "BF16", bias=True, scaled=False)


def qwen_vae(dtype: str = "BF16", base: int = 96, z_dim: int = 16) -> Generated:
    """Wan-style causal 3D VAE, approximately: ~127 M params, ~254 MB in BF16."""
    out: Tensors = {}
    mults = (1, 2, 4, 4)

    def conv(name: str, cout: int, cin: int, k: int = 3) -> None:
        out[f"{name}.weight"] = _t(dtype, cout, cin, k, k, k)
        out[f"{name}.bias"] = _t(dtype, cout)

    def resblock(name: str, cin: int, cout: int) -> None:
        out[f"{name}.residual.0.gamma"] = _t(dtype, cin, 1, 1, 1)
        conv(f"{name}.residual.2", cout, cin)
        out[f"{name}.residual.3.gamma"] = _t(dtype, cout, 1, 1, 1)
        conv(f"{name}.residual.6", cout, cout)
        if cin != cout:
            conv(f"{name}.shortcut", cout, cin, 1)

    def stages(prefix: str, cin: int, widths: Sequence[int], blocks: int) -> None:
        """`blocks` resblocks per width, with a resample between widths."""
        index = 0
        for level, m in enumerate(widths):
            cout = base * m
            for _ in range(blocks):
                resblock(f"{prefix}.{index}", cin, cout)
                cin, index = cout, index + 1
            if level < len(widths) - 1:
                conv(f"{prefix}.{index}.resample.1", cout, cout)
                index += 1

    conv("encoder.conv1", base, 3)
    stages("encoder.downsamples", base, mults, blocks=2)
    top = base * mults[-1]
    for n in (0, 2):
        resblock(f"encoder.middle.{n}", top, top)
        resblock(f"decoder.middle.{n}", top, top)
    conv("encoder.head.2", 2 * z_dim, top)
    conv("conv1", 2 * z_dim, 2 * z_dim, 1)
    conv("conv2", z_dim, z_dim, 1)
    conv("decoder.conv1", top, z_dim)
    stages("decoder.upsamples", top, mults[::-1], blocks=3)
    conv("decoder.head.2", 3, base)
    return out, {}


LORA_CONVENTIONS = (
    "lora_up_down",
    "peft",
    "kohya",
    "diffusion_model_prefix",
    "transformer_prefix",
)


def lightning_lora(
    rank: int = 64,
    dtype: str = "BF16",
    convention: str = "lora_up_down",
    layers: int = 60,
    alpha: bool = True,
    hidden: int = 3072,
) -> Generated:
    """Lightning-style LoRA over every attention and MLP linear: down [rank,in], up [out,rank]."""
    if convention not in LORA_CONVENTIONS:
        raise ValueError(f"unknown LoRA convention {convention!r}; one of {LORA_CONVENTIONS}")
    out: Tensors = {}
    for n in range(layers):
        for suffix, (rows, cols) in transformer_linears(hidden).items():
            target = f"transformer_blocks.{n}.{suffix}"
            down, up, alpha_key = _lora_keys(target, convention)
            out[down] = _t(dtype, rank, cols)
            out[up] = _t(dtype, rows, rank)
            if alpha:
                out[alpha_key] = _t("F32", value=float(rank))
    return out, {}


def _lora_keys(target: str, convention: str) -> tuple[str, str, str]:
    if convention == "peft":
        return f"{target}.lora_A.weight", f"{target}.lora_B.weight", f"{target}.alpha"
    if convention == "transformer_prefix":
        t = f"transformer.{target}"
        return f"{t}.lora_A.weight", f"{t}.lora_B.weight", f"{t}.alpha"
    if convention == "kohya":
        t = "lora_unet_" + target.replace(".", "_")
        return f"{t}.lora_down.weight", f"{t}.lora_up.weight", f"{t}.alpha"
    t = f"diffusion_model.{target}" if convention == "diffusion_model_prefix" else target
    return f"{t}.lora_down.weight", f"{t}.lora_up.weight", f"{t}.alpha"


GENERATORS: dict[str, Callable[..., Generated]] = {
    "qwen_image_transformer": qwen_image_transformer,
    "qwen_text_encoder": qwen_text_encoder,
    "qwen_vae": qwen_vae,
    "lightning_lora": lightning_lora,
    **FAMILY_GENERATORS,
}


def generate(name: str, args: dict[str, Any] | None = None) -> Generated:
    try:
        generator = GENERATORS[name]
    except KeyError:
        raise ValueError(f"unknown generator {name!r}; known: {sorted(GENERATORS)}") from None
    return generator(**(args or {}))
