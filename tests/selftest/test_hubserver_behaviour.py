"""The loopback Hub's errors, faults, renames, gating, mutations and how it is started."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import (
    GatedRepoError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from hubserver import GATED_TOKEN, HubServer
from hubserver.samples import LIGHTNING, TINY


def test_renamed_repo_redirects(tiny: HubServer, tmp_path: Path) -> None:
    api = HfApi(endpoint=tiny.url)
    assert api.model_info("org/tiny-old").id == "org/tiny"
    path = hf_hub_download("org/tiny-old", "a.txt", endpoint=tiny.url, cache_dir=tmp_path)
    assert Path(path).read_text() == "two"
    tiny.rename_repo("org/tiny", "org/tiny-new")
    assert api.model_info("org/tiny").id == "org/tiny-new"
    assert api.model_info("org/tiny-old").id == "org/tiny-new"  # chains of renames resolve
    assert [c.title for c in api.list_repo_commits("org/tiny")] == ["second", "first"]
    assert 307 in {r.status for r in tiny.stats.requests}


def test_gated_repo(tiny: HubServer, tmp_path: Path) -> None:
    api = HfApi(endpoint=tiny.url)
    assert api.model_info("gate/keeper").gated == "manual"  # metadata stays public
    with pytest.raises(GatedRepoError):
        api.file_exists("gate/keeper", "w.bin", token=False)
    with pytest.raises(GatedRepoError):
        hf_hub_download(
            "gate/keeper", "w.bin", endpoint=tiny.url, cache_dir=tmp_path, token="hf_wrong"
        )
    assert [r.status for r in tiny.stats.matching("resolve")][-1] == 403
    assert api.file_exists("gate/keeper", "w.bin", token=GATED_TOKEN)


def test_not_found_errors(tiny: HubServer, tmp_path: Path) -> None:
    api = HfApi(endpoint=tiny.url)
    with pytest.raises(RevisionNotFoundError):
        api.model_info("org/tiny", revision="nope")
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("org/missing")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download("org/tiny", "a.txt", revision="nope", endpoint=tiny.url, cache_dir=tmp_path)
    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download("org/tiny", "zzz.txt", endpoint=tiny.url, cache_dir=tmp_path)
    missing = tiny.stats.matching("resolve")[-1]
    assert missing.status == 404


def test_429_with_retry_after_is_retried(tiny: HubServer) -> None:
    tiny.faults.add(r"/commits/", status=429, times=1, headers={"Retry-After": "0"})
    commits = HfApi(endpoint=tiny.url).list_repo_commits("org/tiny")
    assert len(commits) == 2
    assert [r.status for r in tiny.stats.matching("commits")] == [429, 200]


def test_dropped_connection_is_resumed(tiny: HubServer, tmp_path: Path) -> None:
    # The client writes in 10 MiB chunks: cut after the first one so it resumes with Range.
    size, cut = 12 << 20, 11 << 20
    tiny.commit("org/tiny", {"big.bin": {"raw": {"size": size, "seed": 1}}})
    tiny.faults.add(r"/resolve/", method="GET", drop_after_bytes=cut)
    path = hf_hub_download("org/tiny", "big.bin", endpoint=tiny.url, cache_dir=tmp_path)
    assert Path(path).read_bytes() == tiny.blob("org/tiny", "big.bin").content.read()
    gets = tiny.stats.matching("resolve", method="GET")
    assert [r.range for r in gets] == [None, f"bytes={10 << 20}-"]
    assert [r.status for r in gets] == [200, 206]
    assert tiny.stats.bytes_by_file["org/tiny/big.bin"] == cut + size - (10 << 20)


def test_required_token_is_recorded_not_stored(load_scenario: Callable[..., HubServer]) -> None:
    server = load_scenario(TINY, require_token="hf_secret_value")
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=server.url, token=False).model_info("org/tiny")
    assert HfApi(endpoint=server.url, token="hf_secret_value").model_info("org/tiny").sha
    assert [r.authorized for r in server.stats.requests] == [False, True]
    assert "hf_secret_value" not in repr(server.stats.requests)


def test_mutations_change_what_the_client_sees(tiny: HubServer) -> None:
    api = HfApi(endpoint=tiny.url)
    before = api.model_info("org/tiny").sha
    assert before is not None
    new = tiny.commit("org/tiny", {"a.txt": {"text": "three"}}, title="third")
    assert api.model_info("org/tiny").sha == new != before
    removed = tiny.delete_file("org/tiny", "c.txt")
    assert not api.file_exists("org/tiny", "c.txt")
    assert api.file_exists("org/tiny", "c.txt", revision=new)
    tiny.move_branch("org/tiny", "main", before)
    assert api.model_info("org/tiny").sha == before
    tiny.move_branch("org/tiny", "release", removed)
    assert api.model_info("org/tiny", revision="release").sha == removed
    assert api.model_info("org/tiny", revision=new).sha == new  # full commit ids resolve


def test_scenario_from_json_file(tmp_path: Path, load_scenario: Callable[..., HubServer]) -> None:
    path = tmp_path / "s.json"
    cid = "ab" * 20
    path.write_text(
        json.dumps(
            {
                "repos": [
                    {
                        "id": "x/y",
                        "commits": [
                            {"id": cid, "title": "t", "files": {"f": {"bytes_b64": "AAEC"}}}
                        ],
                    }
                ]
            }
        )
    )
    server = load_scenario(path)
    assert HfApi(endpoint=server.url).model_info("x/y").sha == cid
    assert server.blob("x/y", "f").content.read() == b"\x00\x01\x02"


def test_cli_entry_point_serves_a_scenario() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.hubserver", "--scenario", "qwen_small"],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        with urllib.request.urlopen(f"{url}/api/models?author=lightx2v") as resp:
            assert [m["id"] for m in json.load(resp)] == [LIGHTNING]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_hub_env_isolates_cache_and_token(
    tiny: HubServer, hub_env: Callable[[HubServer], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_should_be_unset")
    home = hub_env(tiny)
    path = hf_hub_download("org/tiny", "a.txt", endpoint=tiny.url)  # default cache_dir
    assert Path(path).is_relative_to(home)
    assert not any(r.authorized for r in tiny.stats.requests)
