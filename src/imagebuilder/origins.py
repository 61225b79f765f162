"""An origin that cannot be reached, and what it is, so that its hint names the right thing.

A registry's transport names its host when it is made; an origin not named is the Hub's
when it is HF_ENDPOINT's or the public Hub's (downloads redirect to *.huggingface.co and
*.hf.co). The `test` targets have their own message (abtest/_http.py).
"""

from __future__ import annotations

import os
import threading
from urllib.parse import urlsplit

from imagebuilder.errors import EndpointUnreachable

_lock = threading.Lock()
_origin_hints: dict[str, str] = {}

__all__ = ["name_origin", "unreachable", "unreachable_hint"]


def _origin(url: object) -> str:
    parts = urlsplit(str(url))
    return f"{parts.scheme}://{parts.netloc}"


def name_origin(url: str, hint: str) -> None:
    with _lock:
        _origin_hints[_origin(url)] = hint


def unreachable_hint(url: object) -> str:
    where = _origin(url)
    named = _origin_hints.get(where)
    if named is not None:
        return named
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    host = (urlsplit(where).hostname or "").lower()
    if where == _origin(endpoint) or host.endswith(("huggingface.co", "hf.co")):
        return f"check the network and HF_ENDPOINT (the Hub: {endpoint}); nothing was changed"
    return f"check the network and the host {urlsplit(where).netloc}; nothing was changed"


def unreachable(error: Exception, url: object, what: str | None) -> EndpointUnreachable:
    """A connection that failed before any answer: why, where, and what to check."""
    text = str(error).lower()
    if "name" in text or "resolution" in text or "nodename" in text or "getaddrinfo" in text:
        reason = "the host name does not resolve (offline, or a wrong endpoint?)"
    elif "refused" in text:
        reason = "the connection was refused (server down, or a wrong port?)"
    else:
        reason = f"cannot connect ({type(error).__name__})"
    return EndpointUnreachable(
        f"{_origin(url)} is unreachable: {reason}" + (f" (during {what})" if what else ""),
        hint=unreachable_hint(url),
    )
