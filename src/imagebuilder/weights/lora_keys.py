"""LoRA tensor names under the key conventions ComfyUI accepts, split into their parts.

A key is ``<prefix><module><pair suffix>``: prefixes "" (bare), ``transformer.``,
``diffusion_model.``, ``model.diffusion_model.``, ``base_model.model.`` or kohya's
``lora_unet_`` (whose module then uses "_" for "."); pair suffixes lora_up/lora_down,
lora_B/lora_A (PEFT), lora_B.default/lora_A.default, lora.up/lora.down, diffusers'
lora_linear_layer.up/down, plus an optional ``.alpha`` per module.
"""

from __future__ import annotations

from dataclasses import dataclass

KOHYA_PREFIX = "lora_unet_"
PREFIXES = ("model.diffusion_model.", "diffusion_model.", "base_model.model.", "transformer.")
# suffix -> (part, convention); longest first so ".lora_A.default.weight" wins over shorter.
_PAIR_SUFFIXES: tuple[tuple[str, str, str], ...] = (
    (".lora_linear_layer.down.weight", "down", "diffusers"),
    (".lora_linear_layer.up.weight", "up", "diffusers"),
    (".lora_A.default.weight", "down", "peft_default"),
    (".lora_B.default.weight", "up", "peft_default"),
    (".lora_down.weight", "down", "lora_up_down"),
    (".lora_up.weight", "up", "lora_up_down"),
    (".lora.down.weight", "down", "lora_dot"),
    (".lora.up.weight", "up", "lora_dot"),
    (".lora_A.weight", "down", "peft"),
    (".lora_B.weight", "up", "peft"),
    (".alpha", "alpha", ""),
)


@dataclass(frozen=True, slots=True)
class LoraKey:
    prefix: str  # as written in the file
    module: str  # the base module: dotted, or underscored for kohya keys
    part: str  # down, up or alpha
    convention: str  # pair style; "" for alpha keys

    @property
    def kohya(self) -> bool:
        return self.prefix == KOHYA_PREFIX

    @property
    def target(self) -> str:
        """The module name as written, prefix included: groups down/up/alpha of one target."""
        return self.prefix + self.module


def parse_lora_key(name: str) -> LoraKey | None:
    """Split a LoRA tensor name; None when the name is not a LoRA key."""
    match = next((entry for entry in _PAIR_SUFFIXES if name.endswith(entry[0])), None)
    if match is None:
        return None
    suffix, part, convention = match
    stem = name[: -len(suffix)]
    if stem.startswith(KOHYA_PREFIX):
        return LoraKey(KOHYA_PREFIX, stem[len(KOHYA_PREFIX) :], part, convention)
    for prefix in PREFIXES:
        if stem.startswith(prefix):
            return LoraKey(prefix, stem[len(prefix) :], part, convention)
    return LoraKey("", stem, part, convention) if stem else None


def kohya_name(module: str) -> str:
    """How kohya spells a dotted module name: transformer_blocks.0.attn.to_q -> ..._0_attn_to_q."""
    return module.replace(".", "_")
