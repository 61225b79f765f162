"""Apply a proposal: new models.yaml text (only changed values) and a refreshed lock.

One way: ``plan_update`` turns the proposal into both files without asking the Hub
again (each changed entry is pinned to the very commit, sha256 and size the proposal
shows; ``--dry-run`` prints the diff); ``require_unmoved`` refuses when the Hub no
longer serves those bytes; ``write_update`` writes them atomically. Entries not being
updated keep their lock pins, even when their branch moved: an update never slips in a
change it did not show.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from imagebuilder.errors import ConfigError, HubError, HubMovedMeanwhile, ImageBuilderError
from imagebuilder.hub.client import Hub
from imagebuilder.hub.resolve import fetch_snapshots
from imagebuilder.project.atomic import atomic_write_text
from imagebuilder.project.config import Config, ModelEntry
from imagebuilder.project.engine import EngineCatalog
from imagebuilder.project.load import LoadedConfig, parse_config
from imagebuilder.project.lock import (
    Lock,
    LockEntry,
    load_lock,
    pins_equal,
    with_recorded_digests,
)
from imagebuilder.project.pathrules import check_repo_path
from imagebuilder.project.values import check_pinned_image, check_repo_id
from imagebuilder.project.writelock import changed_underneath, writer_lock
from imagebuilder.project.yamledit import KeyPath, entry_edits, set_scalars
from imagebuilder.project.yamlsource import YamlSource, round_trip_yaml
from imagebuilder.updates.check import check_updates
from imagebuilder.updates.proposal import Change, ChangeKind, FileRef, Proposal


@dataclass(frozen=True)
class PlannedUpdate:
    config_path: Path
    lock_path: Path
    config_before: str
    config_after: str
    lock_before: str | None
    lock_after: str
    applied: tuple[Change, ...]
    previous_lock: Lock | None
    new_lock: Lock

    @property
    def config_changed(self) -> bool:
        return self.config_before != self.config_after

    @property
    def lock_changed(self) -> bool:
        return self.lock_before != self.lock_after

    def diff(self) -> str:
        """Unified diffs of both files, as `git diff` would show them."""
        parts: list[str] = []
        for path, before, after in (
            (self.config_path, self.config_before, self.config_after),
            (self.lock_path, self.lock_before or "", self.lock_after),
        ):
            parts += difflib.unified_diff(
                before.splitlines(keepends=True),
                after.splitlines(keepends=True),
                fromfile=f"a/{path.name}",
                tofile=f"b/{path.name}",
            )
        return "".join(parts)


def require_entries(entries: Iterable[str], config: Config) -> None:
    """Entry names given on the command line must exist in models.yaml."""
    unknown = sorted(set(entries) - set(config.models))
    if unknown:
        raise ConfigError(
            f"no entry named {', '.join(unknown)} in models.yaml",
            hint=f"entries: {', '.join(sorted(config.models))}",
        )


def select_changes(proposal: Proposal, entries: Iterable[str], config: Config) -> Proposal:
    """The proposal narrowed to the named entries (all when none are named).

    A base and the LoRA that follows it to a new version move together or not at all:
    naming either one selects both, so an update never splits the stack.
    """
    wanted = set(entries)
    require_entries(wanted, config)
    if not wanted:
        return proposal
    for change in proposal.changes:
        rule = config.models[change.entry].updates
        base = rule.follows if rule else None
        if change.kind is ChangeKind.LORA_FOR_NEW_BASE and base and wanted & {base, change.entry}:
            wanted |= {base, change.entry}
    # A LoRA that could not be looked up held its base back: naming only the base must
    # still report why (and fail), not quietly say "nothing to update".
    partners = {
        name
        for name, entry in config.models.items()
        if entry.updates is not None
        and entry.updates.follows is not None
        and wanted & {name, entry.updates.follows}
    }
    narrowed = proposal.for_entries(wanted)
    related = proposal.for_entries(wanted | partners)
    return replace(narrowed, problems=related.problems)


def config_edits(changes: Iterable[Change]) -> dict[KeyPath, str]:
    """The models.yaml values the changes rewrite, each checked as hostile Hub input."""
    edits: dict[KeyPath, str] = {}
    for change in changes:
        values = {}
        try:
            if change.proposed.repo != change.current.repo:
                values["repo"] = check_repo_id(change.proposed.repo)
            if change.proposed.path != change.current.path:
                values["file"] = check_repo_path(change.proposed.path)
        except ValueError as error:
            raise ConfigError(
                f"the Hub proposed an unusable value for {change.entry}: {error}",
                hint="this update cannot be applied automatically",
            ) from None
        edits |= entry_edits(change.entry, values)
    return edits


def plan_update(
    loaded: LoadedConfig,
    lock_path: Path,
    previous: Lock | None,
    proposal: Proposal,
    runs_now: Mapping[str, FileRef] | None = None,
) -> PlannedUpdate:
    """Both files as the proposal makes them; nothing is written, the Hub is not asked.

    ``runs_now``: what every entry runs now (the full proposal's pins, when ``proposal``
    was narrowed to some entries); an entry the lock does not pin yet is pinned to it."""
    edits = config_edits(proposal.changes)
    if proposal.engine is not None:  # the engine moves with the models that need it
        edits[("image", "base")] = check_pinned_image(proposal.engine.proposed.base)
    text = set_scalars(loaded.source.text, edits, file=loaded.path.name)
    source = YamlSource(path=loaded.path, text=text, document=round_trip_yaml().load(text))
    config = parse_config(source)  # the edited file must still be a valid config
    lock = proposed_lock(config, previous, proposal.changes, runs_now or proposal.pins)
    if proposal.engine is not None:
        moved = proposal.engine.proposed
        lock = lock.model_copy(
            update={"engine": moved.engine.model_copy(update={"base": moved.base})}
        )
    return PlannedUpdate(
        config_path=loaded.path,
        lock_path=lock_path,
        config_before=loaded.source.text,
        config_after=text,
        lock_before=previous.to_json() if previous else None,
        lock_after=lock.to_json(),
        applied=proposal.changes,
        previous_lock=previous,
        new_lock=lock,
    )


def proposed_lock(
    config: Config,
    previous: Lock | None,
    changes: Iterable[Change],
    runs_now: Mapping[str, FileRef],
) -> Lock:
    """The lock the proposal describes: a changed entry pinned to the file its change
    proposes, any other entry to its lock pin (or, not pinned yet, to the file the
    proposal found it runs now)."""
    by_entry = {change.entry: change for change in changes}
    models: dict[str, LockEntry] = {}
    for name, entry in config.models.items():
        old = previous.models.get(name) if previous else None
        change = by_entry.get(name)
        if (
            change is None
            and old is not None
            and old.same_source(entry.repo, entry.file, entry.revision)
        ):
            models[name] = old
            continue
        ref = change.proposed if change is not None else runs_now.get(name)
        models[name] = _pin(name, entry, ref)
    return Lock(version=1, models=models, engine=previous.engine if previous else None)


def _pin(name: str, entry: ModelEntry, ref: FileRef | None) -> LockEntry:
    """``entry`` (as models.yaml names it) pinned to ``ref``'s commit, sha256 and size."""
    pin = ref.as_pin() if ref is not None else None
    if pin is None:
        raise HubError(
            "the proposal holds no commit, sha256 and size for this entry",
            location=f"entry {name}",
            hint="run `imagebuilder lock` for it, then `imagebuilder update` again",
        )
    return LockEntry(
        repo=entry.repo, file=entry.file, revision=entry.revision, commit=pin.commit,
        sha256=pin.sha256, size=pin.size,
    )  # fmt: skip


def require_unmoved(planned: PlannedUpdate, hub: Hub) -> None:
    """Every pin this update adds must still be what its revision serves (same sha256
    and size; a branch that moved to other commits with the same bytes is fine). If the
    Hub moved since the proposal was made, HubMovedMeanwhile: nothing is written."""
    previous = planned.previous_lock.models if planned.previous_lock else {}
    new = {n: e for n, e in planned.new_lock.models.items() if previous.get(n) != e}
    snapshots = fetch_snapshots(hub, ((e.repo, e.revision) for e in new.values()))
    moved = []
    for name, entry in new.items():
        found = snapshots[(entry.repo, entry.revision)]
        if isinstance(found, ImageBuilderError):
            raise found
        served = found.files.get(entry.file)
        if served is None:
            moved.append(f"{name}: {entry.file} is gone from {entry.repo}@{entry.revision}")
        elif (served.sha256, served.size) != (entry.sha256, entry.size):
            moved.append(
                f"{name}: {entry.repo}@{entry.revision} now serves sha256 "
                f"{(served.sha256 or '?')[:12]} ({served.size:,} bytes), not the proposed "
                f"{entry.sha256[:12]} ({entry.size:,} bytes)"
            )
    if moved:
        raise HubMovedMeanwhile(
            "the Hub moved after the proposal was made; nothing was written: " + "; ".join(moved),
            location=str(planned.config_path),
            hint="run `imagebuilder update` again: it proposes from what the Hub serves now",
        )


def write_update(planned: PlannedUpdate) -> None:
    """Both files, under the writer lock and checked against what is on disk *now*.

    models.yaml must be byte-for-byte what was planned from; the lock may only have
    gained layer digests (a publish that ran meanwhile), which are kept. Anything else
    means another run wrote: WriterBusy, nothing written.

    The lock first: a models.yaml newer than its lock would fail `lock --check` loudly,
    while a lock newer than its models.yaml is only ever seen if the second write fails."""
    with writer_lock(planned.config_path, "update"):
        if planned.config_path.read_text(encoding="utf-8") != planned.config_before:
            raise changed_underneath(planned.config_path, planned.config_path.name)
        current = load_lock(planned.lock_path)
        if not pins_equal(current, planned.previous_lock):
            raise changed_underneath(planned.lock_path, planned.lock_path.name)
        lock_after = with_recorded_digests(planned.new_lock, current).to_json()
        if current is None or lock_after != current.to_json():
            atomic_write_text(planned.lock_path, lock_after)
        if planned.config_changed:
            atomic_write_text(planned.config_path, planned.config_after)


def propose_update(
    loaded: LoadedConfig,
    lock_path: Path,
    lock: Lock | None,
    entries: list[str],
    hub: Hub,
    *,
    strict: bool = False,
    engines: EngineCatalog | None = None,
) -> tuple[Proposal, PlannedUpdate | None]:
    """What `update` would do: the proposal for ``entries`` (every change when empty) and
    both files as they would be (None when nothing changes). Writes nothing."""
    full = check_updates(
        loaded.config, lock, hub, locate=loaded.where, strict=strict, engines=engines
    )
    proposal = select_changes(full, entries, loaded.config)
    planned = (
        plan_update(loaded, lock_path, lock, proposal, full.pins) if proposal.changes else None
    )
    return proposal, planned
