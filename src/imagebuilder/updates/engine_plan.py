"""The engine in check-updates: a model that needs a newer ComfyUI moves with the engine
that runs it, or is held back with the reason. The stack never splits, engine included.

Pure planning over what the planners found (``BasePlan``), the headers already read
(cached: asking again reads nothing) and one ``EngineCatalog`` answer (the base image's
registry: the newest newer tag and the ComfyUI it carries). Three outcomes per model
whose proposed file needs a floor above the locked engine: an ``EngineChange`` that
moves the base to a tag carrying a new enough ComfyUI; held back, when no tag does or the
registry cannot be read; or only a note, when models.yaml does not pin the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from imagebuilder.project.config import Config
from imagebuilder.project.engine import EngineCatalog, EngineSearch
from imagebuilder.project.lock import Lock
from imagebuilder.updates.headerfacts import HeaderInspector
from imagebuilder.updates.planning import BasePlan
from imagebuilder.updates.proposal import Change, EngineChange
from imagebuilder.weights.engine_needs import EngineNeed, engine_need
from imagebuilder.weights.header import Header

__all__ = ["EngineCatalog", "EnginePlan", "engine_step", "plan_engine"]


@dataclass(frozen=True)
class EnginePlan:
    change: EngineChange | None = None
    holds: dict[str, str] = field(default_factory=dict)  # entry -> why it is held back
    notes: tuple[str, ...] = ()

    def moving_with(self, changes: Iterable[Change]) -> EngineChange | None:
        """The engine change, if a model that needs it still moves (its LoRA may have
        held it back meanwhile): never an engine move nothing asked for."""
        moving = {change.entry for change in changes}
        return self.change if self.change and moving & set(self.change.needed_by) else None


def engine_step(
    config: Config, lock: Lock | None, plans: Mapping[str, BasePlan],
    inspector: HeaderInspector, catalog: EngineCatalog | None,
) -> EnginePlan:  # fmt: skip
    """What the planned base changes need of the engine, and how it can follow."""
    return plan_engine(config, lock, needs_of(plans, inspector), catalog)


def needs_of(plans: Mapping[str, BasePlan], inspector: HeaderInspector) -> dict[str, EngineNeed]:
    """The ComfyUI floor of each proposed file that has one (headers the plan read)."""
    needs = {}
    for name, plan in plans.items():
        if plan.change is None or plan.file is None:
            continue
        header = inspector.read(plan.file).header
        need = engine_need(header) if isinstance(header, Header) else None
        if need is not None and need.comfyui is not None:
            needs[name] = need
    return needs


def plan_engine(
    config: Config, lock: Lock | None, needs: Mapping[str, EngineNeed],
    catalog: EngineCatalog | None,
) -> EnginePlan:  # fmt: skip
    if config.image.comfyui is None:
        return EnginePlan(notes=tuple(_unpinned_note(name, n) for name, n in needs.items()))
    engine = lock.engine if lock else None
    search = catalog.search() if catalog is not None else None
    notes = _search_notes(search, engine.comfyui_version if engine else None)
    unmet = {
        name: need
        for name, need in needs.items()
        if need.comfyui is not None and (engine is None or need.comfyui > engine.version)
    }
    if not unmet:
        return EnginePlan(notes=notes)
    floor = max(n.comfyui for n in unmet.values() if n.comfyui is not None)
    why_floor = "; ".join(f"{name}: {need.reason}" for name, need in unmet.items())
    if engine is None:
        reason = f"held back: needs ComfyUI >= {floor}, and the lock records no engine"
        reason += " (run `imagebuilder lock`)"
        return EnginePlan(holds=dict.fromkeys(unmet, reason), notes=notes)
    newest = search.newest if search else None
    if newest is not None and newest.engine.version >= floor:
        change = EngineChange(
            current_base=config.image.base,
            current=engine,
            proposed=newest,
            needed_by=tuple(unmet),
            why=(
                f"{', '.join(unmet)} need{'s' if len(unmet) == 1 else ''} ComfyUI >= {floor} "
                f"({why_floor}); {engine.label} cannot load it correctly, the base tag "
                f"{newest.tag} carries {newest.engine.label}"
            ),
        )
        return EnginePlan(change=change, notes=notes)
    if search is None or search.failure:
        cause = search.failure if search and search.failure else "no registry to ask"
        unknown = f"no newer engine could be checked ({cause})"
    elif newest is None:
        unknown = "the base has no newer tag"
    else:
        unknown = f"the newest base tag {newest.tag} carries {newest.engine.label}"
    if search is not None and search.newest_release:
        unknown += f" (the newest ComfyUI release is {search.newest_release})"
    reason = f"held back: needs ComfyUI >= {floor}, the locked engine is {engine.label}; {unknown}"
    return EnginePlan(holds=dict.fromkeys(unmet, reason), notes=notes)


def _unpinned_note(name: str, need: EngineNeed) -> str:
    return (
        f"{name}: the proposed file needs ComfyUI >= {need.comfyui} ({need.reason}); the "
        "engine is not pinned (image.comfyui), so nothing checks that the image runs one"
    )


def _search_notes(search: EngineSearch | None, locked: str | None) -> tuple[str, ...]:
    if search is None:
        return ()
    notes = list(search.notes)
    if search.moved is not None:
        moved = search.moved
        notes.append(
            f"engine: the base tag {moved.tag} now names another image "
            f"({moved.base.rpartition('@')[2][:19]}, {moved.engine.label}); the lock keeps "
            "the digest it pinned"
        )
    if search.newest is not None and search.newest.engine.comfyui_version != locked:
        newest = search.newest
        notes.append(f"engine: the newer base tag {newest.tag} carries {newest.engine.label}")
    return tuple(notes)
