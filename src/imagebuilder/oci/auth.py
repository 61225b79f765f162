"""Registry credentials by role, and the two auth schemes registries use (Basic, Bearer).

Whoever opens a registry says what it is for (``RegistryRole``), and gets only the
credentials meant for that host: the environment's pair (IMAGEBUILDER_REGISTRY_USERNAME /
_PASSWORD, for CI) belongs to the target registry, the one imagebuilder pushes to, and is
never offered to another; every registry (the target without that pair included) gets the
Docker config's entry for its own host: a credential helper (``credHelpers`` /
``credsStore``), else the ``auths`` entries written by ``docker login``. They are
never logged or put in an error message. A challenge (WWW-Authenticate) is hostile
input: it is parsed strictly, and credentials go to a token realm only over https or to
the registry's own host.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from imagebuilder.project import redact

USERNAME_ENV = "IMAGEBUILDER_REGISTRY_USERNAME"
PASSWORD_ENV = "IMAGEBUILDER_REGISTRY_PASSWORD"  # noqa: S105 (a variable name, not a secret)
MAX_DOCKER_CONFIG_BYTES = 1_000_000
_PARAM = re.compile(r'([A-Za-z_]+)="([^"\\]*)"')
_HELPER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class RegistryRole(StrEnum):
    """What a registry is opened for; it decides which credentials it may be offered."""

    TARGET = "target"  # pushed to: the environment's pair, else the Docker config
    BASE = "base"  # the base image is read from it: the Docker config only
    SOURCE = "source"  # an image is read or copied from it: the Docker config only


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        redact.remember(self.password, user=self.username)  # never printed, whatever echoes it

    def as_auth_config(self) -> dict[str, str]:
        """The form the Docker Engine API takes for a push or a pull."""
        return {"username": self.username, "password": self.password}

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


def docker_config_path() -> Path:
    folder = os.environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    return Path(folder) / "config.json"


def _read_config(path: Path) -> dict[str, object]:
    try:
        if path.stat().st_size > MAX_DOCKER_CONFIG_BYTES:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _helper_credentials(helper: str, registry: str) -> Credentials | None:
    """Ask a Docker credential helper (`docker-credential-<helper> get`), as docker does."""
    if not _HELPER_NAME.match(helper):
        return None
    program = shutil.which(f"docker-credential-{helper}")
    if program is None:
        return None
    try:
        answer = subprocess.run(
            [program, "get"], input=registry, capture_output=True, text=True, timeout=30,
            check=False,
        )  # fmt: skip
        data = json.loads(answer.stdout) if answer.returncode == 0 else {}
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    user, secret = data.get("Username"), data.get("Secret")
    if isinstance(user, str) and isinstance(secret, str) and secret:
        return Credentials(user, secret)
    return None


def _decode_auth(entry: object) -> Credentials | None:
    if not isinstance(entry, dict):
        return None
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            user, sep, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return Credentials(user, password) if sep else None
    name, secret = entry.get("username"), entry.get("password")
    if isinstance(name, str) and isinstance(secret, str):
        return Credentials(name, secret)
    return None


def credentials_for(
    host: str, role: RegistryRole, config_path: Path | None = None
) -> Credentials | None:
    """The credentials ``host`` may be offered in ``role``: the environment's pair only
    for the target registry, the Docker config's entry for ``host`` otherwise (and for a
    target without that pair)."""
    if role is RegistryRole.TARGET:
        found = environment_credentials()
        if found is not None:
            return found
    return docker_config_credentials(host, config_path)


def environment_credentials() -> Credentials | None:
    """The IMAGEBUILDER_REGISTRY_* pair: for the target registry only (see RegistryRole)."""
    user, password = os.environ.get(USERNAME_ENV), os.environ.get(PASSWORD_ENV)
    return Credentials(user, password) if user and password else None


def docker_config_credentials(registry: str, config_path: Path | None = None) -> Credentials | None:
    """The Docker config's entry for this registry (credential helper, else ``auths``)."""
    config = _read_config(config_path or docker_config_path())
    keys = {registry, f"https://{registry}", f"http://{registry}", f"{registry}/v2/"}
    if registry in ("docker.io", "registry-1.docker.io"):
        keys.add("https://index.docker.io/v1/")
    helpers = config.get("credHelpers")
    helper = helpers.get(registry) if isinstance(helpers, dict) else None
    helper = helper if isinstance(helper, str) else config.get("credsStore")
    if isinstance(helper, str):
        found = _helper_credentials(helper, registry)
        if found is not None:
            return found
    auths = config.get("auths")
    if not isinstance(auths, dict):
        return None
    for key, entry in auths.items():
        if key.rstrip("/") in keys or key in keys:
            found = _decode_auth(entry)
            if found is not None:
                return found
    return None


@dataclass(frozen=True)
class Challenge:
    scheme: str  # 'basic' or 'bearer'
    params: dict[str, str]


def parse_challenge(header: str | None) -> Challenge | None:
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() not in ("basic", "bearer"):
        return None
    return Challenge(scheme.lower(), dict(_PARAM.findall(rest[:4096])))


def may_send_credentials(realm: str, registry_host: str, registry_scheme: str) -> bool:
    """Only over https, or to the registry's own host when the registry itself speaks
    plain http (a loopback registry): an https registry must never downgrade them."""
    parts = urlsplit(realm)
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" == registry_scheme and parts.netloc == registry_host
