"""One coherent update proposal: what `check-updates` reports and `update` applies.

Pure data. ``changes`` hold at most one change per entry and are meant to be applied
together (a diffusion model that moves to 2511 brings the 2511 LoRA along); ``options``
are cheaper or newer alternatives that are reported, never applied on their own;
``problems`` are entries that could not be checked, while the others still were;
``skipped_sources`` are extra places a rule looks (``repos:``, ``search:``) that could
not be read: the entries that use them were still checked against their other sources.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from imagebuilder.errors import ExitCode, ImageBuilderError
from imagebuilder.project.engine import EngineLock, EngineOffer
from imagebuilder.project.pins import Pin
from imagebuilder.weights.compat import Compatibility

SCHEMA_VERSION = 1  # of the --json output; bump on incompatible changes


class ChangeKind(StrEnum):
    CONTENT_CHANGED = "content-changed"  # same path, the branch serves new bytes
    NEWER_RELEASE = "newer-release"  # a newer version token in the same family
    LORA_FOR_NEW_BASE = "lora-for-new-base"  # the LoRA follows its base to a new version
    REPO_RENAMED = "repo-renamed"  # the Hub redirects the pinned repo to a new name
    FEWER_STEPS = "fewer-steps"  # option: a LoRA distilled for fewer steps (cheaper)
    NEWER_LORA = "newer-lora"  # option: a newer LoRA version for the same base
    BETTER_PRECISION = "better-precision"  # the same base in scaled/mixed FP8 (plain pinned)
    FUSED_LORA = "fused-lora"  # option: a base with the LoRA merged in (pairs with lora-merged)
    LORA_MERGED = "lora-merged"  # option: the LoRA entry goes, merged into its fused base


@dataclass(frozen=True)
class FileRef:
    repo: str
    path: str
    commit: str | None = None
    sha256: str | None = None
    size: int | None = None
    date: datetime | None = None

    def as_pin(self) -> Pin | None:
        """The pinned file this names, when it names commit, sha256 and size."""
        if self.commit is None or self.sha256 is None or self.size is None:
            return None
        return Pin(self.repo, self.path, self.commit, self.sha256, self.size)

    def as_dict(self) -> dict[str, object]:
        return {
            "repo": self.repo,
            "file": self.path,
            "commit": self.commit,
            "sha256": self.sha256,
            "size": self.size,
            "date": self.date.isoformat() if self.date else None,
        }


@dataclass(frozen=True)
class Change:
    entry: str
    kind: ChangeKind
    current: FileRef
    proposed: FileRef
    compat: Compatibility = Compatibility.UNKNOWN
    why: str = ""
    header: str | None = None  # one-line header summary of the proposed file
    goes_with: tuple[str, ...] = ()  # entries whose change must be applied with this one

    @property
    def size_delta(self) -> int | None:
        if self.current.size is None or self.proposed.size is None:
            return None
        return self.proposed.size - self.current.size

    @property
    def edits_config(self) -> bool:
        """Whether applying it rewrites models.yaml (else only the lock moves)."""
        return (self.current.repo, self.current.path) != (self.proposed.repo, self.proposed.path)

    def as_dict(self) -> dict[str, object]:
        return {
            "entry": self.entry,
            "kind": self.kind.value,
            "current": self.current.as_dict(),
            "proposed": self.proposed.as_dict(),
            "compat": self.compat.value,
            "size_delta": self.size_delta,
            "why": self.why,
            "header": self.header,
            "goes_with": list(self.goes_with),
        }


@dataclass(frozen=True)
class EngineChange:
    """The engine moves with the models that need it: a newer tag of the base image."""

    current_base: str
    current: EngineLock
    proposed: EngineOffer
    needed_by: tuple[str, ...]  # the entries whose proposed files need the newer ComfyUI
    why: str

    def as_dict(self) -> dict[str, object]:
        return {
            "current": {"base": self.current_base, "comfyui_version": self.current.comfyui_version,
                        "commit": self.current.commit},
            "proposed": {"base": self.proposed.base, "tag": self.proposed.tag,
                         "comfyui_version": self.proposed.engine.comfyui_version,
                         "commit": self.proposed.engine.commit},
            "needed_by": list(self.needed_by),
            "why": self.why,
        }  # fmt: skip


@dataclass(frozen=True)
class EntryProblem:
    """An entry that could not be checked (the others still were)."""

    entry: str
    error: ImageBuilderError

    def as_dict(self) -> dict[str, object]:
        return {"entry": self.entry, **self.error.as_dict()}


@dataclass(frozen=True)
class SkippedSource:
    """An extra source (a rule's repo or search) that failed; its entries were still checked."""

    source: str  # "owner/name@main" or "search author/text"
    entries: tuple[str, ...]
    error: ImageBuilderError

    def as_dict(self) -> dict[str, object]:
        return {"source": self.source, "entries": list(self.entries), **self.error.as_dict()}


@dataclass(frozen=True)
class Proposal:
    changes: tuple[Change, ...] = ()
    options: tuple[Change, ...] = ()
    problems: tuple[EntryProblem, ...] = ()
    up_to_date: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())  # facts worth a line: moved branches, ...
    skipped_sources: tuple[SkippedSource, ...] = ()
    unlocked: tuple[str, ...] = ()  # entries the lock does not pin (yet)
    # What each entry runs now: the lock's pin, or what its revision serves when unlocked.
    pins: Mapping[str, FileRef] = field(default_factory=dict)
    engine: EngineChange | None = None  # applied with the changes that need it

    @property
    def status(self) -> str:
        if self.problems:
            return "error"
        return "updates-available" if self.changes else "up-to-date"

    def exit_code(self) -> ExitCode:
        """npm-outdated style: 0 up to date, 100 updates, an error's own code on failure."""
        if self.problems:
            return max((p.error.exit_code for p in self.problems), key=int)
        return ExitCode.UPDATES_AVAILABLE if self.changes else ExitCode.OK

    def for_entries(self, names: Iterable[str]) -> Proposal:
        wanted = set(names)
        return Proposal(
            changes=tuple(c for c in self.changes if c.entry in wanted),
            options=tuple(c for c in self.options if c.entry in wanted),
            problems=tuple(p for p in self.problems if p.entry in wanted),
            up_to_date=tuple(n for n in self.up_to_date if n in wanted),
            notes=self.notes,
            skipped_sources=tuple(s for s in self.skipped_sources if wanted & set(s.entries)),
            unlocked=tuple(n for n in self.unlocked if n in wanted),
            pins={n: ref for n, ref in self.pins.items() if n in wanted},
            engine=self.engine if self.engine and wanted & set(self.engine.needed_by) else None,
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "schema_version": SCHEMA_VERSION,
            "status": self.status,
            "exit_code": int(self.exit_code()),
            "changes": [c.as_dict() for c in self.changes],
            "options": [c.as_dict() for c in self.options],
            "problems": [p.as_dict() for p in self.problems],
            "up_to_date": list(self.up_to_date),
            "notes": list(self.notes),
            "skipped_sources": [s.as_dict() for s in self.skipped_sources],
            "unlocked": list(self.unlocked),
            "engine": self.engine.as_dict() if self.engine else None,
        }


def merge_entry_changes(found: list[Change]) -> Change | None:
    """The one change to propose for an entry: a new file beats new bytes beats a rename.

    A rename found alongside a newer release is folded into its ``why``: the new file
    already names the repo by its new id.
    """
    if not found:
        return None
    order = (
        ChangeKind.NEWER_RELEASE,
        ChangeKind.LORA_FOR_NEW_BASE,
        ChangeKind.BETTER_PRECISION,
        ChangeKind.CONTENT_CHANGED,
        ChangeKind.REPO_RENAMED,
    )
    ranked = sorted(found, key=lambda c: order.index(c.kind))
    chosen = ranked[0]
    extra = [c.why for c in ranked[1:] if c.kind is ChangeKind.REPO_RENAMED and c.why]
    if extra and chosen.kind is not ChangeKind.REPO_RENAMED:
        chosen = replace(chosen, why="; ".join([chosen.why, *extra]))
    return chosen
