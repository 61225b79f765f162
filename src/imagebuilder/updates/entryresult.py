"""What checking one entry found, as a value: the check builds new ones, never edits them.

``with_planned`` adds what an update rule planned; ``held_back`` turns a base's newer
release into an option when its LoRA cannot move with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from imagebuilder.errors import ImageBuilderError
from imagebuilder.updates.proposal import Change, ChangeKind


@dataclass(frozen=True)
class EntryResult:
    """What checking one entry found."""

    changes: tuple[Change, ...] = ()
    options: tuple[Change, ...] = ()
    notes: tuple[str, ...] = ()
    problem: ImageBuilderError | None = None
    lora_missing_for_new_base: bool = False


def with_planned(
    found: EntryResult,
    change: Change | None,
    options: Sequence[Change],
    notes: Sequence[str],
    lora_missing_for_new_base: bool = False,
) -> EntryResult:
    """``found`` plus what the entry's update rule planned."""
    return replace(
        found,
        changes=found.changes + ((change,) if change else ()),
        options=found.options + tuple(options),
        notes=found.notes + tuple(notes),
        lora_missing_for_new_base=lora_missing_for_new_base,
    )


def held_back(name: str, result: EntryResult, reason: str) -> EntryResult:
    """The base's result with its newer release moved from changes to options."""
    moved = [c for c in result.changes if c.kind is ChangeKind.NEWER_RELEASE]
    return replace(
        result,
        changes=tuple(c for c in result.changes if c.kind is not ChangeKind.NEWER_RELEASE),
        options=result.options + tuple(replace(c, why=f"{c.why}; {reason}") for c in moved),
        notes=result.notes + tuple(f"{name}: {c.proposed.path} {reason}" for c in moved),
    )
