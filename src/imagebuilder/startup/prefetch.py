"""Read files into the page cache with several readers, in the order they are needed.

The files are cut into chunks queued in order, so N readers work on the first file
together before the next one starts: the file the first job loads first is in memory
first. Readers run at a low CPU and I/O priority, so ComfyUI's own start (its imports
read files too) is not starved; each reader reuses one buffer, so memory stays bounded
(readers x chunk) whatever the file sizes. Reading a file that is already cached costs
a memory copy, nothing more.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import platform
import queue
import sysconfig
import threading
import time
from dataclasses import dataclass

from .events import log
from .settings import PrefetchFile, Settings

# ioprio_set(2): not wrapped by Python; the syscall number depends on the architecture.
_IOPRIO_SET = {"x86_64": 251, "aarch64": 30}
_IOPRIO_CLASS_BE = 2
_IOPRIO_CLASS_SHIFT = 13
_LIBRARY_MIN_BYTES = 1 << 20


@dataclass
class _FileProgress:
    path: str
    size: int
    chunks_left: int
    started: float = 0.0


def python_libraries(packages: tuple[str, ...]) -> list[PrefetchFile]:
    """The large shared libraries of these packages (torch, nvidia: CUDA) in this Python's
    site-packages: what a cold start reads first, before any model file."""
    found = []
    roots = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    for root, package in sorted((r, p) for r in roots for p in packages):
        pattern = os.path.join(root, package, "**", "*.so*")
        for path in glob.glob(pattern, recursive=True):
            try:
                size = os.path.getsize(path)
            except OSError:
                continue
            if size >= _LIBRARY_MIN_BYTES:
                found.append(PrefetchFile(path, size))
    return sorted(found, key=lambda f: f.path)


def lower_priority(nice: int) -> None:
    """This thread only: CPU nice and best-effort I/O class at a low level."""
    tid = threading.get_native_id()
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, tid, nice)
    number = _IOPRIO_SET.get(platform.machine())
    if number is None:
        return
    level = max(0, min(7, 7 - nice // 3))
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall(number, 1, tid, (_IOPRIO_CLASS_BE << _IOPRIO_CLASS_SHIFT) | level)
    except (OSError, AttributeError):
        pass


class Prefetch:
    def __init__(self, files: list[PrefetchFile], settings: Settings) -> None:
        self.settings = settings
        self.files = [f for f in files if f.size > 0]
        self.chunks: queue.Queue[tuple[int, int, int] | None] = queue.Queue()
        self.progress = [_FileProgress(f.path, f.size, 0) for f in self.files]
        for index, item in enumerate(self.files):
            offsets = range(0, item.size, settings.chunk_bytes)
            self.progress[index].chunks_left = len(offsets)
            for offset in offsets:
                self.chunks.put((index, offset, min(settings.chunk_bytes, item.size - offset)))
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()
        self.started = 0.0
        self.bytes_read = 0
        self.errors: list[str] = []
        # The disk's queue is shared: under mq-deadline or none (what cloud block devices
        # use) I/O priorities are ignored, so only fewer readers leave ComfyUI's own reads
        # room. The rest join once ComfyUI answers (widen), or after a minute regardless.
        self.wide = threading.Event()

    def widen(self) -> None:
        if not self.wide.is_set():
            log("prefetch_widen", readers=self.settings.readers)
        self.wide.set()

    def start(self) -> None:
        self.started = time.monotonic()
        log(
            "prefetch_start",
            files=len(self.files),
            bytes=sum(f.size for f in self.files),
            readers=self.settings.readers,
        )
        for number in range(self.settings.readers):
            self.chunks.put(None)
            thread = threading.Thread(
                target=self._reader, args=(number,), name=f"prefetch-{number}", daemon=True
            )
            thread.start()
            self.threads.append(thread)
        threading.Thread(target=self._report, name="prefetch-report", daemon=True).start()

    def join(self, timeout: float | None = None) -> None:
        for thread in self.threads:
            thread.join(timeout)

    def _report(self) -> None:
        self.join()
        seconds = time.monotonic() - self.started
        log(
            "prefetch_done",
            seconds=round(seconds, 3),
            bytes=self.bytes_read,
            gb_per_s=round(self.bytes_read / max(seconds, 1e-9) / 1e9, 3),
            errors=self.errors[:10],
        )

    def _reader(self, number: int) -> None:
        lower_priority(self.settings.nice)
        if number >= self.settings.start_readers:
            self.wide.wait(timeout=60.0)
        buffer = bytearray(self.settings.chunk_bytes)
        handles: dict[int, int] = {}
        try:
            while (chunk := self.chunks.get()) is not None:
                self._read(chunk, buffer, handles)
        finally:
            for fd in handles.values():
                os.close(fd)

    def _read(
        self, chunk: tuple[int, int, int], buffer: bytearray, handles: dict[int, int]
    ) -> None:
        index, offset, length = chunk
        item = self.progress[index]
        with self.lock:
            if not item.started:
                item.started = time.monotonic()
                log("prefetch_file", path=item.path, size=item.size)
        try:
            if index not in handles:
                handles[index] = os.open(item.path, os.O_RDONLY)
            view = memoryview(buffer)[:length]
            done = 0
            while done < length:
                got = os.preadv(handles[index], [view[done:]], offset + done)
                if got <= 0:
                    break
                done += got
        except OSError as error:
            with self.lock:
                self.errors.append(f"{item.path}: {error}")
            done = 0
        with self.lock:
            self.bytes_read += done
            item.chunks_left -= 1
            if item.chunks_left == 0:
                seconds = time.monotonic() - item.started
                log(
                    "prefetch_file_done",
                    path=item.path,
                    seconds=round(seconds, 3),
                    since_start=round(time.monotonic() - self.started, 3),
                )


def start_prefetch(settings: Settings) -> Prefetch | None:
    files = python_libraries(settings.python_libraries)
    files += list(settings.prefetch)
    if not files:
        return None
    try:
        prefetch = Prefetch(files, settings)
        prefetch.start()
    except Exception as error:  # never fatal: the worker starts anyway
        log("prefetch_failed", error=str(error))
        return None
    return prefetch
