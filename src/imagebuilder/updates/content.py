"""check-updates, part one: has the tracked branch changed the bytes of a pinned file?

Pure functions over the lock and what the Hub serves now (``Resolved``). A branch that
moved while the file's sha256 stayed the same is not an update. ``content_change`` turns
a finding into a proposed change, reading the two headers only when the bytes changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from imagebuilder.hub.client import RemoteFile
from imagebuilder.hub.resolve import Resolved
from imagebuilder.project.lock import Lock
from imagebuilder.project.pins import Pin
from imagebuilder.updates.headerfacts import HeaderFacts, HeaderInspector, ReadMany
from imagebuilder.updates.planning import file_ref
from imagebuilder.updates.proposal import Change, ChangeKind, FileRef
from imagebuilder.weights.compat import Compatibility


class Status(StrEnum):
    UP_TO_DATE = "up-to-date"
    CONTENT_CHANGED = "content-changed"
    UNLOCKED = "unlocked"
    ERROR = "error"


@dataclass(frozen=True)
class Finding:
    """One entry's content check: its pin, what its revision serves now, and the verdict."""

    entry: str
    status: Status
    repo: str
    file: str
    revision: str
    pinned: Pin | None = None  # the lock's pin, when the lock pins this very source
    served: Pin | None = None  # what the revision serves now, when the Hub could say
    renamed_to: str | None = None
    why: str = ""

    @property
    def branch_moved(self) -> bool:
        """The revision points at another commit than the lock's."""
        return (
            self.pinned is not None
            and self.served is not None
            and self.pinned.commit != self.served.commit
        )


def _content_finding(item: Resolved, lock: Lock | None) -> Finding:
    entry = item.entry
    renamed = item.snapshot.repo if item.snapshot and item.snapshot.renamed else None
    locked = lock.models.get(item.name) if lock else None
    if locked is not None and not locked.same_source(entry.repo, entry.file, entry.revision):
        locked = None  # the lock pins something else: treat the entry as unpinned
    finding = Finding(
        entry=item.name,
        status=Status.ERROR,
        repo=entry.repo,
        file=entry.file,
        revision=entry.revision,
        pinned=locked.pin if locked else None,
        renamed_to=renamed,
    )
    if item.error is not None or item.file is None:
        why = item.error.render() if item.error else "unknown error"
        return replace(finding, why=why)
    served = item.file
    if served.sha256 is not None:
        finding = replace(
            finding,
            served=Pin(served.repo, served.path, served.commit, served.sha256, served.size),
        )
    if locked is None:
        status, why = Status.UNLOCKED, "not in the lock: run `imagebuilder lock`"
    elif locked.sha256 != item.file.sha256:
        status = Status.CONTENT_CHANGED
        why = f"{entry.revision} now serves different bytes (sha256 changed)"
    elif locked.commit != item.file.commit:
        status, why = Status.UP_TO_DATE, "branch moved, bytes unchanged"
    else:
        status, why = Status.UP_TO_DATE, "same bytes"
    if renamed:
        why += f"; repo renamed to {renamed}: update models.yaml"
    return replace(finding, status=status, why=why)


def content_findings(resolved: list[Resolved], lock: Lock | None) -> list[Finding]:
    return [_content_finding(item, lock) for item in resolved]


def pinned_file(item: Resolved, finding: Finding) -> RemoteFile | None:
    """The file as pinned (lock commit, lock bytes), read under the repo's current name."""
    if item.file is None:
        return None
    if finding.pinned is not None:
        pin = finding.pinned
        return replace(item.file, commit=pin.commit, sha256=pin.sha256, size=pin.size)
    return item.file


def current_pins(
    resolved: Iterable[Resolved], findings: Mapping[str, Finding]
) -> dict[str, FileRef]:
    """What each entry runs now (the lock's pin, else what its revision serves): the
    file a table shows for an entry with nothing proposed, or one that failed."""
    pins = {}
    for item in resolved:
        pinned = pinned_file(item, findings[item.name])
        pins[item.name] = file_ref(pinned) if pinned else FileRef(item.entry.repo, item.entry.file)
    return pins


def content_change(
    finding: Finding,
    pinned: RemoteFile,
    item: Resolved,
    read_many: ReadMany,
    inspector: HeaderInspector,
) -> Change | None:
    assert item.file is not None
    current = file_ref(pinned)
    if finding.status is Status.CONTENT_CHANGED:
        before, after = read_many([pinned, item.file])
        compat = Compatibility.UNKNOWN
        header = None
        why = finding.why
        if isinstance(before, HeaderFacts) and isinstance(after, HeaderFacts):
            compat, header = inspector.compare(before, after), after.summary
        elif not isinstance(after, HeaderFacts):
            why += f"; held back: its header could not be read or parsed ({after.message})"
        return Change(
            finding.entry,
            ChangeKind.CONTENT_CHANGED,
            current,
            file_ref(item.file),
            compat,
            why,
            header,
        )
    # An unlocked entry is not a change: what its revision serves now is what `lock` pins.
    if finding.renamed_to:
        renamed = replace(current, repo=finding.renamed_to)
        why = f"the Hub redirects {finding.repo} to {finding.renamed_to}"
        return Change(
            finding.entry,
            ChangeKind.REPO_RENAMED,
            replace(current, repo=finding.repo),
            renamed,
            Compatibility.SAME_BYTES,
            why,
        )
    return None
