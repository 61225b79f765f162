"""A small OCI distribution client: manifest digests and blob checks, with auth.

Reusable by any command that needs raw registry answers (build checks the pushed
digest; publish can check which blobs exist). Auth follows the registry's challenge:
Basic credentials, or the Bearer token flow (GET the realm with service and scope,
then retry with the token). Loopback registries are spoken to over plain HTTP, as
dockerd does; everything else over HTTPS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx2

from imagebuilder.errors import NetworkError, RegistryAuthError, RegistryError

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_LOOPBACK = ("127.", "localhost", "[::1]")


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
        return cls("docker.io", name if "/" in name else f"library/{name}")


def registry_base_url(registry: str) -> str:
    if registry == "docker.io":
        return "https://registry-1.docker.io"
    scheme = "http" if registry.startswith(_LOOPBACK) else "https"
    return f"{scheme}://{registry}"


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
        self._basic = (username, password) if username and password else None
        self._tokens: dict[str, str] = {}
        self._http = httpx2.Client(
            base_url=registry_base_url(registry), timeout=timeout_s, follow_redirects=True
        )

    def __repr__(self) -> str:
        return f"RegistryClient({self.registry!r}, auth={'set' if self._basic else 'none'})"

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, scope: str, accept: str = "") -> httpx2.Response:
        headers = {"Accept": accept} if accept else {}
        try:
            response = self._http.request(method, path, headers=self._auth(scope, headers))
            if response.status_code == 401:
                self._answer_challenge(response, scope)
                response = self._http.request(method, path, headers=self._auth(scope, headers))
        except httpx2.HTTPError as error:
            raise NetworkError(
                f"could not reach the registry: {type(error).__name__}", location=self.registry
            ) from None
        if response.status_code in (401, 403):
            raise RegistryAuthError(
                f"the registry refused the credentials (HTTP {response.status_code})",
                location=f"{self.registry}/{path}",
                hint="run `docker login` for this registry or set the registry credentials",
            )
        return response

    def _auth(self, scope: str, headers: dict[str, str]) -> dict[str, str]:
        if scope in self._tokens:
            return {**headers, "Authorization": f"Bearer {self._tokens[scope]}"}
        return headers  # Basic auth, once challenged, rides on the client itself

    def _answer_challenge(self, response: httpx2.Response, scope: str) -> None:
        challenge = response.headers.get("WWW-Authenticate", "")
        kind = challenge.split(" ", 1)[0].lower()
        if kind == "basic" and self._basic:
            self._http.auth = httpx2.BasicAuth(*self._basic)
            return
        if kind != "bearer":
            return
        params = dict(_CHALLENGE_PARAM.findall(challenge))
        realm = params.get("realm")
        if not realm:
            return
        query = {"service": params.get("service", ""), "scope": params.get("scope", scope)}
        if self._basic:
            answer = self._http.get(realm, params=query, auth=httpx2.BasicAuth(*self._basic))
        else:
            answer = self._http.get(realm, params=query)
        if answer.status_code != 200:
            return
        body = answer.json()
        token = body.get("token") or body.get("access_token")
        if isinstance(token, str):
            self._tokens[scope] = token

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        """The digest the registry serves for repository:reference, or None if absent."""
        scope = f"repository:{repository}:pull"
        response = self._request(
            "HEAD", f"/v2/{repository}/manifests/{reference}", scope, ", ".join(MANIFEST_TYPES)
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise RegistryError(
                f"manifest lookup answered HTTP {response.status_code}",
                location=f"{self.registry}/{repository}:{reference}",
            )
        digest = response.headers.get("Docker-Content-Digest")
        return digest if isinstance(digest, str) else None

    def manifest(self, repository: str, reference: str) -> bytes | None:
        scope = f"repository:{repository}:pull"
        response = self._request(
            "GET", f"/v2/{repository}/manifests/{reference}", scope, ", ".join(MANIFEST_TYPES)
        )
        return None if response.status_code == 404 else response.content

    def has_blob(self, repository: str, digest: str) -> bool:
        scope = f"repository:{repository}:pull"
        response = self._request("HEAD", f"/v2/{repository}/blobs/{digest}", scope)
        return response.status_code == 200

    def blob(self, repository: str, digest: str, max_bytes: int = 4_000_000) -> bytes:
        """A small blob (an image config); refuses anything bigger than ``max_bytes``."""
        scope = f"repository:{repository}:pull"
        response = self._request("GET", f"/v2/{repository}/blobs/{digest}", scope)
        if response.status_code != 200 or len(response.content) > max_bytes:
            raise RegistryError(
                f"blob {digest} unavailable or too large (HTTP {response.status_code})",
                location=f"{self.registry}/{repository}",
            )
        return response.content
