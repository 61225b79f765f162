"""Deterministic, uncompressed tar layers, written as a stream.

A layer's digest must depend only on what it holds (paths and bytes), never on when or
where it was built: that is what lets a registry say "I already have it" to a publish on
another machine. So every header is built from fixed metadata (mtime 0, uid/gid 0, no
user names, mode 0644 for files and 0755 for directories), parents come before children
in sorted order, and the archive ends with exactly two zero blocks (no record padding).

Layers are uncompressed (``application/vnd.oci.image.layer.v1.tar``): safetensors weights
barely compress, and gzip would cost minutes per release. An uncompressed layer's digest
is also its diff_id, so one sha256 over the stream gives both.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

BLOCK = 512
END_OF_ARCHIVE = b"\0" * (2 * BLOCK)
LAYER_MTIME = 0  # fixed: a digest that changed with the clock could never be reused
FILE_MODE = 0o644
DIR_MODE = 0o755
LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar"


def _header(name: str, *, size: int, directory: bool) -> bytes:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = DIR_MODE if directory else FILE_MODE
    info.size = 0 if directory else size
    info.mtime = LAYER_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    # PAX: the portable way to carry sizes over 8 GiB (the diffusion model is ~20 GB)
    # and long or non-ASCII paths; Docker's and containerd's readers both accept it.
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


def layer_path(absolute: str) -> str:
    """'/comfyui/models/vae/x.safetensors' -> 'comfyui/models/vae/x.safetensors'."""
    path = PurePosixPath(absolute)
    parts = [part for part in path.parts if part != "/"]
    if not parts or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"{absolute!r} is not a clean absolute path for an image layer")
    return "/".join(parts)


def parent_dirs(paths: Iterable[str]) -> list[str]:
    """Every parent directory of the given layer paths, sorted (parents first)."""
    found: set[str] = set()
    for path in paths:
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            found.add("/".join(parts[:depth]))
    return sorted(found)


@dataclass(frozen=True)
class LayerEntry:
    """One regular file in a layer: where it goes and how many bytes it has."""

    path: str  # layer path: relative, '/'-separated
    size: int


@dataclass(frozen=True)
class LayerLayout:
    """The bytes a layer holds apart from file contents, and where each content goes."""

    entries: tuple[LayerEntry, ...]

    def directory_headers(self) -> bytes:
        dirs = parent_dirs(entry.path for entry in self.entries)
        return b"".join(_header(f"{name}/", size=0, directory=True) for name in dirs)

    def file_header(self, entry: LayerEntry) -> bytes:
        return _header(entry.path, size=entry.size, directory=False)

    @property
    def total_size(self) -> int:
        """Exact layer size, known before a single content byte is read."""
        total = len(self.directory_headers()) + len(END_OF_ARCHIVE)
        for entry in self.entries:
            total += len(self.file_header(entry)) + entry.size + len(padding(entry.size))
        return total


def layout_for(files: Iterable[LayerEntry]) -> LayerLayout:
    ordered = sorted(files, key=lambda entry: entry.path)
    paths = [entry.path for entry in ordered]
    if len(set(paths)) != len(paths):
        raise ValueError("a layer cannot hold the same path twice")
    return LayerLayout(tuple(ordered))


def stream_layer(layout: LayerLayout, contents: Iterable[Iterable[bytes]]) -> Iterator[bytes]:
    """The layer's bytes: headers, each file's chunks (in layout order), padding, end.

    ``contents`` yields one chunk iterator per entry; a source that yields more or fewer
    bytes than the entry's size is an error, since the header already promised the size.
    """
    yield layout.directory_headers()
    sources = iter(contents)
    for entry in layout.entries:
        yield layout.file_header(entry)
        source = next(sources, None)
        if source is None:
            raise ValueError(f"no content given for {entry.path}")
        written = 0
        for chunk in source:
            written += len(chunk)
            if written > entry.size:
                raise ValueError(f"{entry.path}: more bytes than the {entry.size} announced")
            yield chunk
        if written != entry.size:
            raise ValueError(f"{entry.path}: {written} bytes, {entry.size} announced")
        yield padding(entry.size)
    yield END_OF_ARCHIVE


def small_layer(files: dict[str, bytes]) -> bytes:
    """A whole layer in memory, for small files (rendered workflows, the model index)."""
    layout = layout_for(LayerEntry(path, len(data)) for path, data in files.items())
    by_path = {layer_path("/" + path): data for path, data in files.items()}
    return b"".join(stream_layer(layout, ([by_path[e.path]] for e in layout.entries)))
