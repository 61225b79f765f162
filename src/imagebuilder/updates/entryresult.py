"""What checking one entry found, as a value: the check builds new ones, never edits them.

``with_planned`` adds what an update rule planned; ``held_back`` turns a base's newer
release into an option when its LoRA cannot move with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from imagebuilder.errors import ImageBuilderError
from imagebuilder.updates.proposal import (
    Change,
    ChangeKind,
    EntryProblem,
    Proposal,
    merge_entry_changes,
)


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


def gather(names: Sequence[str], results: Mapping[str, EntryResult]) -> Proposal:
    """The entries' results as one proposal (in models.yaml's order): one change per
    entry at most, every option and note, a problem per entry that failed."""
    changes: list[Change] = []
    options: list[Change] = []
    problems: list[EntryProblem] = []
    current: list[str] = []
    notes: list[str] = []
    for name in names:
        result = results[name]
        merged = merge_entry_changes(list(result.changes))
        changes += [merged] if merged else []
        options += result.options
        notes += result.notes
        if result.problem is not None:
            problems.append(EntryProblem(name, result.problem))
        elif merged is None:
            current.append(name)
    return Proposal(
        changes=tuple(changes),
        options=tuple(options),
        problems=tuple(problems),
        up_to_date=tuple(current),
        notes=tuple(notes),
    )
