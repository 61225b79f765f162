"""What `imagebuilder inspect` reads: a local file, or ``owner/name/path[@revision]`` on the
Hub (one ranged read of the header, never a download), and what it reports about it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from imagebuilder.errors import FileNotFoundOnHub, PickleFormatRefused
from imagebuilder.hub.client import Hub
from imagebuilder.project.pathrules import PICKLE_SUFFIXES, check_repo_path
from imagebuilder.project.values import check_repo_id, check_revision
from imagebuilder.weights.compat import check_lora, compare_models
from imagebuilder.weights.engine_needs import engine_need
from imagebuilder.weights.header import Header
from imagebuilder.weights.inspection import HeaderSummary, lora_info, summarize
from imagebuilder.weights.remote import fetch_header, read_local_header, verify_local_file


class TargetSyntaxError(ValueError):
    """Neither a file nor ``owner/name/path[@revision]``: a usage error, not a failure."""


def read_target(target: str, make_hub: Callable[[], Hub]) -> Header:
    """A local file when the path exists, else ``owner/name/path/in/repo[@revision]``."""
    suffix = Path(target.partition("@")[0]).suffix.lower()
    if suffix in PICKLE_SUFFIXES:  # refused by name, local or remote: exit 7, not a usage error
        raise PickleFormatRefused(
            f"{suffix} is a pickle-based format, refused: loading it can run arbitrary code",
            location=target,
            hint="inspect the .safetensors release of this model instead",
        )
    if Path(target).is_file():
        return read_local_header(Path(target))
    ref, _, revision = target.partition("@")
    parts = ref.split("/", 2)
    try:
        if len(parts) != 3:
            raise ValueError(f"{target!r} is neither a file nor owner/name/path[@revision]")
        repo, path = check_repo_id("/".join(parts[:2])), check_repo_path(parts[2])
        revision = check_revision(revision or "main")
    except ValueError as error:
        raise TargetSyntaxError(str(error)) from None
    hub = make_hub()
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
