"""The OCI distribution API, the parts publish needs: blobs, uploads, manifests.

Each method is one protocol step (HEAD a blob, mount it, PATCH a chunk, PUT a manifest),
so callers decide the policy: what to skip, what to resume, what to push last.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from imagebuilder import network
from imagebuilder.errors import (
    AnswerCutOff,
    CheckFailed,
    CommandAborted,
    NetworkError,
    RegistryError,
)
from imagebuilder.oci.auth import RegistryRole, credentials_for
from imagebuilder.oci.digest import sha256_digest
from imagebuilder.oci.transport import RegistryTransport, raise_for_registry, read_capped

MAX_MANIFEST_BYTES = 4_000_000  # the distribution spec's own limit
MAX_IMAGE_CONFIG_BYTES = 8_000_000
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


class UploadSessionLost(RegistryError):
    """The registry forgot an upload session (restarted, expired, or the link broke)."""


@dataclass(frozen=True)
class Manifest:
    body: bytes
    media_type: str
    digest: str


def _scope(repository: str, actions: str = "pull,push") -> str:
    return f"repository:{repository}:{actions}"


class RegistryClient:
    """One registry host; repositories are per call. Pass one in; tests use a real one."""

    def __init__(self, transport: RegistryTransport):
        self.transport = transport
        self.host = transport.host

    def close(self) -> None:
        self.transport.close()

    # --- blobs -------------------------------------------------------------------------

    def blob_size(self, repository: str, digest: str, *, pull_only: bool = False) -> int | None:
        """The blob's size if the repository has it (one HEAD), else None."""
        scope = _scope(repository, "pull" if pull_only else "pull,push")
        response = self.transport.send("HEAD", f"/v2/{repository}/blobs/{digest}", scope=scope)
        if response.status_code == 404:
            return None
        raise_for_registry(response, f"HEAD blob {digest[:19]}", self.host)
        length = response.headers.get("Content-Length", "")
        return int(length) if length.isascii() and length.isdigit() else 0

    def read_blob(self, repository: str, digest: str, limit: int = MAX_IMAGE_CONFIG_BYTES) -> bytes:
        """A small blob (an image config), verified against its digest; read again when
        the answer is cut off."""
        path = f"/v2/{repository}/blobs/{digest}"
        attempts = network.Attempts(f"GET {path}", self.transport.url(path), self.host)
        while True:
            try:
                return self._read_blob_once(repository, digest, limit)
            except AnswerCutOff as cut:
                attempts.failed(cut)

    def _read_blob_once(self, repository: str, digest: str, limit: int) -> bytes:
        with self.stream_blob(repository, digest) as chunks:
            data = bytearray()
            for chunk in chunks:
                data += chunk
                if len(data) > limit:
                    raise RegistryError(f"blob {digest} is over {limit} bytes", location=repository)
        if sha256_digest(bytes(data)) != digest:
            raise CheckFailed(f"blob {digest} does not match its digest", location=repository)
        return bytes(data)

    @contextmanager
    def stream_blob(self, repository: str, digest: str) -> Iterator[Iterator[bytes]]:
        path = f"/v2/{repository}/blobs/{digest}"
        with self.transport.stream("GET", path, scope=_scope(repository, "pull")) as response:
            if response.status_code >= 400:
                response.read()
                raise_for_registry(response, f"GET blob {digest[:19]}", self.host)
            yield response.iter_bytes(chunk_size=1 << 20)

    def mount_blob(self, repository: str, digest: str, source_repository: str) -> bool:
        """Cross-repository mount: True when the registry linked the blob (nothing moved)."""
        scope = f"{_scope(repository)} {_scope(source_repository, 'pull')}"
        response = self.transport.send(
            "POST",
            f"/v2/{repository}/blobs/uploads/",
            scope=scope,
            params={"mount": digest, "from": source_repository},
        )
        if response.status_code == 201:
            return True
        raise_for_registry(response, f"mount blob {digest[:19]}", self.host)
        location = response.headers.get("Location")
        if response.status_code == 202 and location:
            self.cancel_upload(repository, location)  # the registry opened a session instead
        return False

    # --- uploads -----------------------------------------------------------------------

    def start_upload(self, repository: str) -> str:
        response = self.transport.send(
            "POST", f"/v2/{repository}/blobs/uploads/", scope=_scope(repository)
        )
        raise_for_registry(response, "start blob upload", self.host)
        return self._location(response)

    def upload_chunk(self, repository: str, location: str, data: bytes, offset: int) -> str:
        """PATCH one chunk at ``offset``; not retried here (see ``upload_offset``)."""
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Range": f"{offset}-{offset + len(data) - 1}",
        }
        response = self.transport.send(
            "PATCH", location, scope=_scope(repository), headers=headers, content=data,
            retry=False,
        )  # fmt: skip
        if response.status_code in (404, 416):
            raise UploadSessionLost(
                f"upload session refused the chunk at offset {offset}", location=repository
            )
        raise_for_registry(response, "upload chunk", self.host)
        return self._location(response)

    def upload_offset(self, repository: str, location: str) -> int:
        """How many bytes the session holds; UploadSessionLost if the registry forgot it."""
        response = self.transport.send("GET", location, scope=_scope(repository))
        if response.status_code == 404:
            raise UploadSessionLost("the upload session is gone", location=repository)
        raise_for_registry(response, "upload status", self.host)
        # `Range: 0-N` means N+1 bytes held, but registries answer `0-0` for an empty
        # session too: read it as 0. Resending a byte the registry has is refused (416,
        # then the blob restarts); skipping one it lacks would corrupt the blob.
        _, _, end = response.headers.get("Range", "0--1").partition("-")
        held = int(end) + 1 if end.isascii() and end.isdigit() else 0
        return 0 if held == 1 else held

    def finish_upload(
        self, repository: str, location: str, digest: str, content: bytes = b""
    ) -> None:
        """PUT ?digest=: the registry verifies the digest and commits the blob."""
        headers = {"Content-Type": "application/octet-stream"} if content else {}
        response = self.transport.send(
            "PUT", location, scope=_scope(repository), params={"digest": digest},
            headers=headers, content=content,
        )  # fmt: skip
        if response.status_code in (404, 416):
            raise UploadSessionLost("the upload session is gone", location=repository)
        raise_for_registry(response, f"finish upload of {digest[:19]}", self.host)

    def cancel_upload(self, repository: str, location: str) -> None:
        """Best effort: an abandoned session is also garbage-collected by the registry."""
        # Cleanup must never mask the failure that led here.
        with contextlib.suppress(RegistryError, NetworkError, CommandAborted, OSError):
            self.transport.send("DELETE", location, scope=_scope(repository), retry=False)

    def _location(self, response: object) -> str:
        location = getattr(response, "headers", {}).get("Location")
        if not location:
            raise RegistryError("the registry answered an upload without a Location header")
        return str(self.transport.url(location))

    # --- manifests ---------------------------------------------------------------------

    def get_manifest(self, repository: str, reference: str) -> Manifest:
        found = self.find_manifest(repository, reference)
        if found is None:
            raise RegistryError(
                f"no manifest {repository}:{reference} on {self.host}",
                location=f"{self.host}/{repository}",
                hint="check the image name, tag or digest",
            )
        return found

    def find_manifest(self, repository: str, reference: str) -> Manifest | None:
        """The manifest, verified when asked for by digest; None when the registry has none."""
        path = f"/v2/{repository}/manifests/{reference}"
        attempts = network.Attempts(f"GET {path}", self.transport.url(path), self.host)
        while True:
            try:
                return self._find_manifest_once(repository, reference)
            except AnswerCutOff as cut:
                attempts.failed(cut)

    def _find_manifest_once(self, repository: str, reference: str) -> Manifest | None:
        with self.transport.stream(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            scope=_scope(repository, "pull"),
            headers={"Accept": ", ".join(MANIFEST_TYPES)},
        ) as response:
            if response.status_code >= 400:
                response.read()
                if response.status_code == 404:
                    return None
                raise_for_registry(response, f"GET manifest {repository}:{reference}", self.host)
            # Capped while reading: a hostile registry must not be able to fill memory.
            body = read_capped(response, MAX_MANIFEST_BYTES)
        if body is None:
            raise RegistryError(f"manifest of {repository}@{reference} is too large")
        digest = sha256_digest(body)
        if reference.startswith("sha256:") and digest != reference:
            raise CheckFailed(
                f"manifest {reference} does not match its digest", location=repository
            )
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return Manifest(body, media_type, digest)

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        response = self.transport.send(
            "HEAD",
            f"/v2/{repository}/manifests/{reference}",
            scope=_scope(repository, "pull"),
            headers={"Accept": ", ".join(MANIFEST_TYPES)},
        )
        if response.status_code == 404:
            return None
        raise_for_registry(response, f"HEAD manifest {repository}:{reference}", self.host)
        return response.headers.get("Docker-Content-Digest")

    def list_tags(self, repository: str, *, max_pages: int = 20) -> list[str]:
        """Every tag (GET /v2/<name>/tags/list, following `Link: rel="next"`), bounded."""
        tags: list[str] = []
        path: str | None = f"/v2/{repository}/tags/list?n=1000"
        for _ in range(max_pages):
            if path is None:
                return tags
            with self.transport.stream("GET", path, scope=_scope(repository, "pull")) as response:
                if response.status_code >= 400:
                    response.read()
                    raise_for_registry(response, f"GET tags of {repository}", self.host)
                body = read_capped(response, MAX_MANIFEST_BYTES)  # a hostile list ends here
            if body is None:
                raise RegistryError(f"the tag list of {repository} is too large")
            try:
                listed = json.loads(body).get("tags") or []
            except (ValueError, AttributeError, RecursionError):
                raise RegistryError(f"the tag list of {repository} is not JSON") from None
            tags += [t for t in listed if isinstance(t, str) and 0 < len(t) <= 128]
            path = _next_link(response.headers.get("Link", ""), repository)
        return tags

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        response = self.transport.send(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            scope=_scope(repository),
            headers={"Content-Type": media_type},
            content=body,
        )
        raise_for_registry(response, f"PUT manifest {repository}:{reference}", self.host)
        return sha256_digest(body)


def _next_link(header: str, repository: str) -> str | None:
    """The path of a `Link: </v2/...>; rel="next"` page, only within this repository."""
    target, _, params = header.partition(";")
    path = target.strip().removeprefix("<").removesuffix(">")
    if 'rel="next"' not in params or not path.startswith(f"/v2/{repository}/tags/list"):
        return None
    return path


def open_registry(host: str, role: RegistryRole) -> RegistryClient:
    """A client for the registry at ``host`` (its API host) opened for ``role``: the target
    to push to, the base to read, a source to read or copy from. It carries only the
    credentials meant for that host in that role (``credentials_for``)."""
    return RegistryClient(RegistryTransport(host, credentials_for(host, role)))
