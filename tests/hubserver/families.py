"""Tensor layouts of other ComfyUI stacks: Flux.1, Wan 2.1/2.2, HiDream, SDXL, their text
encoders, VAEs and LoRAs.

Key names and shapes follow the model code ComfyUI loads them into (comfy/ldm/flux,
comfy/ldm/wan, comfy/ldm/hidream, comfy/ldm/modules/diffusionmodules/openaimodel) and
the keys its model_detection reads. Defaults reproduce the released files' parameter
counts; knobs (layers, widths) make tiny files of the same structure.
"""

from __future__ import annotations

from collections.abc import Callable

from ._safetensors import TensorSpec

Tensors = dict[str, TensorSpec]
Generated = tuple[Tensors, dict[str, str]]
_SMALL = "BF16"  # FP8 releases keep norms and biases in BF16


def _t(dtype: str, *shape: int) -> TensorSpec:
    return TensorSpec(dtype=dtype, shape=tuple(shape))


def _lin(out: Tensors, name: str, rows: int, cols: int, dtype: str, bias: bool = True) -> None:
    out[f"{name}.weight"] = _t(dtype, rows, cols)
    if bias:
        out[f"{name}.bias"] = _t(_SMALL if dtype.startswith("F8") else dtype, rows)


def _scaled(out: Tensors, dtype: str) -> None:
    """ComfyUI's scaled FP8 layout: a scale per FP8 weight and the scaled_fp8 marker."""
    if not dtype.startswith("F8"):
        return
    for name in [n for n, t in out.items() if n.endswith(".weight") and t.dtype == dtype]:
        out[name.removesuffix(".weight") + ".scale_weight"] = TensorSpec("F32", (), 1.0)
    out["scaled_fp8"] = _t(dtype, 0)


def flux_linears(hidden: int) -> dict[str, tuple[int, int]]:
    """Per double block: the linears a Flux LoRA in ComfyUI's layout targets."""
    mlp = 4 * hidden
    shapes: dict[str, tuple[int, int]] = {}
    for stream in ("img", "txt"):
        shapes[f"{stream}_mod.lin"] = (6 * hidden, hidden)
        shapes[f"{stream}_attn.qkv"] = (3 * hidden, hidden)
        shapes[f"{stream}_attn.proj"] = (hidden, hidden)
        shapes[f"{stream}_mlp.0"] = (mlp, hidden)
        shapes[f"{stream}_mlp.2"] = (hidden, mlp)
    return shapes


def flux_transformer(
    depth: int = 19,
    single: int = 38,
    hidden: int = 3072,
    dtype: str = "F8_E4M3",
    scaled: bool = True,
    guidance: bool = True,
    in_channels: int = 16,
) -> Generated:
    """Flux.1 dev / Kontext dev (guidance) or schnell: 11.9 B parameters at full size."""
    out: Tensors = {}
    small = _SMALL if dtype.startswith("F8") else dtype
    head = 128 if hidden >= 128 else hidden
    _lin(out, "img_in", hidden, 4 * in_channels, dtype)
    _lin(out, "txt_in", hidden, 4096, dtype)
    for embedder, width in (("time_in", 256), ("vector_in", 768), ("guidance_in", 256)):
        if embedder == "guidance_in" and not guidance:
            continue
        _lin(out, f"{embedder}.in_layer", hidden, width, dtype)
        _lin(out, f"{embedder}.out_layer", hidden, hidden, dtype)
    for n in range(depth):
        block = f"double_blocks.{n}"
        for suffix, (rows, cols) in flux_linears(hidden).items():
            _lin(out, f"{block}.{suffix}", rows, cols, dtype)
        for stream in ("img", "txt"):
            for norm in ("query_norm", "key_norm"):
                out[f"{block}.{stream}_attn.norm.{norm}.scale"] = _t(small, head)
    for n in range(single):
        block = f"single_blocks.{n}"
        _lin(out, f"{block}.linear1", 3 * hidden + 4 * hidden, hidden, dtype)
        _lin(out, f"{block}.linear2", hidden, hidden + 4 * hidden, dtype)
        _lin(out, f"{block}.modulation.lin", 3 * hidden, hidden, dtype)
        for norm in ("query_norm", "key_norm"):
            out[f"{block}.norm.{norm}.scale"] = _t(small, head)
    _lin(out, "final_layer.linear", 4 * 16, hidden, dtype)
    _lin(out, "final_layer.adaLN_modulation.1", 2 * hidden, hidden, dtype)
    if scaled:
        _scaled(out, dtype)
    return out, {}


def wan_linears(dim: int, ffn: int) -> dict[str, tuple[int, int]]:
    """Per block: the linears a Wan LoRA (lightx2v, ComfyUI layout) targets."""
    shapes = {f"self_attn.{n}": (dim, dim) for n in "qkvo"}
    shapes |= {f"cross_attn.{n}": (dim, dim) for n in "qkvo"}
    return shapes | {"ffn.0": (ffn, dim), "ffn.2": (dim, ffn)}


def wan_transformer(
    layers: int = 40,
    dim: int = 5120,
    ffn: int = 13824,
    in_dim: int = 36,
    out_dim: int = 16,
    dtype: str = "F8_E4M3",
    scaled: bool = True,
    clip_vision: bool = False,
) -> Generated:
    """Wan 2.1 / 2.2 14B (in_dim 36 without img_emb: Wan 2.2 image-to-video): 14.3 B."""
    out: Tensors = {}
    small = _SMALL if dtype.startswith("F8") else dtype
    out["patch_embedding.weight"] = _t(dtype, dim, in_dim, 1, 2, 2)
    out["patch_embedding.bias"] = _t(small, dim)
    _lin(out, "text_embedding.0", dim, 4096, dtype)
    _lin(out, "text_embedding.2", dim, dim, dtype)
    _lin(out, "time_embedding.0", dim, 256, dtype)
    _lin(out, "time_embedding.2", dim, dim, dtype)
    _lin(out, "time_projection.1", 6 * dim, dim, dtype)
    for n in range(layers):
        block = f"blocks.{n}"
        for suffix, (rows, cols) in wan_linears(dim, ffn).items():
            _lin(out, f"{block}.{suffix}", rows, cols, dtype)
        for attn in ("self_attn", "cross_attn"):
            out[f"{block}.{attn}.norm_q.weight"] = _t(small, dim)
            out[f"{block}.{attn}.norm_k.weight"] = _t(small, dim)
        out[f"{block}.norm3.weight"] = _t(small, dim)
        out[f"{block}.norm3.bias"] = _t(small, dim)
        out[f"{block}.modulation"] = _t(small, 1, 6, dim)
    if clip_vision:  # Wan 2.1 image-to-video: CLIP vision features through img_emb
        out["img_emb.proj.0.weight"] = _t(small, 1280)
        out["img_emb.proj.0.bias"] = _t(small, 1280)
        _lin(out, "img_emb.proj.1", 1280, 1280, dtype)
        _lin(out, "img_emb.proj.3", dim, 1280, dtype)
    _lin(out, "head.head", 4 * out_dim, dim, dtype)
    out["head.modulation"] = _t(small, 1, 2, dim)
    if scaled:
        _scaled(out, dtype)
    return out, {}


def family_lora(
    family: str = "wan",
    layers: int = 40,
    hidden: int = 5120,
    ffn: int = 13824,
    rank: int = 64,
    dtype: str = "BF16",
) -> Generated:
    """A LoRA in ComfyUI's layout (``diffusion_model.<module>.lora_down/up``, alpha), over
    the linears of a Wan (lightx2v Lightning) or Flux block."""
    linears = wan_linears(hidden, ffn) if family == "wan" else flux_linears(hidden)
    prefix = "blocks" if family == "wan" else "double_blocks"
    out: Tensors = {}
    for n in range(layers):
        for suffix, (rows, cols) in linears.items():
            target = f"diffusion_model.{prefix}.{n}.{suffix}"
            out[f"{target}.lora_down.weight"] = _t(dtype, rank, cols)
            out[f"{target}.lora_up.weight"] = _t(dtype, rows, rank)
            out[f"{target}.alpha"] = TensorSpec("F32", (), float(rank))
    return out, {}


def t5_encoder(
    blocks: int = 24,
    hidden: int = 4096,
    ff: int = 10240,
    vocab: int = 32128,
    dtype: str = "F8_E4M3",
    scaled: bool = True,
) -> Generated:
    """T5-XXL encoder (vocab 32128: Flux, HiDream) or UMT5-XXL (256384: Wan): 4.8 / 5.7 B."""
    out: Tensors = {"shared.weight": _t(_SMALL, vocab, hidden)}
    for n in range(blocks):
        p = f"encoder.block.{n}.layer"
        for name in "qkvo":
            out[f"{p}.0.SelfAttention.{name}.weight"] = _t(dtype, hidden, hidden)
        out[f"{p}.0.layer_norm.weight"] = _t(_SMALL, hidden)
        out[f"{p}.1.DenseReluDense.wi_0.weight"] = _t(dtype, ff, hidden)
        out[f"{p}.1.DenseReluDense.wi_1.weight"] = _t(dtype, ff, hidden)
        out[f"{p}.1.DenseReluDense.wo.weight"] = _t(dtype, hidden, ff)
        out[f"{p}.1.layer_norm.weight"] = _t(_SMALL, hidden)
    out["encoder.final_layer_norm.weight"] = _t(_SMALL, hidden)
    if scaled:
        _scaled(out, dtype)
    return out, {}


def clip_text_encoder(
    layers: int = 12, hidden: int = 768, vocab: int = 49408, dtype: str = "F16"
) -> Generated:
    """CLIP text model: CLIP-L (12 x 768, 0.12 B) or CLIP-G (32 x 1280)."""
    out: Tensors = {
        "text_model.embeddings.token_embedding.weight": _t(dtype, vocab, hidden),
        "text_model.embeddings.position_embedding.weight": _t(dtype, 77, hidden),
    }
    for n in range(layers):
        p = f"text_model.encoder.layers.{n}"
        for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
            _lin(out, f"{p}.self_attn.{name}", hidden, hidden, dtype)
        _lin(out, f"{p}.mlp.fc1", 4 * hidden, hidden, dtype)
        _lin(out, f"{p}.mlp.fc2", hidden, 4 * hidden, dtype)
        for norm in ("layer_norm1", "layer_norm2"):
            out[f"{p}.{norm}.weight"] = _t(dtype, hidden)
            out[f"{p}.{norm}.bias"] = _t(dtype, hidden)
    out["text_model.final_layer_norm.weight"] = _t(dtype, hidden)
    return out, {}


def image_vae(base: int = 128, z_channels: int = 16, dtype: str = "F32") -> Generated:
    """2D autoencoder as Flux's ae (16 latent channels) or the SD/SDXL VAE (4): ~84 M."""
    out: Tensors = {}

    def conv(name: str, cout: int, cin: int, k: int = 3) -> None:
        out[f"{name}.weight"] = _t(dtype, cout, cin, k, k)
        out[f"{name}.bias"] = _t(dtype, cout)

    def resnet(name: str, cin: int, cout: int) -> None:
        for norm, width in (("norm1", cin), ("norm2", cout)):
            out[f"{name}.{norm}.weight"] = _t(dtype, width)
            out[f"{name}.{norm}.bias"] = _t(dtype, width)
        conv(f"{name}.conv1", cout, cin)
        conv(f"{name}.conv2", cout, cout)
        if cin != cout:
            conv(f"{name}.nin_shortcut", cout, cin, 1)

    mults = (1, 2, 4, 4)
    conv("encoder.conv_in", base, 3)
    cin = base
    for level, m in enumerate(mults):
        for n in range(2):
            resnet(f"encoder.down.{level}.block.{n}", cin, base * m)
            cin = base * m
        if level < len(mults) - 1:
            conv(f"encoder.down.{level}.downsample.conv", cin, cin)
    top = base * mults[-1]
    for n in (1, 2):
        resnet(f"encoder.mid.block_{n}", top, top)
        resnet(f"decoder.mid.block_{n}", top, top)
    conv("encoder.conv_out", 2 * z_channels, top)
    conv("decoder.conv_in", top, z_channels)
    cin = top
    for level, m in reversed(list(enumerate(mults))):
        for n in range(3):
            resnet(f"decoder.up.{level}.block.{n}", cin, base * m)
            cin = base * m
        if level > 0:
            conv(f"decoder.up.{level}.upsample.conv", cin, cin)
    conv("decoder.conv_out", 3, base)
    return out, {}


def hidream_markers(hidden: int = 2560, dtype: str = "F8_E4M3") -> Generated:
    """The tensors ComfyUI's model_detection reads for HiDream-I1 (caption projection,
    the first double- and single-stream blocks); not a whole model."""
    out: Tensors = {}
    _lin(out, "caption_projection.0.linear", hidden, 4096, dtype, bias=False)
    _lin(out, "x_embedder.proj", hidden, 64, dtype)
    _lin(out, "double_stream_blocks.0.block.attn1.to_q", hidden, hidden, dtype)
    _lin(out, "single_stream_blocks.0.block.attn1.to_q", hidden, hidden, dtype)
    return out, {}


def sdxl_unet_markers(prefix: str = "model.diffusion_model.", adm: int = 2816) -> Generated:
    """The tensors ComfyUI's model_detection reads for an SDXL checkpoint's UNet (input
    conv, label embedding, a cross-attention key); not a whole model."""
    out: Tensors = {
        f"{prefix}input_blocks.0.0.weight": _t("F16", 320, 4, 3, 3),
        f"{prefix}input_blocks.0.0.bias": _t("F16", 320),
        f"{prefix}label_emb.0.0.weight": _t("F16", 1280, adm),
        f"{prefix}input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight": _t("F16", 640, 2048),
        f"{prefix}out.2.weight": _t("F16", 4, 320, 3, 3),
    }
    return out, {}


GENERATORS: dict[str, Callable[..., Generated]] = {
    "flux_transformer": flux_transformer,
    "wan_transformer": wan_transformer,
    "family_lora": family_lora,
    "t5_encoder": t5_encoder,
    "clip_text_encoder": clip_text_encoder,
    "image_vae": image_vae,
    "hidream_markers": hidream_markers,
    "sdxl_unet_markers": sdxl_unet_markers,
}
