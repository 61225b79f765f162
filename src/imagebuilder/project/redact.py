"""One redaction rule for every message, file and report: known secrets never appear.

A remote can echo anything back (a gateway that quotes the Authorization header in a
job error, a registry that quotes the request), and a user can paste a secret where a
URL goes. Whatever the path, what is printed or written passes ``redact``, which
replaces

* every secret the process knows: the Hugging Face token, the registry passwords (the
  environment's pair and every Docker-config login read), the RunPod API key, and the
  Basic-auth form (base64 of user:password) of each login, and
* the userinfo of any URL, whatever its scheme (``scheme://user:pw@host`` ->
  ``scheme://***@host``),

with ``***``. Secrets shorter than MIN_SECRET characters are left alone: a
three-letter password would blank every word that holds it, and protects nothing.
"""

from __future__ import annotations

import base64
import os
import re
import threading
from typing import Any

MASK = "***"
MIN_SECRET = 6
# Environment variables that hold a secret, read at each call (tests and CI change them).
SECRET_ENVS = (
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "IMAGEBUILDER_REGISTRY_PASSWORD",
    "RUNPOD_API_KEY",
)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@'\"<>]+@")
_lock = threading.Lock()
_known: set[str] = set()


def remember(secret: str | None, *, user: str | None = None) -> None:
    """A secret this process holds (and, with ``user``, its Basic-auth form too)."""
    if not secret or len(secret) < MIN_SECRET:
        return
    with _lock:
        _known.add(secret)
        if user is not None:
            _known.add(base64.b64encode(f"{user}:{secret}".encode()).decode("ascii"))


def known_secrets() -> list[str]:
    from_env = (os.environ.get(name, "").strip() for name in SECRET_ENVS)
    with _lock:
        found = _known | {value for value in from_env if len(value) >= MIN_SECRET}
    return sorted(found, key=len, reverse=True)  # a longer secret first: no partial masks


def redact(text: str) -> str:
    """``text`` with every known secret and every URL's userinfo replaced by ***."""
    for secret in known_secrets():
        if secret in text:
            text = text.replace(secret, MASK)
    return _USERINFO.sub(rf"\1{MASK}@", text)


def redact_data(value: Any) -> Any:
    """``redact`` over every string in a JSON-like value (keys included)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_data(key): redact_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(item) for item in value]
    return value
