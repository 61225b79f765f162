"""Write files all-or-nothing: a reader sees the old file or the new one, never half.

The data goes to a temp file next to the target, then ``os.replace`` swaps it in. A
process killed between the two (kill -9, OOM, power) leaves the temp file behind, so
each temp file's name carries the writer's pid (``.models.lock.json.<pid>.tmp-XXXX``)
and the next write into the same folder (of any file), or the next command that loads
the project there, removes those whose writer is gone. A temp file of a live process
(a concurrent writer) is never touched.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

_TEMP_SUFFIX = re.compile(r"\.(\d{1,10})\.tmp-[A-Za-z0-9_]{1,64}")
_TEMP_NAME = re.compile(r"\..+\.(\d{1,10})\.tmp-[A-Za-z0-9_]{1,64}")


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # exists but is not ours, or cannot be asked: leave its file alone
    return True


def temp_files_of(path: Path) -> list[Path]:
    """Temp files an atomic write of ``path`` created and has not (yet) renamed."""
    prefix = f".{path.name}"
    try:
        names = [entry.name for entry in os.scandir(path.parent)]
    except FileNotFoundError:
        return []
    return sorted(
        path.parent / name
        for name in names
        if name.startswith(prefix) and _TEMP_SUFFIX.fullmatch(name[len(prefix) :])
    )


def clean_stale_temp_files(path: Path) -> list[Path]:
    """Removes the temp files of writers of ``path`` that died; returns what it removed."""
    removed = []
    for temp in temp_files_of(path):
        match = _TEMP_SUFFIX.fullmatch(temp.name[len(path.name) + 1 :])
        if match is not None and not _process_alive(int(match.group(1))):
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
                removed.append(temp)
    return removed


def clean_stale_temp_files_in(folder: Path) -> list[Path]:
    """Removes every temp file in ``folder`` whose writer died, whatever its target."""
    try:
        names = [entry.name for entry in os.scandir(folder) if entry.is_file()]
    except (FileNotFoundError, NotADirectoryError):
        return []
    removed = []
    for name in sorted(names):
        match = _TEMP_NAME.fullmatch(name)
        if match is not None and not _process_alive(int(match.group(1))):
            with contextlib.suppress(FileNotFoundError):
                (folder / name).unlink()
                removed.append(folder / name)
    return removed


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temp_files_in(path.parent)
    descriptor, temp_name = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}.tmp-", dir=path.parent
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(temp_name, path.stat().st_mode & 0o777)
        else:
            os.chmod(temp_name, 0o644)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
