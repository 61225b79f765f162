"""Join files that were published as parts (registries that cap a layer's size).

Cheapest first, per part: a reflink (FICLONERANGE: the parts' blocks are shared, no
data is copied; XFS and Btrfs, with the parts' offsets block-aligned, which publish
makes them), else copy_file_range (the kernel copies, no round trip through this
process; on some filesystems it is itself a reflink), else a plain buffered copy. The
parts are joined in parallel, each into its own range of the destination, which is
renamed into place once complete: a restarted container finds it and pays nothing.

The join is not overlapped with ComfyUI's start: ComfyUI checks a job's file names
against its model folders when the job is queued, and the handler may queue the first
job as soon as ComfyUI answers, so the file must be complete by then.
"""

from __future__ import annotations

import fcntl
import os
import struct
import threading
import time

from .events import log
from .settings import JoinFile

_FICLONERANGE = 0x4020940D  # _IOW(0x94, 13, struct file_clone_range)


def _reflink(src: int, dst: int, length: int, offset: int) -> bool:
    try:
        fcntl.ioctl(dst, _FICLONERANGE, struct.pack("qQQQ", src, 0, length, offset))
    except OSError:
        return False
    return True


def _kernel_copy(src: int, dst: int, length: int, offset: int) -> bool:
    done = 0
    try:
        while done < length:
            copied = os.copy_file_range(src, dst, length - done, done, offset + done)
            if copied == 0:
                return False
            done += copied
    except (OSError, AttributeError):
        return False
    return True


def _plain_copy(src: int, dst: int, length: int, offset: int) -> None:
    done = 0
    while done < length:
        data = os.pread(src, min(16 << 20, length - done), done)
        if not data:
            raise OSError(f"a part ended {length - done} bytes early")
        os.pwrite(dst, data, offset + done)
        done += len(data)


def _join_part(path: str, dst: int, offset: int, methods: list[str]) -> None:
    length = os.path.getsize(path)
    src = os.open(path, os.O_RDONLY)
    try:
        if _reflink(src, dst, length, offset):
            methods.append("reflink")
        elif _kernel_copy(src, dst, length, offset):
            methods.append("copy_file_range")
        else:
            _plain_copy(src, dst, length, offset)
            methods.append("copy")
    finally:
        os.close(src)


def join_file(item: JoinFile) -> str:
    """Join one file; returns how ("present", "reflink", "copy_file_range", "copy")."""
    if os.path.isfile(item.destination) and os.path.getsize(item.destination) == item.size:
        return "present"
    os.makedirs(os.path.dirname(item.destination), exist_ok=True)
    temporary = item.destination + ".joining"
    dst = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    methods: list[str] = []
    errors: list[BaseException] = []
    try:
        os.ftruncate(dst, item.size)
        offsets, offset = [], 0
        for part in item.parts:
            offsets.append(offset)
            offset += os.path.getsize(part)
        if offset != item.size:
            raise OSError(f"the parts hold {offset} bytes, {item.size} expected")

        def run(part: str, at: int) -> None:
            try:
                _join_part(part, dst, at, methods)
            except BaseException as error:  # re-raised below, in the joining thread
                errors.append(error)

        threads = [
            threading.Thread(target=run, args=pair)
            for pair in zip(item.parts, offsets, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        os.fsync(dst)
    except BaseException:
        os.close(dst)
        os.unlink(temporary)
        raise
    os.close(dst)
    os.replace(temporary, item.destination)
    return "+".join(sorted(set(methods)))


def join_all(items: tuple[JoinFile, ...]) -> None:
    for item in items:
        started = time.monotonic()
        try:
            how = join_file(item)
        except OSError as error:
            log("join_failed", destination=item.destination, error=str(error))
            continue
        log(
            "join_done",
            destination=item.destination,
            method=how,
            size=item.size,
            seconds=round(time.monotonic() - started, 3),
        )
