"""The pinned file: one value type for "these bytes, at this commit of this repo".

The lock holds one per entry (``LockEntry.pin``); the layer plan both image paths use,
publish's streams and the image records are built from it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pin:
    """A file pinned to immutable bytes: ``path`` in ``repo`` at ``commit`` (the commit
    ``revision`` pointed at when locked), known by its sha256 and size; ``layer_digest``
    is its deterministic image layer, once a publish has made it."""

    repo: str
    path: str
    commit: str
    sha256: str
    size: int
    revision: str | None = None
    layer_digest: str | None = None

    @property
    def where(self) -> str:
        """``repo@commit12/path``: how messages name the file."""
        return f"{self.repo}@{self.commit[:12]}/{self.path}"

    def record(self) -> dict[str, object]:
        """The fields an image records per model (its labels; `inspect-image`, `diff`)."""
        return {
            "repo": self.repo,
            "file": self.path,
            "commit": self.commit,
            "sha256": self.sha256,
            "size": self.size,
        }
