"""Rules for single models.yaml values that end up in URLs and image references.

Pure functions: each returns the value or raises ValueError with what is wrong and the
form that is expected (pydantic turns it into a line-numbered config error).
"""

from __future__ import annotations

import re

# Hub repo ids: "owner/name", each part 1-96 of [A-Za-z0-9._-], no "--" or ".." (the
# Hub's own rule), so a repo id can never smuggle a path or an option into a URL.
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
# A branch, tag or commit: git ref rules, kept strict since revisions end up in URLs.
_REVISION = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)(?!.*@\{)[A-Za-z0-9._/-]{1,200}(?<![./])$")
_COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_IMAGE_REF = re.compile(
    r"^(?P<name>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


def check_repo_id(value: str) -> str:
    if not _REPO_ID.match(value) or "--" in value or ".." in value:
        raise ValueError(
            f"{value!r} is not a Hub repo id; expected 'owner/name' "
            "(letters, digits, '.', '_', '-'; no '--' or '..')"
        )
    return value


def check_revision(value: str) -> str:
    if not _REVISION.match(value):
        raise ValueError(
            f"{value!r} is not a valid revision; use a branch or tag name such as 'main', "
            "or a 40-character commit sha"
        )
    return value


def check_image_ref(value: str) -> str:
    if not _IMAGE_REF.match(value):
        raise ValueError(f"{value!r} is not a valid image reference")
    return value


def check_pinned_image(value: str) -> str:
    match = _IMAGE_REF.match(value)
    if not match or not match.group("digest"):
        raise ValueError(
            f"{value!r} is not pinned by digest; write it as 'name[:tag]@sha256:<64 hex>' "
            "(find the digest with `docker buildx imagetools inspect NAME:TAG`)"
        )
    return value


def check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a valid regular expression: {exc}") from None
    return value


def is_commit_sha(value: str) -> bool:
    return bool(_COMMIT_SHA.match(value))


def is_sha256(value: str) -> bool:
    return bool(_SHA256.match(value))
