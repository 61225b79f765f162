"""Blob uploads that survive a flaky link: fixed-size chunks, resumable, abortable.

``ChunkedUpload`` takes chunks in order and PATCHes them from a background thread, so
reading and hashing the next chunk overlaps with sending this one. Memory is bounded:
at most ``QUEUE_DEPTH`` chunks wait, and the chunk being sent is kept until the
registry confirms it, so a broken PATCH resends from memory at the offset the registry
reports. A session the registry forgot raises ``UploadSessionLost``: the caller
restarts the whole blob.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from dataclasses import dataclass
from typing import Protocol

from imagebuilder import network
from imagebuilder.errors import CommandAborted, NetworkError, TimedOut
from imagebuilder.oci.client import RegistryClient, UploadSessionLost

# Peak memory is about (QUEUE_DEPTH + 3) chunks per layer in flight: 8 MiB keeps three
# parallel layers well under 300 MB while each PATCH is still large enough to be cheap.
DEFAULT_CHUNK_BYTES = 8 << 20
QUEUE_DEPTH = 1
_DONE = object()


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


@dataclass
class UploadStats:
    bytes_sent: int = 0  # every byte PATCHed, resends included
    resends: int = 0


class ChunkedUpload:
    """One upload session: ``add`` chunks, ``drain()`` for the digest, then ``commit``.

    The worker thread also feeds ``hasher`` (the blob digest), so that sha256 runs in
    parallel with whatever the producer hashes (the model file's own sha256).
    """

    def __init__(
        self,
        client: RegistryClient,
        repository: str,
        hasher: Hasher,
    ):
        self._client = client
        self._repository = repository
        self._hasher = hasher
        self._location = client.start_upload(repository)
        self._offset = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_DEPTH)
        self._failure: BaseException | None = None
        self.stats = UploadStats()
        self._worker = threading.Thread(target=self._run, name="blob-upload", daemon=True)
        self._worker.start()

    def add(self, chunk: bytes) -> None:
        self._put(chunk)

    def _put(self, item: object) -> None:
        while True:
            self._raise_failure()
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def drain(self) -> str:
        """Wait until every chunk is sent; the blob's digest."""
        self._put(_DONE)
        self._worker.join()
        self._raise_failure()
        return "sha256:" + self._hasher.hexdigest()

    def commit(self, digest: str) -> None:
        self._client.finish_upload(self._repository, self._location, digest)

    def abort(self) -> None:
        """Stop sending and drop the session: nothing of this blob becomes visible."""
        if self._worker.is_alive():
            self._failure = self._failure or _Aborted()
            self._empty_queue()
            self._queue.put(_DONE)
            self._worker.join(timeout=30)
        self._client.cancel_upload(self._repository, self._location)

    def _raise_failure(self) -> None:
        if self._failure is not None and not isinstance(self._failure, _Aborted):
            raise self._failure

    def _empty_queue(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _DONE or self._failure is not None:
                return
            assert isinstance(item, bytes)
            try:
                self._hasher.update(item)
                self._send(item)
            except BaseException as error:  # handed to the producer thread, not lost
                self._failure = error
                return

    def _send(self, chunk: bytes) -> None:
        start = self._offset
        sent_from = 0
        attempts = network.Attempts(
            f"upload of bytes {start}-{start + len(chunk) - 1}", self._location, self._repository
        )
        timeouts = 0
        while True:
            piece = chunk[sent_from:]
            try:
                self._location = self._client.upload_chunk(
                    self._repository, self._location, piece, start + sent_from
                )
                self.stats.bytes_sent += len(piece)
                self._offset = start + len(chunk)
                return
            except NetworkError as error:
                # A PATCH that did not answer is resumed like one cut off, once (the policy's
                # timeout retries): a registry that never answers ends the command.
                timeouts += isinstance(error, TimedOut)
                if timeouts > attempts.policy.timeout_retries:
                    raise network.abort(self._location, error) from None
                attempts.failed(error)  # waits, or raises this (the upload's) error
                try:
                    held = self._client.upload_offset(self._repository, self._location)
                except (NetworkError, CommandAborted):
                    raise error from None  # name the failed upload, not the status call
                if not start <= held <= start + len(chunk):
                    raise UploadSessionLost(
                        f"the registry holds {held} bytes, expected {start}..{start + len(chunk)}",
                        location=self._repository,
                    ) from None
                self.stats.resends += 1
                if held == start + len(chunk):
                    self._offset = held
                    return
                sent_from = held - start


class _Aborted(Exception):
    pass


class LayerSink(Protocol):
    """Where a layer's chunks go: a registry upload, or only a digest (--check)."""

    stats: UploadStats

    def add(self, chunk: bytes) -> None: ...
    def drain(self) -> str: ...
    def commit(self, digest: str) -> None: ...
    def abort(self) -> None: ...


class HashOnly:
    """A sink that only computes the digest: ``publish --check`` moves nothing."""

    def __init__(self) -> None:
        self._hasher = hashlib.sha256()
        self.stats = UploadStats()

    def add(self, chunk: bytes) -> None:
        self._hasher.update(chunk)

    def drain(self) -> str:
        return "sha256:" + self._hasher.hexdigest()

    def commit(self, digest: str) -> None:
        pass

    def abort(self) -> None:
        pass
