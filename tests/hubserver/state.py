"""The Hub's mutable state: repos by name, renames, and thread-safe mutations."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from .repo import DELETE, Commit, Repo, build_repo


class HubState:
    """Everything the server knows. Handlers read immutable Commit snapshots under the lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.repos: dict[str, Repo] = {}
        self.renamed: dict[str, str] = {}  # old id -> current id

    def load(self, scenario: Mapping[str, Any]) -> None:
        for spec in scenario.get("repos") or []:
            self.add_repo(spec)

    def _insert(self, repo: Repo) -> None:
        if repo.id in self.repos:
            raise ValueError(f"repo {repo.id} already exists")
        self.renamed.pop(repo.id, None)
        self.repos[repo.id] = repo

    def lookup(self, repo_id: str) -> tuple[Repo | None, str | None]:
        """(repo, None) if it exists, (None, new_id) if renamed, (None, None) if unknown."""
        with self.lock:
            if repo_id in self.repos:
                return self.repos[repo_id], None
            return None, self._follow_rename(repo_id)

    def _follow_rename(self, repo_id: str) -> str | None:
        seen: set[str] = set()
        current = self.renamed.get(repo_id)
        while current is not None and current not in self.repos and current not in seen:
            seen.add(current)
            current = self.renamed.get(current)
        return current if current in self.repos else None

    def repo(self, repo_id: str) -> Repo:
        with self.lock:
            try:
                return self.repos[repo_id]
            except KeyError:
                raise KeyError(f"no repo {repo_id!r}") from None

    # --- mutations -----------------------------------------------------------------------

    def add_repo(self, spec: Mapping[str, Any]) -> Repo:
        repo = build_repo(spec)
        with self.lock:
            self._insert(repo)
            for alias in spec.get("aliases") or []:
                self.renamed[str(alias)] = repo.id
        return repo

    def commit(
        self,
        repo_id: str,
        files: Mapping[str, Any],
        *,
        title: str = "Update files",
        branch: str = "main",
        date: Any = None,
        commit_id: str | None = None,
        message: str = "",
    ) -> str:
        with self.lock:
            repo = self.repo(repo_id)
            # A new branch starts from main, like `git switch -c` would.
            parent = repo.branches.get(branch) or repo.branches.get("main")
            new = repo.add_commit(
                files, title=title, parent=parent, date=date, commit_id=commit_id, message=message
            )
            repo.branches[branch] = new.id
            return new.id

    def delete_file(self, repo_id: str, path: str, *, branch: str = "main") -> str:
        return self.commit(repo_id, {path: DELETE}, title=f"Delete {path}", branch=branch)

    def move_branch(self, repo_id: str, branch: str, commit: str | int) -> None:
        with self.lock:
            repo = self.repo(repo_id)
            target = _commit_ref(repo, commit)
            repo.branches[branch] = target.id

    def set_tag(self, repo_id: str, tag: str, commit: str | int) -> None:
        with self.lock:
            repo = self.repo(repo_id)
            repo.tags[tag] = _commit_ref(repo, commit).id

    def rename_repo(self, old: str, new: str) -> None:
        with self.lock:
            repo = self.repos.pop(old)
            if new in self.repos:
                self.repos[old] = repo
                raise ValueError(f"repo {new} already exists")
            repo.id = new
            self.repos[new] = repo
            self.renamed.pop(new, None)
            self.renamed[old] = new

    def delete_repo(self, repo_id: str) -> None:
        with self.lock:
            self.repo(repo_id)  # KeyError for a repo that is not there
            del self.repos[repo_id]
            self.renamed = {old: new for old, new in self.renamed.items() if new != repo_id}

    def set_gated(self, repo_id: str, gated: bool) -> None:
        with self.lock:
            self.repo(repo_id).gated = gated


def _commit_ref(repo: Repo, ref: str | int) -> Commit:
    if isinstance(ref, int):
        return list(repo.commits.values())[ref]
    found = repo.resolve(ref)
    if found is None:
        raise KeyError(f"{repo.id}: no commit or ref {ref!r}")
    return found
