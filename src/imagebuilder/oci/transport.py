"""HTTP to one registry: the auth dance (Basic, Bearer token per scope) and retries.

Transient failures (connection errors, 429, 5xx) are retried with exponential backoff
for requests whose body can be sent again; everything else becomes an imagebuilder
error naming the registry and what to do. Tokens and passwords never reach a message.
"""

from __future__ import annotations

import ipaddress
import json
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx2

from imagebuilder.errors import NetworkError, RegistryAuthError, RegistryError
from imagebuilder.oci.auth import Credentials, may_send_credentials, parse_challenge

TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
MAX_TOKEN_BYTES = 1_000_000


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0

    def delay(self, attempt: int) -> float:
        # Full jitter: parallel uploads that failed together must not retry together.
        ceiling = min(self.max_delay_s, self.base_delay_s * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 (jitter, not crypto)


def default_scheme(host: str) -> str:
    """Loopback registries speak plain http (as dockerd assumes); everything else https."""
    name = host[1:].split("]", 1)[0] if host.startswith("[") else host.rsplit(":", 1)[0]
    if name == "localhost":
        return "http"
    try:
        return "http" if ipaddress.ip_address(name).is_loopback else "https"
    except ValueError:  # a host name: never trusted with plain http
        return "https"


class RegistryTransport:
    """Authenticated, retrying requests to one registry host."""

    def __init__(
        self,
        host: str,
        credentials: Credentials | None,
        *,
        scheme: str | None = None,
        retry: RetryPolicy | None = None,
        timeout_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.host = host
        self.scheme = scheme or default_scheme(host)
        self.base_url = f"{self.scheme}://{host}"
        self.retry = retry or RetryPolicy()
        self._credentials = credentials
        self.sleep = sleep
        self._tokens: dict[str, str] = {}  # scope -> Authorization header value
        self._client = httpx2.Client(
            timeout=httpx2.Timeout(timeout_s, connect=min(timeout_s, 15.0)),
            follow_redirects=True,
        )

    def __repr__(self) -> str:
        return f"RegistryTransport({self.base_url!r})"

    def close(self) -> None:
        self._client.close()

    def url(self, path_or_url: str) -> str:
        """An absolute URL on this registry; a Location pointing elsewhere is refused."""
        if path_or_url.startswith("/"):
            return self.base_url + path_or_url
        parts = urlsplit(path_or_url)
        # The scheme too: an https registry's credentials must never go out over http.
        if parts.netloc != self.host or parts.scheme != self.scheme:
            raise RegistryError(
                "the registry sent an upload location on another host or scheme",
                location=self.host,
                hint="a proxy in front of the registry may rewrite Location headers",
            )
        return path_or_url

    def send(
        self,
        method: str,
        path_or_url: str,
        *,
        scope: str,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
        retry: bool = True,
    ) -> httpx2.Response:
        """One request, answered (any status) or raised as NetworkError after retries."""
        with self.stream(
            method, path_or_url, scope=scope, headers=headers, content=content,
            params=params, retry=retry,
        ) as response:  # fmt: skip
            response.read()
            return response

    @contextmanager
    def stream(
        self,
        method: str,
        path_or_url: str,
        *,
        scope: str,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
        retry: bool = True,
    ) -> Iterator[httpx2.Response]:
        url = self.url(path_or_url)
        if params:
            # Upload locations carry their own query (_state=...): merge, never replace.
            url = str(httpx2.URL(url).copy_merge_params(params))
        attempts = self.retry.attempts if retry else 1
        authenticated_again = False
        attempt = 0
        while True:
            request_headers = dict(headers or {})
            if scope in self._tokens:
                request_headers["Authorization"] = self._tokens[scope]
            try:
                request = self._client.build_request(
                    method, url, headers=request_headers, content=content
                )
                response = self._client.send(request, stream=True)
            except httpx2.TransportError as error:
                attempt += 1
                if attempt >= attempts:
                    raise NetworkError(
                        f"registry {self.host} unreachable: {type(error).__name__}",
                        location=f"{method} {urlsplit(url).path}",
                        hint="check the network; the request was retried with backoff",
                    ) from None
                self.sleep(self.retry.delay(attempt))
                continue
            if response.status_code == 401 and not authenticated_again:
                challenge = response.headers.get("WWW-Authenticate")
                response.close()
                self._authenticate(challenge, scope)
                authenticated_again = True
                continue
            if response.status_code in TRANSIENT_STATUS and attempt + 1 < attempts:
                response.close()
                attempt += 1
                self.sleep(self._retry_after(response) or self.retry.delay(attempt))
                continue
            try:
                yield response
            finally:
                response.close()
            return

    @staticmethod
    def _retry_after(response: httpx2.Response) -> float | None:
        value = response.headers.get("Retry-After", "")
        # isascii: "²".isdigit() is True, and float("²") raises.
        return min(float(value), 60.0) if value.isascii() and value.isdigit() else None

    def _authenticate(self, header: str | None, scope: str) -> None:
        challenge = parse_challenge(header)
        if challenge is None:
            raise RegistryError(
                f"registry {self.host} asked for credentials in a way imagebuilder "
                "does not support",
                hint="registries must offer Basic or Bearer (token) auth",
            )
        if challenge.scheme == "basic":
            if self._credentials is None:
                raise _no_credentials(self.host)
            self._tokens[scope] = self._credentials.basic_header()
            return
        self._tokens[scope] = f"Bearer {self._fetch_token(challenge.params, scope)}"

    def _fetch_token(self, params: dict[str, str], scope: str) -> str:
        realm = params.get("realm", "")
        if urlsplit(realm).scheme not in ("http", "https"):
            raise RegistryError(f"registry {self.host} sent a token realm that is not a URL")
        query: list[tuple[str, str | int | float | bool | None]]
        query = [("service", params["service"])] if "service" in params else []
        # A mount needs two scopes: registries expect them as repeated `scope` params.
        query += [("scope", part) for part in scope.split()]
        headers = {}
        if self._credentials is not None and may_send_credentials(realm, self.host, self.scheme):
            headers["Authorization"] = self._credentials.basic_header()
        try:
            # Streamed and capped: the realm is any URL the registry names, and its
            # answer must not be able to fill memory.
            with self._client.stream("GET", realm, params=query, headers=headers) as answer:
                body = read_capped(answer, MAX_TOKEN_BYTES)
        except httpx2.TransportError as error:
            raise NetworkError(
                f"token service of {self.host} unreachable: {type(error).__name__}"
            ) from None
        if answer.status_code in (401, 403):
            raise _no_credentials(self.host, refused=True)
        try:
            data = json.loads(body) if body is not None else {}
        except (ValueError, RecursionError):
            data = {}
        token = data.get("token") or data.get("access_token") if isinstance(data, dict) else None
        if answer.status_code != 200 or not isinstance(token, str) or not token:
            raise RegistryError(
                f"token service of {self.host} answered {answer.status_code} without a token"
            )
        return token


def read_capped(response: httpx2.Response, limit: int) -> bytes | None:
    """The body, or None as soon as it passes ``limit`` bytes (the rest is never read)."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _no_credentials(host: str, refused: bool = False) -> RegistryError:
    what = "refused the credentials" if refused else "needs credentials and none were found"
    return RegistryAuthError(
        f"registry {host} {what}",
        location=host,
        hint=f"run `docker login {host}`, or set IMAGEBUILDER_REGISTRY_USERNAME and "
        "IMAGEBUILDER_REGISTRY_PASSWORD",
    )


def raise_for_registry(response: httpx2.Response, what: str, host: str) -> None:
    """Turn a refusal into a RegistryError that names the operation and the registry."""
    if response.status_code < 400:
        return
    if response.status_code in (401, 403):
        raise _no_credentials(host, refused=True)
    detail = ""
    try:
        errors = response.json().get("errors") or []
        if errors and isinstance(errors[0], dict):
            detail = (
                f": {str(errors[0].get('code', ''))[:80]} {str(errors[0].get('message', ''))[:200]}"
            )
    except (ValueError, AttributeError):
        pass
    if response.status_code in TRANSIENT_STATUS:
        raise NetworkError(f"{what}: registry {host} answered {response.status_code}{detail}")
    raise RegistryError(
        f"{what}: registry {host} answered {response.status_code}{detail}", location=host
    )
