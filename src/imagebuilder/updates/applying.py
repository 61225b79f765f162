"""Apply a proposal: new models.yaml text (only changed values) and a refreshed lock.

``plan_update`` computes both files without writing anything (``--dry-run`` prints the
diff); ``write_update`` writes them atomically. Entries not being updated keep their
lock pins, even when their branch moved: an update never slips in a change it did not
show.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from imagebuilder.errors import ConfigError
from imagebuilder.hub.client import Hub
from imagebuilder.hub.resolve import lock_entry, resolve_entries
from imagebuilder.project.atomic import atomic_write_text
from imagebuilder.project.config import Config
from imagebuilder.project.load import LoadedConfig, parse_config
from imagebuilder.project.lock import (
    Lock,
    LockEntry,
    load_lock,
    pins_equal,
    with_recorded_digests,
)
from imagebuilder.project.pathrules import check_repo_path
from imagebuilder.project.values import check_repo_id
from imagebuilder.project.writelock import changed_underneath, writer_lock
from imagebuilder.project.yamledit import KeyPath, entry_edits, set_scalars
from imagebuilder.project.yamlsource import YamlSource, round_trip_yaml
from imagebuilder.updates.check import check_updates
from imagebuilder.updates.proposal import Change, ChangeKind, Proposal


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
    loaded: LoadedConfig, lock_path: Path, previous: Lock | None, proposal: Proposal, hub: Hub
) -> PlannedUpdate:
    """Both files as they will be; nothing is written."""
    text = set_scalars(loaded.source.text, config_edits(proposal.changes), file=loaded.path.name)
    source = YamlSource(path=loaded.path, text=text, document=round_trip_yaml().load(text))
    config = parse_config(source)  # the edited file must still be a valid config
    updating = {change.entry for change in proposal.changes}
    models: dict[str, LockEntry] = {}
    for item in resolve_entries(config, hub):
        old = previous.models.get(item.name) if previous else None
        if (
            old is not None
            and item.name not in updating
            and old.same_source(item.entry.repo, item.entry.file, item.entry.revision)
        ):
            models[item.name] = old
            continue
        if item.error is not None:
            raise item.error
        models[item.name] = lock_entry(item)
    lock = Lock(version=1, models=models)
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
) -> tuple[Proposal, PlannedUpdate | None]:
    """What `update` would do: the proposal for ``entries`` (every change when empty) and
    both files as they would be (None when nothing changes). Writes nothing."""
    full = check_updates(loaded.config, lock, hub, locate=loaded.where, strict=strict)
    proposal = select_changes(full, entries, loaded.config)
    planned = plan_update(loaded, lock_path, lock, proposal, hub) if proposal.changes else None
    return proposal, planned
