"""The families imagebuilder recognises, as data: marker tensors from ComfyUI's
model_detection (diffusion models), text encoder and VAE loaders, in the order ComfyUI
tests them; knobs from the shapes those loaders read; LoRA module names per family.
"""

from __future__ import annotations

from imagebuilder.weights.family_types import Family, Knob, VariantRule

FAMILIES: tuple[Family, ...] = (
    Family(
        name="qwen_image",
        label="Qwen-Image / Qwen-Image-Edit",
        kind="diffusion_model",
        requires=("txt_norm.weight", "img_in.weight"),
        blocks="transformer_blocks.",
        knobs=(
            Knob("hidden_size", "img_in.weight", 0),
            Knob("in_channels", "img_in.weight", 1),
            Knob("out_channels", "proj_out.weight", 0),
            Knob("text_dim", "txt_norm.weight", 0),
        ),
        variants=(
            VariantRule("edit_2511", "Qwen-Image-Edit-2511", present=("__index_timestep_zero__",)),
        ),
        lora_modules=r"^transformer_blocks[._]\d+[._](attn|img_mlp|txt_mlp|img_mod|txt_mod)",
        nominal_params="20.4 B",
    ),
    Family(
        name="flux",
        label="Flux.1",
        kind="diffusion_model",
        requires=("double_blocks.0.img_attn.norm.key_norm.scale", "img_in.weight"),
        blocks="double_blocks.",
        knobs=(
            Knob("hidden_size", "img_in.weight", 0),
            Knob("in_channels", "img_in.weight", 1, divide=4),  # 2x2 patches
            Knob("text_dim", "txt_in.weight", 1),
        ),
        variants=(
            VariantRule(
                "fill",
                "Flux.1 Fill",
                present=("guidance_in.in_layer.weight",),
                shape=("img_in.weight", 1, 384),
            ),
            VariantRule(
                "dev",
                "Flux.1 dev / Kontext dev (one layout)",
                present=("guidance_in.in_layer.weight",),
            ),
            VariantRule("schnell", "Flux.1 schnell", absent=("guidance_in.in_layer.weight",)),
        ),
        lora_modules=r"^(double_blocks|single_blocks)[._]\d+[._]",
        nominal_params="11.9 B",
    ),
    Family(
        name="wan",
        label="Wan 2.1 / 2.2",
        kind="diffusion_model",
        requires=("head.modulation", "patch_embedding.weight"),
        blocks="blocks.",
        knobs=(
            Knob("hidden_size", "head.modulation", 2),
            Knob("in_channels", "patch_embedding.weight", 1),
            Knob("out_channels", "head.head.weight", 0, divide=4),  # 1x2x2 patches
            Knob("text_dim", "text_embedding.0.weight", 1),
        ),
        variants=(
            VariantRule("vace", "Wan VACE", present=("vace_patch_embedding.weight",)),
            VariantRule("ti2v_2.2", "Wan 2.2 TI2V 5B", shape=("head.head.weight", 0, 192)),
            VariantRule(
                "i2v_2.1",
                "Wan 2.1 image-to-video (CLIP vision)",
                present=("img_emb.proj.0.bias",),
            ),
            VariantRule(
                "i2v_2.2",
                "Wan 2.2 image-to-video (no CLIP vision)",
                shape=("patch_embedding.weight", 1, 36),
            ),
            VariantRule("t2v", "Wan 2.1 / 2.2 text-to-video (one layout)"),
        ),
        lora_modules=r"^blocks[._]\d+[._](self_attn|cross_attn|ffn)",
        nominal_params="14.3 B (14B), 5.0 B (TI2V 5B), 1.4 B (1.3B)",
    ),
    Family(
        name="hidream",
        label="HiDream-I1",
        kind="diffusion_model",
        requires=("caption_projection.0.linear.weight",),
        blocks="double_stream_blocks.",
        knobs=(Knob("hidden_size", "caption_projection.0.linear.weight", 0),),
        lora_modules=r"^(double_stream_blocks|single_stream_blocks)[._]\d+[._]",
        nominal_params="17.1 B",
    ),
    Family(
        name="sdxl",
        label="Stable Diffusion XL (UNet)",
        kind="checkpoint",
        requires=("input_blocks.0.0.weight", "label_emb.0.0.weight"),
        knobs=(
            Knob("hidden_size", "input_blocks.0.0.weight", 0),
            Knob("in_channels", "input_blocks.0.0.weight", 1),
            Knob("text_dim", "input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight", 1),
        ),
        variants=(
            VariantRule("base", "SDXL base", shape=("label_emb.0.0.weight", 1, 2816)),
            VariantRule("refiner", "SDXL refiner", shape=("label_emb.0.0.weight", 1, 2560)),
        ),
        lora_modules=r"^(input_blocks|middle_block|output_blocks)[._]\d+[._]",
        nominal_params="2.6 B (UNet; 3.5 B with both text encoders and the VAE)",
    ),
    Family(
        name="qwen25_vl",
        label="Qwen2.5-VL (text encoder)",
        kind="text_encoder",
        requires=("model.embed_tokens.weight", "visual.patch_embed.proj.weight"),
        blocks="model.layers.",
        knobs=(Knob("hidden_size", "model.embed_tokens.weight", 1),),
        nominal_params="7.7 B (7B, as in ComfyUI's file)",
    ),
    Family(
        name="causal_lm",
        label="Llama / Qwen3 decoder (text encoder)",
        kind="text_encoder",
        requires=("model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight"),
        blocks="model.layers.",
        knobs=(Knob("hidden_size", "model.embed_tokens.weight", 1),),
        variants=(
            VariantRule("llama3", "Llama 3", shape=("model.embed_tokens.weight", 0, 128256)),
        ),
        nominal_params="8.0 B (Llama 3.1 8B), 4.0 B (Qwen3 4B)",
    ),
    Family(
        name="t5",
        label="T5 encoder",
        kind="text_encoder",
        requires=("encoder.block.0.layer.0.SelfAttention.k.weight", "shared.weight"),
        blocks="encoder.block.",
        knobs=(Knob("hidden_size", "shared.weight", 1),),
        variants=(
            VariantRule("t5xxl", "T5-XXL (Flux, SD3, HiDream)", shape=("shared.weight", 0, 32128)),
            VariantRule("umt5_xxl", "UMT5-XXL (Wan)", shape=("shared.weight", 0, 256384)),
        ),
        nominal_params="4.8 B (T5-XXL), 5.7 B (UMT5-XXL)",
    ),
    Family(
        name="clip_text",
        label="CLIP text encoder",
        kind="text_encoder",
        requires=("text_model.encoder.layers.0.self_attn.k_proj.weight",),
        blocks="text_model.encoder.layers.",
        knobs=(Knob("hidden_size", "text_model.encoder.layers.0.self_attn.k_proj.weight", 0),),
        variants=(
            VariantRule(
                "clip_l",
                "CLIP-L",
                shape=("text_model.encoder.layers.0.self_attn.k_proj.weight", 0, 768),
            ),
            VariantRule(
                "clip_g",
                "CLIP-G",
                shape=("text_model.encoder.layers.0.self_attn.k_proj.weight", 0, 1280),
            ),
        ),
        nominal_params="0.12 B (CLIP-L), 0.69 B (CLIP-G)",
    ),
    Family(
        name="wan_vae",
        label="Wan causal 3D VAE (also Qwen-Image's)",
        kind="vae",
        requires=("encoder.conv1.weight", "decoder.conv1.weight"),
        knobs=(
            Knob("hidden_size", "encoder.conv1.weight", 0),
            Knob("in_channels", "encoder.conv1.weight", 1),
            Knob("out_channels", "conv2.weight", 0),
        ),
        variants=(
            VariantRule("wan2.2", "Wan 2.2 VAE (48 channels)", shape=("conv2.weight", 0, 48)),
        ),
        shape_rank=("encoder.conv1.weight", 5),
        nominal_params="0.13 B (Wan 2.1 / Qwen-Image), 0.70 B (Wan 2.2)",
    ),
    Family(
        name="image_vae",
        label="2D image VAE (Flux ae, SD/SDXL)",
        kind="vae",
        requires=("encoder.conv_in.weight", "decoder.conv_in.weight"),
        knobs=(
            Knob("hidden_size", "encoder.conv_in.weight", 0),
            Knob("out_channels", "decoder.conv_in.weight", 1),
        ),
        variants=(
            VariantRule(
                "flux_ae",
                "Flux / HiDream ae (16 channels)",
                shape=("decoder.conv_in.weight", 1, 16),
            ),
            VariantRule("sd", "SD / SDXL VAE (4 channels)", shape=("decoder.conv_in.weight", 1, 4)),
        ),
        nominal_params="0.08 B",
    ),
)
