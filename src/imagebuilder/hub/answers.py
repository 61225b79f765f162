"""Checks on what the Hub answers: every field is hostile input until it has passed here.

huggingface_hub turns JSON into dataclasses without checking types or formats, so a
confused or hostile server can hand us a size that is a string, a sha256 that is a
path, or a Content-Range for bytes we did not ask for. Each check either returns the
value, typed, or raises a HubError naming the file; nothing malformed reaches the lock,
models.yaml or a URL.
"""

from __future__ import annotations

import re

from huggingface_hub.errors import HFValidationError

from imagebuilder.errors import HubError
from imagebuilder.project.values import check_repo_id, is_commit_sha, is_sha256

_HINT = "the Hub (or a proxy in front of it) sent a malformed answer; try again later"
_CONTENT_RANGE = re.compile(r"^bytes ([0-9]{1,15})-([0-9]{1,15})/(?:[0-9]{1,15}|\*)$")


def malformed(what: str, value: object, where: str) -> HubError:
    shown = ascii(value)[:80]  # the value is hostile: quoted, escaped, short
    return HubError(f"the Hub sent a malformed {what}: {shown}", location=where, hint=_HINT)


def unreadable(error: Exception, where: str) -> HubError:
    """An answer the client could not parse, or an argument it refused to send."""
    if isinstance(error, HFValidationError):
        return HubError(
            f"not a valid Hub repo id or revision: {ascii(str(error))[:200]}", location=where
        )
    return HubError(
        f"the Hub sent an answer that cannot be read ({type(error).__name__})",
        location=where,
        hint=_HINT,
    )


def commit_sha(value: object, where: str) -> str:
    if not isinstance(value, str) or not is_commit_sha(value):
        raise malformed("commit sha", value, where)
    return value


def repo_id(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise malformed("repo id", value, where)
    try:
        return check_repo_id(value)
    except ValueError:
        raise malformed("repo id", value, where) from None


def file_size(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise malformed("file size", value, where)
    return value


def optional_sha256(value: object, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not is_sha256(value):
        raise malformed("sha256", value, where)
    return value


def file_path(value: object, where: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 1000:
        raise malformed("file path", value, where)
    return value


def check_content_range(header: str | None, start: int, where: str) -> None:
    """A 206 answer must say it holds the bytes from ``start`` on: a lying Content-Range
    would otherwise have us parse bytes from another offset as a header."""
    match = _CONTENT_RANGE.match(header or "")
    if match is None or int(match.group(1)) != start or int(match.group(2)) < start:
        raise HubError(
            f"the server answered a Range request for bytes from {start} with Content-Range "
            f"{ascii(header or '')[:80]}",
            location=where,
            hint="a proxy between you and the Hub may rewrite Range requests",
        )
