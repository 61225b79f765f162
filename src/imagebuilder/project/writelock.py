"""One writer at a time for models.yaml and its lock: a lock file next to models.yaml.

``lock``, ``update`` and ``publish`` (which records layer digests) read the files, work
for seconds to hours, then write. Each takes this lock only around its final
read-check-write, re-reading the files inside it: a publish merges its digests into the
lock as it is *now* (it once wrote back the lock it read at start, reverting an update),
and an update whose models.yaml changed underneath it stops instead of overwriting.

Why ``fcntl.flock`` and not the ``filelock`` package: the kernel releases a flock when
its holder dies (kill -9 included), so there is no stale lock to detect or break; and
the holder can write who it is (pid, command) into the lock file for the message a
waiter prints, which ``filelock`` cannot offer (it truncates the file on every attempt
to acquire). The cost is POSIX only; imagebuilder runs on Linux and macOS (its images
are Linux images), so that is no loss.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from imagebuilder.errors import ConfigError, WriterBusy
from imagebuilder.project.characters import terminal_safe

WAIT_ENV = "IMAGEBUILDER_LOCK_WAIT"  # seconds to wait for another writer; default below
DEFAULT_WAIT_S = 30.0  # other writers hold the lock for one read-check-write: milliseconds
_POLL_S = 0.05


def writer_lock_path(config_path: Path) -> Path:
    """``.models.yaml.lock`` next to ``models.yaml`` (hidden; it exists only while held)."""
    return config_path.with_name(f".{config_path.name}.lock")


def _wait_seconds() -> float:
    raw = os.environ.get(WAIT_ENV, "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_WAIT_S
    return value if 0 <= value < 86_400 else DEFAULT_WAIT_S


def _holder(descriptor: int) -> str:
    """What the current holder wrote about itself (it may not have written yet)."""
    with contextlib.suppress(OSError):
        text = os.pread(descriptor, 300, 0).decode("utf-8", "replace").strip()
        if text:
            return terminal_safe(text)
    return "another imagebuilder run"


def _open(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as error:
        raise ConfigError(
            f"cannot create the writer lock: {error.strerror}",
            location=str(path),
            hint="this command writes models.yaml or its lock: run it where the folder "
            "holding models.yaml is writable",
        ) from None


def _still_linked(descriptor: int, path: Path) -> bool:
    """Whether ``path`` still names the file we locked (a holder removes it on release)."""
    try:
        return os.stat(path).st_ino == os.fstat(descriptor).st_ino
    except FileNotFoundError:
        return False


def _acquire(path: Path, wait: float) -> int:
    deadline = time.monotonic() + wait
    while True:
        descriptor = _open(path)
        try:
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise _busy(path, _holder(descriptor), wait) from None
                    time.sleep(_POLL_S)
        except BaseException:
            os.close(descriptor)
            raise
        if _still_linked(descriptor, path):
            return descriptor
        os.close(descriptor)  # locked a file its holder had just removed: take the new one


@contextlib.contextmanager
def writer_lock(config_path: Path, command: str, *, wait_s: float | None = None) -> Iterator[None]:
    """Hold the writer lock of ``config_path``; WriterBusy after ``wait_s`` (default from
    IMAGEBUILDER_LOCK_WAIT, else 30 s) if another run keeps holding it.

    The holder removes the lock file before releasing it, so a project folder has no
    ``.models.yaml.lock`` between runs (only after a run was killed, until the next one).
    A waiter that then locks the removed file notices (its inode is no longer the path's)
    and tries again on the current one."""
    path = writer_lock_path(config_path)
    descriptor = _acquire(path, _wait_seconds() if wait_s is None else wait_s)
    try:
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.ftruncate(descriptor, 0)
        holder = f"pid {os.getpid()} (`imagebuilder {command}`, since {since})\n"
        os.pwrite(descriptor, holder.encode(), 0)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # while still holding it: see the docstring
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.close(descriptor)


def _busy(path: Path, holder: str, waited: float) -> WriterBusy:
    return WriterBusy(
        f"{path.name} is held by {holder}; waited {waited:g} s",
        location=str(path),
        hint=f"let that run finish, then run this command again (or wait longer: "
        f"{WAIT_ENV}=SECONDS). A run that was killed releases the lock by itself.",
    )


def changed_underneath(path: Path, what: str) -> WriterBusy:
    """The file changed between this run's first read and its write: another run wrote."""
    return WriterBusy(
        f"{what} changed while this command ran (another run wrote it); nothing was written",
        location=str(path),
        hint="run the command again: it will start from the current files",
    )
