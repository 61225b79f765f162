"""Raw registry answers for `build` and `build-variants`: manifest digests, blob checks.

A thin facade over ``imagebuilder.oci`` (the one registry protocol client: auth with
Basic or Bearer tokens, retries with backoff, verified manifests and blobs), keeping the
small API the image commands were written against. Loopback registries are spoken to
over plain HTTP, as dockerd does; everything else over HTTPS.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagebuilder.oci.auth import Credentials
from imagebuilder.oci.client import MANIFEST_TYPES
from imagebuilder.oci.client import RegistryClient as OciRegistryClient
from imagebuilder.oci.reference import DOCKER_HUB, DOCKER_HUB_API
from imagebuilder.oci.transport import RegistryTransport, default_scheme

__all__ = ["MANIFEST_TYPES", "ImageName", "RegistryClient", "registry_base_url"]


@dataclass(frozen=True)
class ImageName:
    registry: str  # host[:port]
    repository: str  # path inside the registry

    @classmethod
    def parse(cls, name: str) -> ImageName:
        """Docker's rule: the first part is a registry if it has '.', ':' or is localhost."""
        first, _, rest = name.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            return cls(first, rest)
        return cls(DOCKER_HUB, name if "/" in name else f"library/{name}")


def _api_host(registry: str) -> str:
    return DOCKER_HUB_API if registry == DOCKER_HUB else registry


def registry_base_url(registry: str) -> str:
    host = _api_host(registry)
    return f"{default_scheme(host)}://{host}"


class RegistryClient:
    """One registry, one set of credentials; tokens are cached per scope."""

    def __init__(
        self,
        registry: str,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 30.0,
    ):
        self.registry = registry
        credentials = Credentials(username, password) if username and password else None
        transport = RegistryTransport(_api_host(registry), credentials, timeout_s=timeout_s)
        self._client = OciRegistryClient(transport)
        self._authenticated = credentials is not None

    def __repr__(self) -> str:
        return f"RegistryClient({self.registry!r}, auth={'set' if self._authenticated else 'none'})"

    def close(self) -> None:
        self._client.close()

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        """The digest the registry serves for repository:reference, or None if absent."""
        return self._client.manifest_digest(repository, reference)

    def manifest(self, repository: str, reference: str) -> bytes | None:
        found = self._client.find_manifest(repository, reference)
        return None if found is None else found.body
