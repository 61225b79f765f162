"""Commit dates of the files a proposal names: a nicety that never fails a check."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime

from imagebuilder.errors import ImageBuilderError
from imagebuilder.hub.client import Hub
from imagebuilder.updates.proposal import Change, FileRef


def commit_dates(
    hub: Hub, workers: int, changes: list[Change]
) -> tuple[list[Change], tuple[str, ...]]:
    """The changes with the commit dates of their current and proposed files (one
    request per (repo, commit)), and the notes to add.

    When the Hub cannot give one, the check goes on without it and a note says so (a
    missing date is never silent).
    """
    wanted: dict[tuple[str, str], set[str]] = {}
    for change in changes:
        for ref in (change.current, change.proposed):
            if ref.commit:
                wanted.setdefault((ref.repo, ref.commit), set()).add(ref.path)

    def dates(key: tuple[str, str]) -> dict[str, datetime]:
        try:
            found = hub.last_commits(key[0], key[1], sorted(wanted[key]))
        except ImageBuilderError as error:
            failed.append(f"{key[0]}@{key[1][:12]} ({error.message})")
            return {}
        return {path: info.date for path, info in found.items() if info.date is not None}

    failed: list[str] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        known = dict(zip(wanted, pool.map(dates, wanted), strict=True))
    notes = (f"commit dates unknown (shown as null) for {'; '.join(sorted(failed))}",)

    def dated(ref: FileRef) -> FileRef:
        date = known.get((ref.repo, ref.commit or ""), {}).get(ref.path)
        return replace(ref, date=date) if date is not None else ref

    dated_changes = [
        replace(c, current=dated(c.current), proposed=dated(c.proposed)) for c in changes
    ]
    return dated_changes, notes if failed else ()
