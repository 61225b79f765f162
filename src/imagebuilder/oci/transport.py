"""HTTP to one registry: the auth dance (Basic, Bearer token per scope) and retries.

Timeouts and retries follow ``imagebuilder.network`` (the same policy as the Hub's):
transient failures (resets, timeouts, 408, 429, 5xx) are retried with backoff for
requests whose body can be sent again; everything else becomes an imagebuilder error
naming the registry and what to do. Tokens and passwords never reach a message.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Required, TypedDict, Unpack
from urllib.parse import urlsplit

import httpx2

from imagebuilder import network
from imagebuilder.errors import AnswerCutOff, NetworkError, RegistryAuthError, RegistryError
from imagebuilder.oci.auth import Credentials, may_send_credentials, parse_challenge
from imagebuilder.origins import name_origin

TRANSIENT_STATUS = network.RETRY_STATUSES
MAX_TOKEN_BYTES = 1_000_000


def default_scheme(host: str) -> str:
    """Loopback registries speak plain http (as dockerd assumes); everything else https."""
    name = host[1:].split("]", 1)[0] if host.startswith("[") else host.rsplit(":", 1)[0]
    if name == "localhost":
        return "http"
    try:
        return "http" if ipaddress.ip_address(name).is_loopback else "https"
    except ValueError:  # a host name: never trusted with plain http
        return "https"


class RequestOptions(TypedDict, total=False):
    """What one registry request may carry besides its method and path."""

    scope: Required[str]  # the token scope, e.g. repository:name:pull,push
    headers: dict[str, str] | None
    content: bytes | None
    params: dict[str, str] | None
    retry: bool  # False for requests whose body cannot be sent again; default True


class RegistryTransport:
    """Authenticated, retrying requests to one registry host."""

    def __init__(
        self,
        host: str,
        credentials: Credentials | None,
        *,
        scheme: str | None = None,
    ):
        self.host = host
        self.scheme = scheme or default_scheme(host)
        self.base_url = f"{self.scheme}://{host}"
        name_origin(
            self.base_url,
            f"check the network and the registry host {host} (the image name's first part: "
            "image.name in models.yaml, --image or the tag); nothing was changed",
        )
        self._credentials = credentials
        self._tokens: dict[str, str] = {}  # scope -> Authorization header value
        self._client = httpx2.Client(follow_redirects=True)

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
        self, method: str, path_or_url: str, **options: Unpack[RequestOptions]
    ) -> httpx2.Response:
        """One request, answered (any status) or raised as NetworkError after retries."""
        retry = options.get("retry", True)
        attempts = network.Attempts(f"{method} {path_or_url}", self.url(path_or_url), retry=retry)
        while True:
            try:
                with self.stream(method, path_or_url, **options) as response:
                    response.read()
                    return response
            except AnswerCutOff as cut:
                attempts.failed(cut)

    @contextmanager
    def stream(
        self, method: str, path_or_url: str, **options: Unpack[RequestOptions]
    ) -> Iterator[httpx2.Response]:
        scope, headers = options["scope"], options.get("headers")
        content, params = options.get("content"), options.get("params")
        retry = options.get("retry", True)
        url = self.url(path_or_url)
        if params:
            # Upload locations carry their own query (_state=...): merge, never replace.
            url = str(httpx2.URL(url).copy_merge_params(params))
        what = f"{method} {urlsplit(url).path}"
        network.known_unreachable(url)
        attempts = network.Attempts(what, url, self.host, retry=retry)
        authenticated_again = False
        while True:
            network.DEADLINE.check(what, self.host)
            request_headers = dict(headers or {})
            if scope in self._tokens:
                request_headers["Authorization"] = self._tokens[scope]
            try:
                request = self._client.build_request(
                    method, url, headers=request_headers, content=content,
                    timeout=network.timeouts(),
                )  # fmt: skip
                response = self._client.send(request, stream=True)
            except httpx2.TransportError as error:
                attempts.failed_transport(error)
                continue
            if response.status_code == 401 and not authenticated_again:
                challenge = response.headers.get("WWW-Authenticate")
                response.close()
                self._authenticate(challenge, scope)
                authenticated_again = True
                continue
            retries_left = attempts.count < attempts.policy.retries
            if response.status_code in TRANSIENT_STATUS and retries_left:
                response.close()
                attempts.failed_status(response.status_code, response.headers.get("Retry-After"))
                continue
            try:
                yield response
            except httpx2.TransportError as error:
                raise AnswerCutOff(
                    f"{what}: the answer from registry {self.host} was cut off "
                    f"({type(error).__name__})",
                    location=self.host,
                    hint="check the network; run again",
                ) from None
            finally:
                response.close()
            return

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
            with self._client.stream(
                "GET", realm, params=query, headers=headers, timeout=network.timeouts()
            ) as answer:
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
        hint=f"run `docker login {host}`; IMAGEBUILDER_REGISTRY_USERNAME and "
        "IMAGEBUILDER_REGISTRY_PASSWORD serve only the registry imagebuilder pushes to",
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
