"""Hub -> sha256 -> registry: one model file becomes one layer, with no local copy.

The file streams from its immutable commit URL; its sha256 is checked against the lock
while the layer (tar headers + bytes) is hashed and PATCHed in parallel. The blob is
committed only when the file's sha256 matches; on a mismatch the upload session is
deleted, so the registry never holds a layer with the wrong bytes.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from imagebuilder import network
from imagebuilder.errors import AnswerCutOff, CheckFailed, HubError
from imagebuilder.hub.answers import check_content_range
from imagebuilder.hub.client import Hub
from imagebuilder.image.layers import ModelSource
from imagebuilder.image.publish.upload import (
    DEFAULT_CHUNK_BYTES,
    ChunkedUpload,
    HashOnly,
    LayerSink,
)
from imagebuilder.oci.client import RegistryClient, UploadSessionLost
from imagebuilder.oci.tarlayer import stream_layer

SESSION_RESTARTS = 3


class Cancelled(Exception):
    """Another layer failed: stop this one quietly (its error is the one reported)."""


@dataclass
class Transfer:
    """What moving one layer cost: bytes read from the Hub, bytes sent to the registry."""

    digest: str = ""
    hub_bytes: int = 0
    sent_bytes: int = 0
    restarts: int = 0


def hub_chunks(hub: Hub, source: ModelSource, transfer: Transfer) -> Iterator[bytes]:
    """The file's bytes; a stream cut mid-way resumes at the same offset (Range)."""
    offset = 0
    attempts: network.Attempts | None = None
    failed_at = -1
    while offset < source.size or source.size == 0:
        try:
            with hub.stream(
                source.pin.repo, source.pin.path, source.pin.commit, start=offset
            ) as response:
                if offset and response.status_code != 206:
                    raise HubError(
                        "the Hub ignored a Range request while resuming",
                        location=source.pin.where,
                        hint="a proxy between you and the Hub may strip Range headers",
                    )
                if offset:  # resumed bytes from another offset would only fail at the end
                    check_content_range(
                        response.headers.get("Content-Range"), offset, source.pin.where
                    )
                else:
                    _check_declared_size(response.headers, source)
                for chunk in response.iter_bytes():  # as received: no re-chunking copy
                    if offset + len(chunk) > source.size:
                        raise CheckFailed(
                            f"the Hub served more than the {source.size} bytes the lock pins",
                            location=source.pin.where,
                            hint="the file changed behind an immutable URL; re-run "
                            "`imagebuilder lock` and review the change",
                        )
                    offset += len(chunk)
                    transfer.hub_bytes += len(chunk)
                    yield chunk
            if source.size == 0:
                return
            if offset < source.size:
                raise AnswerCutOff(
                    f"the Hub stream ended at byte {offset} of {source.size}",
                    location=source.pin.where,
                )
        except HubError as error:
            if offset and "HTTP 416" in error.message:  # nothing left from ``offset`` on
                raise _size_mismatch(source, offset) from None
            raise
        except AnswerCutOff as cut:
            if attempts is None or offset > failed_at:  # progress since: a fresh budget
                url = hub.file_url(source.pin.repo, source.pin.path, source.pin.commit)
                attempts = network.Attempts("download", url, source.pin.where)
            failed_at = offset
            attempts.failed(cut)


def _size_mismatch(source: ModelSource, served: int) -> CheckFailed:
    return CheckFailed(
        f"size mismatch: the Hub serves {served:,} bytes, the lock pins {source.size:,}",
        location=source.pin.where,
        hint="nothing was tagged; the lock does not describe this file: re-run "
        "`imagebuilder lock` and review the change",
    )


def _check_declared_size(headers: Mapping[str, str], source: ModelSource) -> None:
    """A whole-file answer says its size up front: a lock that disagrees fails here (a
    size one byte too large would otherwise end in a Range request past the end)."""
    declared = headers.get("Content-Length") or ""
    encoded = headers.get("Content-Encoding", "identity").lower() != "identity"
    if declared.isascii() and declared.isdigit() and not encoded and int(declared) != source.size:
        raise _size_mismatch(source, int(declared))


def _chunks_of(pieces: Iterator[bytes], size: int) -> Iterator[bytes]:
    """Regroup a stream into chunks of at least ``size`` bytes (the last may be shorter).

    One copy per byte (the join): chunk sizes vary by up to one piece, which PATCH allows.
    """
    held: list[bytes] = []
    length = 0
    for piece in pieces:
        held.append(piece)
        length += len(piece)
        if length >= size:
            yield b"".join(held)
            held.clear()
            length = 0
    if held:
        yield b"".join(held)


def _verified(
    pieces: Iterator[bytes], source: ModelSource, cancel: threading.Event
) -> tuple[Iterator[bytes], Callable[[], None]]:
    """The same pieces, sha256-hashed on the way; the returned check raises on mismatch."""
    file_hash = hashlib.sha256()

    def hashing() -> Iterator[bytes]:
        for piece in pieces:
            if cancel.is_set():
                raise Cancelled
            file_hash.update(piece)
            yield piece

    def check() -> None:
        found = file_hash.hexdigest()
        if found != source.pin.sha256:
            raise CheckFailed(
                f"sha256 mismatch: the Hub served {found}, the lock pins {source.pin.sha256}",
                location=source.pin.where,
                hint="nothing was tagged; if the change is intended run `imagebuilder lock`, "
                "otherwise report the file to its owner",
            )

    return hashing(), check


class _Splitter:
    """Hands out consecutive byte counts of one stream: the parts of a split file."""

    def __init__(self, pieces: Iterator[bytes]):
        self._pieces = pieces
        self._held = b""

    def take(self, count: int) -> Iterator[bytes]:
        while count > 0:
            piece = self._held or next(self._pieces, b"")
            if not piece:
                return  # the tar writer reports the short part
            self._held = piece[count:]
            yield piece[:count]
            count -= min(count, len(piece))


def _stream_parts(
    hub: Hub,
    source: ModelSource,
    parts: list[ModelSource],
    *,
    new_sink: Callable[[], LayerSink],
    sinks: list[LayerSink],
    transfer: Transfer,
    cancel: threading.Event,
    chunk_bytes: int,
) -> list[str]:
    """One Hub stream, one layer per part, each committed as soon as it is complete.

    A part is opened only when its turn comes (registries expire idle upload sessions).
    For an unsplit file the only blob is committed after the sha256 check; parts of a
    split file that fails the check stay as unreferenced blobs, and nothing is tagged.
    """
    content, check = _verified(hub_chunks(hub, source, transfer), source, cancel)
    splitter = _Splitter(content)
    digests = []
    for part in parts:
        sink = new_sink()
        sinks.append(sink)
        layer = stream_layer(part.layout(), [splitter.take(part.size)])
        for chunk in _chunks_of(layer, chunk_bytes):
            sink.add(chunk)
        digests.append(sink.drain())
        if part is parts[-1]:
            check()
        sink.commit(digests[-1])
    return digests


def move_model_layers(
    hub: Hub,
    client: RegistryClient | None,
    repository: str,
    source: ModelSource,
    parts: list[ModelSource],
    *,
    cancel: threading.Event,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> tuple[list[str], Transfer]:
    """Stream the file into one new blob per part (``[source]`` when not split).

    With ``client=None`` nothing is uploaded: the digests are only computed (--check).
    A lost upload session restarts the whole file (the Hub stream cannot rewind).
    """
    transfer = Transfer()

    def new_sink() -> LayerSink:
        return ChunkedUpload(client, repository, hashlib.sha256()) if client else HashOnly()

    while True:
        sinks: list[LayerSink] = []
        try:
            digests = _stream_parts(
                hub, source, parts, new_sink=new_sink, sinks=sinks, transfer=transfer,
                cancel=cancel,
                chunk_bytes=chunk_bytes,
            )  # fmt: skip
        except UploadSessionLost:
            for sink in sinks:
                sink.abort()
            transfer.restarts += 1
            if transfer.restarts > SESSION_RESTARTS:
                raise
            continue
        except BaseException:
            for sink in sinks:
                sink.abort()
            raise
        finally:
            transfer.sent_bytes += sum(sink.stats.bytes_sent for sink in sinks)
        transfer.digest = digests[0]
        return digests, transfer
