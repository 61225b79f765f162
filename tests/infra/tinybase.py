"""A tiny base image: a busybox rootfs imported with `docker import`, nothing pulled.

It offers exactly what templates/Dockerfile.j2 documents it needs from a base: a POSIX
shell, wget, sha256sum, mkdir, cp, rm. The rootfs tar is built in memory.
"""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
APPLETS = (
    "sh", "ash", "wget", "sha256sum", "mkdir", "cp", "mv", "rm", "ls", "cat", "echo",
    "test", "[", "env", "sleep", "find", "stat", "chmod", "true", "false", "tee", "head",
    "tail", "wc", "grep", "sed", "id", "du", "sort", "xargs", "printf", "basename", "dirname",
)  # fmt: skip


def find_busybox() -> Path:
    for candidate in BUSYBOX_CANDIDATES:
        path = Path(candidate)
        if path.is_file():
            return path
    found = shutil.which("busybox")
    if found:
        return Path(found)
    raise RuntimeError("busybox is not installed: run scripts/services.sh start")


def _add_dir(tar: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    tar.addfile(info)


def _add_file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def busybox_rootfs_tar() -> bytes:
    """A deterministic rootfs tar (mtime 0, uid 0): the same busybox gives the same bytes."""
    busybox = find_busybox().read_bytes()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for directory in ("bin", "etc", "root", "usr", "usr/bin", "var"):
            _add_dir(tar, directory)
        _add_dir(tar, "tmp", 0o1777)
        _add_file(tar, "bin/busybox", busybox, 0o755)
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            link.mode = 0o777
            tar.addfile(link)
        _add_file(tar, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
        _add_file(tar, "etc/group", b"root:x:0:\n")
    return buffer.getvalue()
