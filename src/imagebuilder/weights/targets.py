"""What `imagebuilder inspect` reads: a local file, or a file on the Hub as
``owner/name/path[@revision]`` or a pasted Hub URL (one ranged read of the header, never
a download), and what it reports about it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from imagebuilder.errors import FileNotFoundOnHub, PickleFormatRefused
from imagebuilder.hub.client import Hub
from imagebuilder.hub.failures import hub_endpoint, repo_ids_from
from imagebuilder.project.huburls import URL_FORM, HubFile, looks_like_url, parse_file_url
from imagebuilder.project.pathrules import (
    PICKLE_SUFFIXES,
    check_repo_path,
    check_safe_repo_path,
)
from imagebuilder.project.values import check_repo_id, check_revision
from imagebuilder.weights.compat import check_lora, compare_models
from imagebuilder.weights.engine_needs import engine_need
from imagebuilder.weights.header import Header
from imagebuilder.weights.inspection import HeaderSummary, lora_info, summarize
from imagebuilder.weights.remote import fetch_header, read_local_header, verify_local_file


class TargetSyntaxError(ValueError):
    """Neither a file nor ``owner/name/path[@revision]``: a usage error, not a failure."""


def hub_file(target: str, *, model: bool = True) -> HubFile:
    """``owner/name/path[@revision]`` or a pasted Hub URL (``.../resolve/REV/PATH``, or
    the ``/blob/`` page); TargetSyntaxError for anything else. A model file must be
    .safetensors; with ``model`` False any safe path will do (a workflow JSON)."""
    try:
        if looks_like_url(target):
            return parse_file_url(target, hub_endpoint(), model=model)
        ref, _, revision = target.partition("@")
        parts = ref.split("/", 2)
        if len(parts) != 3:
            raise ValueError(
                f"{target!r} is neither a file, owner/name/path[@revision] nor a Hub URL "
                f"({URL_FORM})"
            )
        return HubFile(
            repo=check_repo_id("/".join(parts[:2])),
            path=(check_repo_path if model else check_safe_repo_path)(parts[2]),
            revision=check_revision(revision or "main"),
        )
    except ValueError as error:
        raise TargetSyntaxError(str(error)) from None


def read_target(target: str, make_hub: Callable[[], Hub]) -> Header:
    """A local file when the path exists, else a file on the Hub (``hub_file``)."""
    named = urlsplit(target).path if looks_like_url(target) else target.partition("@")[0]
    suffix = Path(named).suffix.lower()
    if suffix in PICKLE_SUFFIXES:  # refused by name, local or remote: exit 7, not a usage error
        raise PickleFormatRefused(
            f"{suffix} is a pickle-based format, refused: loading it can run arbitrary code",
            location=target,
            hint="inspect the .safetensors release of this model instead",
        )
    if Path(target).is_file():
        return read_local_header(Path(target))
    found = hub_file(target)
    repo, path, revision = found.repo, found.path, found.revision
    hub = make_hub()
    with repo_ids_from("given on the command line"):
        remote = hub.snapshot(repo, revision).files.get(path)
    if remote is None:
        raise FileNotFoundOnHub(
            f"{path}: file not found at this revision",
            location=f"{repo}@{revision}",
            hint="check the path inside the repo (case matters) and the revision",
        )
    return fetch_header(hub, remote.repo, path, remote.commit, remote.size)


def inspect_target(
    target: str, against: str | None, sha256: str | None, make_hub: Callable[[], Hub]
) -> tuple[HeaderSummary, dict[str, Any]]:
    """The header's summary, and the report: the summary plus a LoRA check against a base
    (when ``target`` is a LoRA) or a comparison with a second model."""
    header = read_target(target, make_hub)
    if sha256 is not None and Path(target).is_file():
        verify_local_file(Path(target), sha256=sha256.lower())
    summary = summarize(header)
    result: dict[str, Any] = summary.as_dict()
    result["needs_engine"] = engine_need(header).as_dict()
    if against is not None:
        other = read_target(against, make_hub)
        if lora_info(header) is not None:
            result["lora_check"] = check_lora(header, other).as_dict()
        else:
            result["comparison"] = compare_models(header, other).as_dict()
    return summary, result
