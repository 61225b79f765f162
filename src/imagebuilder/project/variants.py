"""A/B variants: the stack as each variant sees it.

A variant changes sampler settings and/or picks which LoRA entry it loads (say the
8-step release beside the 4-step one) and which diffusion model entry (say the same
base in scaled FP8). The alternatives are ordinary entries in ``models:``, so ``lock``
pins them like any other file; each variant's image holds only its own. Everything
else is shared, which is what lets every variant's image reuse the same model layers.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagebuilder.errors import ConfigError
from imagebuilder.project.config import Config, Role, SamplerOverride, Variant
from imagebuilder.project.entries import lora_base
from imagebuilder.project.lock import Lock


@dataclass(frozen=True)
class VariantStack:
    """One variant (or the plain stack when ``name`` is None) with its effective config."""

    name: str | None
    config: Config
    baseline: bool


def variant_problems(config: Config) -> list[tuple[tuple[str, ...], str, str]]:
    """(key path, message, hint) for each variant that cannot be built; for project.load."""
    problems: list[tuple[tuple[str, ...], str, str]] = []
    baselines = [name for name, variant in config.variants.items() if variant.baseline]
    problems.extend(
        (("variants", name, "baseline"), f"a second baseline ({baselines[0]!r} is one)", "mark one")
        for name in baselines[1:]
    )
    for role, field, what in _PICKS:
        entries = [name for name, _ in config.entries_by_role(role)]
        for name, variant in config.variants.items():
            picked = getattr(variant, field)
            if picked is not None and picked not in entries:
                problems.append(
                    (
                        ("variants", name, field),
                        f"{picked!r} is not a {what} entry in models",
                        "name one of: "
                        + (", ".join(entries) or f"none (add the {what} under models:)"),
                    )
                )
    return problems


# The entries a variant may pick: (role, Variant field, what the role is called).
_PICKS = ((Role.LORA, "lora", "LoRA"), (Role.DIFFUSION_MODEL, "diffusion_model", "diffusion model"))


def baseline_name(config: Config) -> str | None:
    """The variant marked baseline, else the first one declared; None without variants."""
    for name, variant in config.variants.items():
        if variant.baseline:
            return name
    return next(iter(config.variants), None)


def _picked(config: Config, variant: Variant, role: Role, field: str) -> set[str]:
    """The entries of ``role`` this variant loads: its own pick, else those no variant picks."""
    own = getattr(variant, field)
    if own:
        return {own}
    claimed = {getattr(other, field) for other in config.variants.values()}
    return {name for name, _ in config.entries_by_role(role) if name not in claimed}


def _apply(config: Config, variant: Variant) -> Config:
    overrides = variant.sampler.model_dump(exclude_none=True)
    sampler = config.sampler.model_copy(update=overrides)
    picks = {role: _picked(config, variant, role, field) for role, field, _ in _PICKS}
    models = {
        name: entry
        for name, entry in config.models.items()
        if entry.role not in picks or name in picks[entry.role]
    }
    # A LoRA whose base this variant swapped out patches the base it picked instead.
    bases = sorted(picks[Role.DIFFUSION_MODEL])
    for name, entry in models.items():
        base = lora_base(config, name) if entry.role is Role.LORA else None
        if base is not None and base not in models and len(bases) == 1:
            models[name] = entry.model_copy(update={"base": bases[0]})
    return config.model_copy(update={"sampler": sampler, "models": models, "variants": {}})


def effective_config(config: Config, variant: str | None) -> Config:
    """The stack one variant builds; ``None`` is the stack without any variant applied."""
    if variant is None:
        return config
    if variant not in config.variants:
        known = ", ".join(config.variants) or "none declared"
        raise ConfigError(
            f"unknown variant {variant!r}",
            hint=f"variants in models.yaml: {known}",
        )
    return _apply(config, config.variants[variant])


def stacks(config: Config) -> list[VariantStack]:
    """Every stack to build or check: one per variant, or the plain stack without variants."""
    if not config.variants:
        return [VariantStack(name=None, config=config, baseline=True)]
    baseline = baseline_name(config)
    return [
        VariantStack(name=name, config=effective_config(config, name), baseline=name == baseline)
        for name in config.variants
    ]


def variant_lock(lock: Lock, stack: Config) -> Lock:
    """The lock narrowed to the entries one variant's image holds."""
    return lock.model_copy(
        update={"models": {n: e for n, e in lock.models.items() if n in stack.models}}
    )


def differing_entries(config: Config, variant: str) -> list[str]:
    """Entries this variant's image holds that the baseline's does not (its own LoRA)."""
    baseline = baseline_name(config)
    shared = effective_config(config, baseline).models if baseline else config.models
    return [name for name in effective_config(config, variant).models if name not in shared]


def fewer_steps(steps: int) -> list[int]:
    """The pinned step count, then three quarters and half of it (rounded up): 4, 3, 2."""
    return list(dict.fromkeys([steps, -(-3 * steps // 4), -(-steps // 2)]))


def with_step_variants(config: Config, steps: list[int] | None) -> Config:
    """``config`` with one variant per step count (``stepsN``), for a stack that declares
    none; ``steps`` None: the pinned steps and fewer (``fewer_steps``). The pinned count,
    or else the first, is the baseline. A stack with variants is returned as it is, unless
    ``steps`` asks for what-if variants, which cannot be mixed with declared ones."""
    if config.variants:
        if steps:
            raise ConfigError(
                "--steps makes variants of the plain stack, but models.yaml declares variants",
                hint="drop --steps, or run the declared variants with --variant",
            )
        return config
    counts = list(dict.fromkeys(steps or fewer_steps(config.sampler.steps)))
    baseline = config.sampler.steps if config.sampler.steps in counts else counts[0]
    variants = {
        f"steps{n}": Variant(
            baseline=n == baseline,
            description=f"{n} sampling steps",
            sampler=SamplerOverride(steps=n),
        )
        for n in counts
    }
    return config.model_copy(update={"variants": variants})
