"""Getting a known blob into the target repository at the lowest cost.

In order: it is already there (one HEAD), it can be mounted from the base image's
repository on the same registry (no bytes move), or it is streamed from the base
image's registry in chunks (verified against its digest before it is committed).
"""

from __future__ import annotations

import hashlib

from imagebuilder.errors import CheckFailed
from imagebuilder.image.publish.plan import Action
from imagebuilder.image.publish.upload import DEFAULT_CHUNK_BYTES, ChunkedUpload
from imagebuilder.oci.client import RegistryClient, UploadSessionLost
from imagebuilder.oci.image import Descriptor

SESSION_RESTARTS = 3


def ensure_small_blob(client: RegistryClient, repository: str, data: bytes, digest: str) -> Action:
    """A config or the files layer: one HEAD, then one monolithic upload if missing."""
    if client.blob_size(repository, digest) == len(data):
        return Action.REUSED
    location = client.start_upload(repository)
    client.finish_upload(repository, location, digest, content=data)
    return Action.UPLOADED


def ensure_base_layer(
    target: RegistryClient,
    repository: str,
    source: RegistryClient,
    source_repository: str,
    layer: Descriptor,
) -> tuple[Action, int]:
    """(what was done, bytes sent) for one base layer."""
    if target.blob_size(repository, layer.digest) is not None:
        return Action.REUSED, 0
    if target.host == source.host and target.mount_blob(
        repository, layer.digest, source_repository
    ):
        return Action.MOUNTED, 0
    return Action.COPIED, copy_blob(target, repository, source, source_repository, layer)


def copy_blob(
    target: RegistryClient,
    repository: str,
    source: RegistryClient,
    source_repository: str,
    layer: Descriptor,
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> int:
    restarts = 0
    while True:
        upload = ChunkedUpload(target, repository, hashlib.sha256())
        try:
            buffer = bytearray()
            with source.stream_blob(source_repository, layer.digest) as chunks:
                for chunk in chunks:
                    buffer += chunk
                    if len(buffer) >= chunk_bytes:
                        upload.add(bytes(buffer))
                        buffer.clear()
            if buffer:
                upload.add(bytes(buffer))
            digest = upload.drain()
            if digest != layer.digest:
                raise CheckFailed(
                    f"base layer {layer.digest} arrived with digest {digest}",
                    location=source_repository,
                    hint="the base registry served corrupt data; run publish again",
                )
            upload.commit(digest)
            return upload.stats.bytes_sent
        except UploadSessionLost:
            upload.abort()
            restarts += 1
            if restarts > SESSION_RESTARTS:
                raise
        except BaseException:
            upload.abort()
            raise
