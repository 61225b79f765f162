"""What each network origin is, so that an unreachable one gets the right hint.

A registry's transport names its host when it is made; an origin not named is the Hub's
when it is HF_ENDPOINT's or the public Hub's (downloads redirect to *.huggingface.co and
*.hf.co). The `test` targets have their own message (abtest/_http.py).
"""

from __future__ import annotations

import os
import threading
from urllib.parse import urlsplit

_lock = threading.Lock()
_origin_hints: dict[str, str] = {}

__all__ = ["name_origin", "unreachable_hint"]


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
