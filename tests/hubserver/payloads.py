"""JSON bodies of the Hub API, as pure functions over repo snapshots.

Field names follow shared/reference/hub-api.md; note the LFS hash is `sha256` in model
info siblings but `oid` in tree/paths-info entries. `xetHash` is never emitted: it would
switch the client to the Xet protocol.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .blob import Blob
from .repo import Commit, Repo


def commit_ref(commit: Commit) -> dict[str, Any]:
    return {"id": commit.id, "title": commit.title, "date": commit.date}


def model_info(repo: Repo, commit: Commit, *, blobs: bool) -> dict[str, Any]:
    return {
        "_id": hashlib.sha1(repo.id.encode(), usedforsecurity=False).hexdigest()[:24],
        "id": repo.id,
        "modelId": repo.id,
        "author": repo.author,
        "sha": commit.id,
        "lastModified": commit.date,
        "createdAt": repo.created_at,
        "private": False,
        # The Hub says "auto"/"manual" for gated repos and false otherwise.
        "gated": "manual" if repo.gated else False,
        "disabled": False,
        "downloads": 0,
        "likes": 0,
        "tags": [],
        "siblings": [_sibling(path, v.blob, blobs) for path, v in sorted(commit.tree.items())],
    }


def listed_model(repo: Repo, commit: Commit) -> dict[str, Any]:
    info = model_info(repo, commit, blobs=False)
    del info["siblings"]  # the list endpoint omits them unless full=true
    return info


def _sibling(path: str, blob: Blob, blobs: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"rfilename": path}
    if blobs:
        entry["size"] = blob.size
        entry["blobId"] = blob.oid
        if blob.lfs:
            entry["lfs"] = {
                "sha256": blob.sha256,
                "size": blob.size,
                "pointerSize": len(blob.pointer),
            }
    return entry


def file_entry(path: str, blob: Blob, last_commit: Commit | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "file", "oid": blob.oid, "size": blob.size, "path": path}
    if blob.lfs:
        entry["lfs"] = {"oid": blob.sha256, "size": blob.size, "pointerSize": len(blob.pointer)}
    if last_commit is not None:
        entry["lastCommit"] = commit_ref(last_commit)
    return entry


def folder_entry(path: str, commit: Commit, last_commit: Commit | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "directory", "oid": folder_oid(commit, path), "path": path}
    if last_commit is not None:
        entry["lastCommit"] = commit_ref(last_commit)
    return entry


def folder_oid(commit: Commit, folder: str) -> str:
    # Stable while nothing below the folder changes, like a git tree id; cheap to compute
    # because it never needs the sha256 of (possibly huge, virtual) LFS files.
    digest = hashlib.sha1(folder.encode(), usedforsecurity=False)
    for path, version in sorted(commit.tree.items()):
        if path.startswith(folder + "/"):
            digest.update(f"{path}\0{version.last_commit}\0".encode())
    return digest.hexdigest()


def folders_of(commit: Commit) -> set[str]:
    out: set[str] = set()
    for path in commit.tree:
        parts = path.split("/")[:-1]
        out.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return out


def tree_entries(
    repo: Repo, commit: Commit, folder: str, *, recursive: bool, expand: bool
) -> list[dict[str, Any]] | None:
    """Entries under `folder` ("" = root), or None when the folder does not exist."""
    folders = folders_of(commit)
    if folder and folder not in folders:
        return None
    prefix = f"{folder}/" if folder else ""

    def inside(path: str) -> bool:
        if not path.startswith(prefix):
            return False
        return recursive or "/" not in path[len(prefix) :]

    dirs = sorted(p for p in folders if inside(p))
    files = sorted(p for p in commit.tree if inside(p))
    out = [_entry(repo, commit, p, expand) for p in dirs]
    out += [_entry(repo, commit, p, expand) for p in files]
    if recursive:
        out.sort(key=lambda e: e["path"])
    return out


def paths_info(
    repo: Repo, commit: Commit, paths: list[str], *, expand: bool
) -> list[dict[str, Any]]:
    folders = folders_of(commit)
    wanted = dict.fromkeys(p.strip("/") for p in paths)  # dedupe, keep order
    return [_entry(repo, commit, p, expand) for p in wanted if p in commit.tree or p in folders]


def _entry(repo: Repo, commit: Commit, path: str, expand: bool) -> dict[str, Any]:
    version = commit.tree.get(path)
    if version is not None:
        last = repo.commits[version.last_commit] if expand else None
        return file_entry(path, version.blob, last)
    return folder_entry(path, commit, _folder_last_commit(repo, commit, path) if expand else None)


def _folder_last_commit(repo: Repo, commit: Commit, folder: str) -> Commit:
    touched = {v.last_commit for p, v in commit.tree.items() if p.startswith(folder + "/")}
    return next(c for c in repo.history(commit) if c.id in touched)


def refs(repo: Repo) -> dict[str, Any]:
    def ref(kind: str, name: str, target: str) -> dict[str, str]:
        return {"name": name, "ref": f"refs/{kind}/{name}", "targetCommit": target}

    return {
        "branches": [ref("heads", n, t) for n, t in sorted(repo.branches.items())],
        "converts": [],
        "tags": [ref("tags", n, t) for n, t in sorted(repo.tags.items())],
        "pullRequests": [],
    }


def commit_entry(commit: Commit, *, formatted: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": commit.id,
        "title": commit.title,
        "message": commit.message,
        "date": commit.date,
        "authors": [{"user": commit.author, "avatar": ""}],
    }
    if formatted:
        entry["formatted"] = {"title": commit.title, "message": commit.message}
    return entry
