"""Rules across entries that the schema alone cannot state: a LoRA's base, and entry
names that double as workflow placeholders (``{{ clip_l }}``) without shadowing another.
"""

from __future__ import annotations

from imagebuilder.project.config import BASE_ROLES, Config, ModelEntry, Role, Sampler

# Placeholders that are not entry names: the sampler settings and the one LoRA's strength.
RESERVED_PLACEHOLDERS = frozenset(Sampler.model_fields) | {"lora_strength"}

Problem = tuple[tuple[str, ...], str, str]  # key path, message, hint


def lora_base(config: Config, lora: str) -> str | None:
    """The entry a LoRA patches: its `base`, else its `updates.follows`, else the one
    diffusion model or checkpoint of the stack (None when that is ambiguous)."""
    entry = config.models[lora]
    if entry.base is not None:
        return entry.base
    if entry.updates is not None and entry.updates.follows is not None:
        return entry.updates.follows
    bases = [name for name, e in config.models.items() if e.role in BASE_ROLES]
    return bases[0] if len(bases) == 1 else None


def entry_problems(config: Config, name: str, entry: ModelEntry) -> list[Problem]:
    """(key path, message, hint) for each cross-entry rule one entry breaks."""
    problems: list[Problem] = []
    if name in RESERVED_PLACEHOLDERS:
        problems.append(
            (
                ("models", name),
                f"entry name {name!r} is also the workflow placeholder {{{{ {name} }}}} "
                "for a sampler setting",
                "rename the entry, e.g. to its file's stem",
            )
        )
    if name in {role.value for role in Role} and name != entry.role.value:
        problems.append(
            (
                ("models", name),
                f"entry name {name!r} is a role, but the entry is a {entry.role.value}: "
                f"{{{{ {name} }}}} would be ambiguous",
                f"rename the entry, or set role: {name}",
            )
        )
    if entry.base is not None:
        problems.extend(_base_problems(config, name, entry, entry.base))
    return problems


def _base_problems(config: Config, name: str, entry: ModelEntry, base: str) -> list[Problem]:
    where = ("models", name, "base")
    bases = [n for n, e in config.models.items() if e.role in BASE_ROLES]
    if entry.role is not Role.LORA:
        return [(where, "only a lora has a base", "remove 'base' from this entry")]
    if base not in config.models:
        return [(where, f"base {base!r} is not an entry", f"name one of: {', '.join(bases)}")]
    if config.models[base].role not in BASE_ROLES:
        role = config.models[base].role.value
        return [
            (
                where,
                f"base {base!r} is a {role}; a LoRA patches a diffusion_model or checkpoint",
                f"name one of: {', '.join(bases) or 'none (add the base model)'}",
            )
        ]
    return []
