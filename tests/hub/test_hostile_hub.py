"""A lying Hub: malformed metadata, false lengths, redirects, junk search results.

Each test is the regression test of one fix from the security review. The Hub here is a
tiny loopback HTTP server that answers exactly what a test tells it to
(tests/infra/liar.py); the real huggingface_hub client talks to it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imagebuilder.errors import ExitCode, HubError
from imagebuilder.hub.client import Hub
from imagebuilder.project.config import RepoSearch
from imagebuilder.updates.discovery import _search
from infra.hostile import (
    assert_refused,
)
from infra.liar import LyingServer

COMMIT = "a" * 40


SHA = "b" * 64


def _model_info(sibling: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {"id": "owner/repo", "sha": COMMIT, "siblings": [sibling], **overrides}


def _lfs(size: Any = 10, sha256: Any = SHA) -> dict[str, Any]:
    lfs = {"size": size, "sha256": sha256, "pointerSize": 130}
    return {"rfilename": "m.safetensors", "size": size, "blobId": "c" * 40, "lfs": lfs}


@pytest.mark.parametrize(
    ("info", "what"),
    [
        (_model_info(_lfs(sha256="../../etc/passwd")), "sha256"),
        (_model_info(_lfs(sha256="B" * 64)), "sha256"),
        (_model_info(_lfs(size="10")), "file size"),
        (_model_info(_lfs(size=-1)), "file size"),
        (_model_info(_lfs(), sha="main"), "commit sha"),
        (_model_info(_lfs(), sha=None), "commit sha"),
        (_model_info(_lfs(), id="../../x"), "repo id"),
        (_model_info({"rfilename": 7}), "file path"),
    ],
)
def test_malformed_hub_metadata_is_a_hub_error(
    liar: LyingServer, info: dict[str, Any], what: str
) -> None:
    """Before: a bad sha256/commit/size reached the lock (a pydantic traceback) or a URL."""
    liar.answer("/api/models/", info)
    with pytest.raises(HubError, match=f"malformed {what}") as caught:
        Hub(endpoint=liar.url, token="").snapshot("owner/repo", "main")
    assert caught.value.location == "owner/repo@main"


@pytest.mark.parametrize(
    "body",
    [
        b"<html>not json</html>",
        json.dumps(["a", "list"]).encode(),
        json.dumps({**_model_info(_lfs()), "lastModified": "yesterday"}).encode(),
    ],
)
def test_an_unreadable_answer_is_a_hub_error(liar: LyingServer, body: bytes) -> None:
    """Before: JSONDecodeError, TypeError or a date's ValueError was an internal error."""
    liar.answer("/api/models/", body)
    with pytest.raises(HubError, match="cannot be read"):
        Hub(endpoint=liar.url, token="").snapshot("owner/repo", "main")


def test_a_malformed_commit_date_is_a_hub_error(liar: LyingServer) -> None:
    entry = {"type": "file", "oid": "c" * 40, "size": 1, "path": "m.safetensors"}
    liar.answer("/api/models/", [{**entry, "lastCommit": {"id": COMMIT, "title": "t"}}])
    with pytest.raises(HubError, match="cannot be read"):
        Hub(endpoint=liar.url, token="").last_commits("owner/repo", COMMIT, ["m.safetensors"])


def test_well_formed_metadata_still_reads(liar: LyingServer) -> None:
    liar.answer("/api/models/", _model_info(_lfs()))
    snapshot = Hub(endpoint=liar.url, token="").snapshot("owner/repo", "main")
    assert snapshot.files["m.safetensors"].sha256 == SHA
    assert snapshot.commit == COMMIT


def test_a_lying_content_range_is_refused(liar: LyingServer) -> None:
    """Before: bytes from another offset were parsed as if they were the ones asked for."""
    prefix = "/owner/repo/resolve/"
    liar.answer(prefix, b"x" * 16, 206, **{"Content-Range": "bytes 0-15/1000"})
    hub = Hub(endpoint=liar.url, token="")
    with pytest.raises(HubError, match="Content-Range"):
        hub.read_range("owner/repo", "m.safetensors", COMMIT, 100, 16)
    liar.answer(prefix, b"x" * 16, 206)  # no Content-Range at all
    with pytest.raises(HubError, match="Content-Range"):
        hub.read_range("owner/repo", "m.safetensors", COMMIT, 100, 16)
    liar.answer(prefix, b"x" * 16, 206, **{"Content-Range": "bytes 100-115/1000"})
    assert hub.read_range("owner/repo", "m.safetensors", COMMIT, 100, 16) == b"x" * 16


def test_the_hub_token_never_follows_a_redirect_to_another_host(liar: LyingServer) -> None:
    """127.0.0.1 and localhost are different origins: the redirect target is another host."""
    cdn = f"http://localhost:{liar.server_address[1]}/cdn/blob"
    liar.answer("/owner/repo/resolve/", b"", 302, Location=cdn)
    liar.answer("/cdn/", b"12345678", 200)
    hub = Hub(endpoint=liar.url, token="hf_secret_token_value")
    assert hub.read_range("owner/repo", "m.safetensors", COMMIT, 0, 8) == b"12345678"
    assert liar.last_headers("/owner/repo/resolve/")["authorization"].endswith(
        "hf_secret_token_value"
    )
    assert "authorization" not in liar.last_headers("/cdn/")
    assert "hf_secret_token_value" not in repr(hub)


def test_search_results_that_are_not_repo_ids_are_dropped(liar: LyingServer) -> None:
    """Before: an id like "../x" reached model_info, whose validator raised a traceback."""
    found = [{"id": "../../evil"}, {"id": "owner/x?y=1"}, {"id": "owner/good"}, {"id": "a--b/c"}]
    liar.answer("/api/models", found)
    result = _search(Hub(endpoint=liar.url, token=""), RepoSearch(author="owner", search="q"))
    assert result == ["owner/good"]


@pytest.mark.parametrize(
    ("body", "claimed_length", "message"),
    [
        # Before: a model-info answer nested deep was a RecursionError (exit 1).
        *(
            pytest.param(
                b'{"id": "owner/repo", "sha": ' + b"[" * depth + b"]" * depth + b"}",
                None,
                "cannot be read|malformed",
                id=f"nested-{depth}",
            )
            for depth in (100_000, 900)
        ),
        pytest.param(
            b'{"id": "owner/repo", "sha": "' + b"a" * 40 + b'", "siblings": ' + b"9" * 5000 + b"}",
            None,
            "cannot be read|malformed",
            id="5000-digits",
        ),
        # The answer claims 2 GB: refused on its headers, never loaded into memory.
        pytest.param(b'{"id": "owner/repo"}', 2 << 30, "cannot be read", id="claims-2GB"),
    ],
)
def test_a_hostile_hub_answer_is_a_hub_error(
    liar: LyingServer,
    shipped_project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    body: bytes,
    claimed_length: int | None,
    message: str,
) -> None:
    lies = {} if claimed_length is None else {"Content-Length": str(claimed_length)}
    liar.answer("/api/models/", body, 200, **lies)
    monkeypatch.setenv("HF_ENDPOINT", liar.url)
    assert_refused(
        capsys,
        ["lock", "-c", str(shipped_project)],
        code=ExitCode.HUB,
        where="@main",
        message=message,
    )
