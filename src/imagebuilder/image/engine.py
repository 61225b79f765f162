"""The only module that imports ``docker``: build, tag, push, inspect, save.

docker-py objects never leave this module; callers get strings, dicts and
imagebuilder errors. The SDK drives the classic builder (no build secrets, no
BuildKit flags), and its push never raises on a registry refusal: the error is a
line inside the stream, so every stream is parsed here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, DockerException, ImageNotFound

from imagebuilder.errors import (
    BaseImageMissing,
    BuildFailed,
    DockerError,
    EngineUnavailable,
    PushFailed,
    RegistryAuthError,
)
from imagebuilder.oci.auth import (
    PASSWORD_ENV,
    USERNAME_ENV,
    Credentials,
    RegistryRole,
    credentials_for,
)
from imagebuilder.oci.reference import parse_reference

MIN_API_VERSION = (1, 40)  # Docker 19.03: the oldest engine imagebuilder is tested against
ENGINE_TIMEOUT_S = 3600  # a 20 GB layer commit can take minutes
_AUTH_WORDS = ("unauthorized", "authentication required", "denied", "no basic auth")
_BASE_WORDS = ("pull access denied", "manifest unknown", "not found", "no such image")

Progress = Callable[[str], None]


def _api_tuple(version: str) -> tuple[int, int]:
    major, _, minor = version.partition(".")
    return int(major), int(minor or 0)


class Engine:
    """A connected, version-checked Docker Engine."""

    def __init__(self, client: docker.DockerClient):
        self._client = client

    @classmethod
    def connect(cls) -> Engine:
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        try:
            client = docker.from_env(version="auto", timeout=ENGINE_TIMEOUT_S)
            client.ping()
            api_version = str(client.version().get("ApiVersion", "0.0"))
        except DockerException as error:
            raise EngineUnavailable(
                f"no Docker Engine answered: {error}",
                location=where,
                hint="start the engine (`sudo systemctl start docker` or `dockerd`), "
                "or point DOCKER_HOST at one",
            ) from None
        if _api_tuple(api_version) < MIN_API_VERSION:
            raise EngineUnavailable(
                f"the Docker Engine speaks API {api_version}; imagebuilder needs "
                f"{'.'.join(map(str, MIN_API_VERSION))} or newer",
                location=where,
                hint="upgrade Docker Engine to 19.03 or newer",
            )
        return cls(client)

    def close(self) -> None:
        self._client.close()

    def server_version(self) -> str:
        return str(self._client.version().get("Version", "unknown"))[:40]

    def has_image(self, ref: str) -> bool:
        try:
            self._client.images.get(ref)
        except ImageNotFound:
            return False
        except APIError as error:
            raise DockerError(f"could not inspect {ref}: {error.explanation}") from None
        return True

    def image_labels(self, ref: str) -> dict[str, str]:
        try:
            attrs: dict[str, Any] = self._client.api.inspect_image(ref)
        except ImageNotFound:
            raise DockerError(
                "image not found in the Docker Engine",
                location=ref,
                hint=f"pull it first (`docker pull {ref}`)",
            ) from None
        labels = (attrs.get("Config") or {}).get("Labels") or {}
        return {str(key): str(value) for key, value in labels.items()}

    def ensure_base(self, base: str) -> None:
        """The base image, by its pinned digest: already in the engine, or pulled now.

        Checked before the build so a missing base is named as such instead of surfacing
        as whatever the builder says. Pulled in the base role: the Docker config's
        credentials for its registry, never the target registry's pair.
        """
        if self.has_image(base):
            return
        credentials = credentials_for(parse_reference(base).registry, RegistryRole.BASE)
        auth = credentials.as_auth_config() if credentials else None
        try:
            self._client.images.pull(base, auth_config=auth)
        except DockerException as error:
            explanation = getattr(error, "explanation", None) or str(error)
            raise BaseImageMissing(
                f"the base image is not in the engine and cannot be pulled: {explanation}",
                location=base,
                hint="check image.base in models.yaml, `docker login` to its registry, "
                "or load it into the engine (`docker pull` / `docker load`)",
            ) from None

    def build(
        self,
        context_dir: Path,
        *,
        tag: str,
        base: str,
        build_args: dict[str, str],
        labels: dict[str, str],
        progress: Progress,
    ) -> str:
        """Build with host networking (downloads reach the Hub the host reaches); image id."""
        self.ensure_base(base)
        image_id = ""
        last_lines: list[str] = []
        try:
            stream = self._client.api.build(
                path=str(context_dir),
                tag=tag,
                rm=True,
                forcerm=True,
                decode=True,
                network_mode="host",
                buildargs=build_args,
                labels=labels,
            )
            for chunk in stream:
                if "error" in chunk:
                    raise self._build_error(str(chunk["error"]), base, last_lines)
                text = str(chunk.get("stream") or chunk.get("status") or "").rstrip()
                if text:
                    last_lines = [*last_lines[-19:], text]
                    progress(text)
                aux = chunk.get("aux") or {}
                image_id = str(aux.get("ID", image_id))
        except APIError as error:
            raise self._build_error(str(error.explanation), base, last_lines) from None
        if not image_id:
            raise BuildFailed("the build ended without an image id", location=str(context_dir))
        return image_id

    @staticmethod
    def _build_error(message: str, base: str, last_lines: list[str]) -> DockerError:
        lowered = message.lower()
        if base.split("@", maxsplit=1)[0] in message and any(
            word in lowered for word in _BASE_WORDS
        ):
            return BaseImageMissing(
                f"the base image cannot be found or pulled: {message}",
                location=base,
                hint="check image.base in models.yaml, `docker login` to its registry, "
                "or load it into the engine (`docker pull` / `docker load`)",
            )
        tail = "\n    ".join(last_lines[-10:])
        return BuildFailed(
            f"the build failed: {message.strip()}\n  last build output:\n    {tail}",
            hint="a sha256 mismatch means the Hub served other bytes than the lock pins: "
            "run `imagebuilder verify`; otherwise read the step output above",
        )

    def tag(self, image_id: str, repository: str, tag: str) -> None:
        try:
            self._client.api.tag(image_id, repository, tag=tag)
        except APIError as error:
            raise DockerError(f"could not tag {repository}:{tag}: {error.explanation}") from None

    def push(
        self, repository: str, tag: str, credentials: Credentials | None, progress: Progress
    ) -> str:
        """Push and return the manifest digest the engine reports; stream errors raise."""
        auth = credentials.as_auth_config() if credentials else None
        digest = ""
        where = f"{repository}:{tag}"
        try:
            for line in self._client.api.push(
                repository, tag=tag, auth_config=auth, stream=True, decode=True
            ):
                if "error" in line:
                    raise _push_error(str(line["error"]), where)
                status = str(line.get("status", ""))
                if status and "id" in line:
                    progress(f"{line['id']}: {status}")
                digest = str((line.get("aux") or {}).get("Digest", digest))
        except APIError as error:
            raise _push_error(str(error.explanation), where) from None
        if not digest:
            raise PushFailed("the push finished without reporting a digest", location=where)
        return digest

    def save(self, ref: str) -> Iterator[bytes]:
        """The image as a `docker save` tar stream (for audits such as the token check)."""
        image = self._client.images.get(ref)
        yield from image.save(named=False)

    def remove_image(self, ref: str) -> None:
        try:
            self._client.api.remove_image(ref, force=True)
        except ImageNotFound:
            return


def _push_error(message: str, where: str) -> Exception:
    if any(word in message.lower() for word in _AUTH_WORDS):
        return RegistryAuthError(
            f"the registry refused the credentials: {message}",
            location=where,
            hint=f"run `docker login <registry>` or set {USERNAME_ENV} and {PASSWORD_ENV}",
        )
    return PushFailed(f"the push failed: {message}", location=where)
