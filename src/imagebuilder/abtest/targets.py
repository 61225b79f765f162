"""From a --target URL to a target: http(s)://host:port is ComfyUI, runpod://ID RunPod."""

from __future__ import annotations

import ipaddress
import os
import re
from urllib.parse import urlsplit

from imagebuilder.abtest.comfyui import DEFAULT_POLL_S as COMFY_POLL_S
from imagebuilder.abtest.comfyui import ComfyTarget
from imagebuilder.abtest.jobs import Target
from imagebuilder.abtest.runpod import DEFAULT_API_BASE, RunpodTarget
from imagebuilder.abtest.runpod import DEFAULT_POLL_S as RUNPOD_POLL_S
from imagebuilder.errors import ConfigError

_ENDPOINT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
API_KEY_ENV = "RUNPOD_API_KEY"
API_BASE_ENV = "RUNPOD_API_BASE"


def open_target(url: str, *, api_base: str | None = None, poll_s: float | None = None) -> Target:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        if not parts.hostname or parts.username or parts.password or parts.query:
            # Never echo the URL: what was refused may be a password.
            raise ConfigError(
                "--target: expected http(s)://host:port of a ComfyUI server, without "
                "credentials or a query string",
                hint="ComfyUI has no login; put an authenticating proxy's secrets elsewhere",
            )
        return ComfyTarget(
            f"{parts.scheme}://{parts.netloc}{parts.path}", poll_s=poll_s or COMFY_POLL_S
        )
    if parts.scheme == "runpod":
        endpoint = parts.netloc
        if not _ENDPOINT_ID.match(endpoint) or parts.path not in ("", "/"):
            raise ConfigError(f"--target {url!r}: expected runpod://ENDPOINT_ID")
        key = os.environ.get(API_KEY_ENV, "").strip()
        if not key:
            raise ConfigError(
                f"{API_KEY_ENV} is not set",
                location=f"runpod://{endpoint}",
                hint=f"export {API_KEY_ENV} with a RunPod API key (never pass it as an option)",
            )
        base = api_base or os.environ.get(API_BASE_ENV) or DEFAULT_API_BASE
        base_parts = urlsplit(base)
        if base_parts.scheme not in ("http", "https") or not base_parts.hostname:
            raise ConfigError(f"RunPod API base {base!r} is not an http(s) URL")
        if base_parts.scheme == "http" and not _is_loopback(base_parts.hostname):
            raise ConfigError(
                f"RunPod API base {base!r} is plain http to another machine",
                hint="use https: the API key travels in a header (plain http is for loopback)",
            )
        return RunpodTarget(endpoint, key, api_base=base, poll_s=poll_s or RUNPOD_POLL_S)
    raise ConfigError(
        f"--target {url!r}: unknown kind of target",
        hint="use http(s)://host:8188 for a ComfyUI server or runpod://ENDPOINT_ID",
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: never trusted with a key over plain http
        return False
