"""Repositories with a git-like commit graph: immutable snapshots, movable refs."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from .blob import Blob, blob_from_spec

COMMIT_RE = re.compile(r"[0-9a-f]{40}")
DELETE = None  # a files-map value meaning "remove this path in the new commit"


@dataclass(frozen=True)
class FileVersion:
    blob: Blob
    last_commit: str  # id of the commit that last changed this path


@dataclass(frozen=True)
class Commit:
    id: str
    title: str
    message: str
    date: str  # 2025-09-22T10:00:00.000Z, the format the client's parser insists on
    author: str
    parent: str | None
    tree: Mapping[str, FileVersion]


def format_date(value: Any) -> str:
    """Accept what YAML hands us (str or datetime) and emit the Hub's millisecond Z format."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class Repo:
    id: str
    gated: bool = False
    commits: dict[str, Commit] = field(default_factory=dict)  # creation order
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def author(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def created_at(self) -> str:
        return next(iter(self.commits.values())).date if self.commits else format_date("2025-01-01")

    def resolve(self, revision: str) -> Commit | None:
        """Branch, tag or full commit id, with or without the refs/heads|tags/ prefix."""
        for prefix, refs in (("refs/heads/", self.branches), ("refs/tags/", self.tags)):
            if revision.startswith(prefix):
                target = refs.get(revision.removeprefix(prefix))
                return self.commits.get(target) if target else None
        target = self.branches.get(revision) or self.tags.get(revision)
        if target is None and COMMIT_RE.fullmatch(revision):
            target = revision
        return self.commits.get(target) if target else None

    def history(self, commit: Commit) -> list[Commit]:
        """Newest first, following first parents like `git log --first-parent`."""
        out = [commit]
        while out[-1].parent is not None:
            out.append(self.commits[out[-1].parent])
        return out

    def add_commit(
        self,
        files: Mapping[str, Any],
        *,
        title: str,
        parent: str | None,
        date: Any = None,
        commit_id: str | None = None,
        message: str = "",
        author: str = "hubserver",
    ) -> Commit:
        base = self.commits[parent].tree if parent else {}
        when = format_date(date) if date is not None else self._next_date(parent)
        cid = commit_id or _derive_id(self.id, parent, title, when, sorted(files))
        if not COMMIT_RE.fullmatch(cid) or cid in self.commits:
            raise ValueError(f"{self.id}: bad or duplicate commit id {cid!r}")
        tree = dict(base)
        for path, spec in files.items():
            if spec is DELETE or (isinstance(spec, Mapping) and spec.get("delete")):
                if tree.pop(path, None) is None:
                    raise ValueError(f"{self.id}: cannot delete missing file {path!r}")
            else:
                tree[path] = FileVersion(blob_from_spec(spec), cid)
        commit = Commit(cid, title, message, when, author, parent, MappingProxyType(tree))
        self.commits[cid] = commit
        return commit

    def _next_date(self, parent: str | None) -> str:
        # Deterministic clock: one hour after the parent keeps ids reproducible across runs.
        if parent is None:
            return format_date("2025-01-01T00:00:00Z")
        previous = datetime.fromisoformat(self.commits[parent].date.replace("Z", "+00:00"))
        return format_date(previous + timedelta(hours=1))


def _derive_id(repo: str, parent: str | None, title: str, date: str, paths: list[str]) -> str:
    seed = "\0".join([repo, parent or "", title, date, *paths])
    return hashlib.sha1(seed.encode(), usedforsecurity=False).hexdigest()


def build_repo(spec: Mapping[str, Any]) -> Repo:
    """Repo from its scenario mapping: id, gated, commits (oldest first), branches, tags."""
    repo = Repo(id=str(spec["id"]), gated=bool(spec.get("gated", False)))
    parent: str | None = None
    ids: list[str] = []
    for raw in spec.get("commits") or []:
        commit = repo.add_commit(
            raw.get("files") or {},
            title=str(raw.get("title", "Update")),
            parent=parent,
            date=raw.get("date"),
            commit_id=raw.get("id"),
            message=str(raw.get("message", "")),
            author=str(raw.get("author", "hubserver")),
        )
        parent = commit.id
        ids.append(commit.id)
    if parent is None:
        raise ValueError(f"{repo.id}: a repo needs at least one commit")

    def target(ref: Any) -> str:
        return ids[ref] if isinstance(ref, int) else str(ref)

    repo.branches = {str(k): target(v) for k, v in (spec.get("branches") or {}).items()}
    repo.branches.setdefault("main", parent)
    repo.tags = {str(k): target(v) for k, v in (spec.get("tags") or {}).items()}
    for ref in (*repo.branches.values(), *repo.tags.values()):
        if ref not in repo.commits:
            raise ValueError(f"{repo.id}: ref points at unknown commit {ref!r}")
    return repo
