"""Resolve models.yaml through the Hub into a Lock: commit, sha256, size per entry.

One model-info request per distinct (repo, revision), run concurrently; nothing is
downloaded: sha256 and size come from the Hub's LFS metadata.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import PurePosixPath

from imagebuilder.errors import EntryErrors, FileNotFoundOnHub, HubError, ImageBuilderError
from imagebuilder.hub.client import Hub, RemoteFile, RepoSnapshot
from imagebuilder.project.config import Config, ModelEntry
from imagebuilder.project.lock import Lock, LockEntry

# The one limit on Hub calls in flight, for every concurrent fetch (lock, verify,
# check-updates): enough to hide round trips, few enough not to be rate-limited.
MAX_CONCURRENT_HUB_CALLS = 8
_MAX_GUESS_CANDIDATES = 5000  # a did-you-mean over a huge repo must stay cheap


@dataclass(frozen=True)
class Resolved:
    """What the tracked revision of one entry serves now, or why it could not be read."""

    name: str
    entry: ModelEntry
    snapshot: RepoSnapshot | None
    file: RemoteFile | None
    error: ImageBuilderError | None


def fetch_snapshots(
    hub: Hub, sources: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], RepoSnapshot | ImageBuilderError]:
    """Snapshots of distinct (repo, revision) pairs, concurrently; errors kept per pair."""
    unique = sorted(set(sources))
    with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENT_HUB_CALLS, max(1, len(unique)))) as pool:
        snapshots = pool.map(lambda source: snapshot_or_error(hub, source), unique)
        return dict(zip(unique, snapshots, strict=True))


def snapshot_or_error(hub: Hub, source: tuple[str, str]) -> RepoSnapshot | ImageBuilderError:
    """One (repo, revision) listing; a failure is kept as a value, for the caller to
    report with the entry it belongs to."""
    try:
        return hub.snapshot(*source)
    except ImageBuilderError as error:
        return error


def resolve_entries(config: Config, hub: Hub) -> list[Resolved]:
    snapshots = fetch_snapshots(hub, ((e.repo, e.revision) for e in config.models.values()))
    return resolve_from_snapshots(config, snapshots)


def resolve_from_snapshots(
    config: Config, snapshots: Mapping[tuple[str, str], RepoSnapshot | ImageBuilderError]
) -> list[Resolved]:
    """Entries resolved from snapshots fetched already (check-updates fetches more at once)."""
    resolved = []
    for name, entry in config.models.items():
        found = snapshots[(entry.repo, entry.revision)]
        if isinstance(found, ImageBuilderError):
            resolved.append(Resolved(name, entry, None, None, found))
            continue
        remote = found.files.get(entry.file)
        error: ImageBuilderError | None = None
        if remote is None:
            error = FileNotFoundOnHub(
                f"{entry.file} is not in the repo at this revision",
                location=f"{entry.repo}@{entry.revision} (entry {name})",
                hint=_missing_file_hint(entry.file, found.files),
            )
        elif remote.sha256 is None:
            error = HubError(
                f"{entry.file} is not stored with LFS, so the Hub publishes no sha256 for it",
                location=f"{entry.repo}@{entry.revision} (entry {name})",
                hint="model weights are always LFS files on the Hub; check the path",
            )
        resolved.append(Resolved(name, entry, found, remote if error is None else None, error))
    return resolved


def _missing_file_hint(wanted: str, files: Mapping[str, RemoteFile]) -> str:
    """A did-you-mean from the repo's own listing (a typo, a wrong folder), else why."""
    suffix = PurePosixPath(wanted).suffix
    names = [path for path in files if PurePosixPath(path).suffix == suffix]
    # Close matches by the whole path, then by the file name alone (the folder is wrong).
    guesses = difflib.get_close_matches(wanted, names[:_MAX_GUESS_CANDIDATES], n=1, cutoff=0.8)
    if not guesses:
        by_name = {PurePosixPath(p).name: p for p in names[:_MAX_GUESS_CANDIDATES]}
        found = difflib.get_close_matches(PurePosixPath(wanted).name, list(by_name), n=1)
        guesses = [by_name[found[0]]] if found else []
    if guesses:
        return f"did you mean {guesses[0]!r}? (fix `file` in models.yaml)"
    return "the file was renamed or removed; run `imagebuilder check-updates`"


def lock_entry(item: Resolved) -> LockEntry:
    assert item.file is not None and item.file.sha256 is not None
    return LockEntry(
        repo=item.entry.repo,
        file=item.entry.file,
        revision=item.entry.revision,
        commit=item.file.commit,
        sha256=item.file.sha256,
        size=item.file.size,
    )


def build_lock(resolved: list[Resolved], previous: Lock | None = None) -> Lock:
    """A lock from resolved entries; every entry error is raised at once (nothing written)."""
    errors = [item.error for item in resolved if item.error is not None]
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise EntryErrors(errors)
    models = {}
    for item in resolved:
        entry = lock_entry(item)
        old = previous.models.get(item.name) if previous else None
        if (
            old is not None
            and old.same_source(entry.repo, entry.file, entry.revision)
            and old.sha256 == entry.sha256
        ):
            # Same bytes behind a moved branch: keep the old pin. Its commit URL still
            # serves these bytes, and a new URL would make the image refetch the file.
            entry = old
        models[item.name] = entry
    return Lock(version=1, models=models)


def relock(config: Config, hub: Hub, previous: Lock | None) -> Lock:
    """The lock `imagebuilder lock` writes: every entry resolved now, old pins kept where
    the bytes did not change."""
    return build_lock(resolve_entries(config, hub), previous)
