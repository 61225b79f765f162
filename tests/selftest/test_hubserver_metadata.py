"""The real huggingface_hub client against the loopback Hub: metadata routes."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_url
from huggingface_hub.hf_api import RepoFile

from hubserver import HubServer
from hubserver.samples import BASE, DIFFUSION_2509, EDIT, LIGHTNING, LORA_4STEP, TEXT_ENCODER


def test_model_info_with_files_metadata(qwen_hub: HubServer) -> None:
    info = HfApi(endpoint=qwen_hub.url).model_info(BASE, files_metadata=True)
    assert info.id == BASE
    assert info.sha == qwen_hub.head(BASE)
    assert info.last_modified is not None and info.last_modified.year == 2025
    siblings = {s.rfilename: s for s in info.siblings or []}
    te = siblings[TEXT_ENCODER]
    assert te.lfs is not None
    assert te.lfs.sha256 == "cb5636d852a0ea6a9075ab1bef496c0db7aef13c02350571e388aea959c5c0b4"
    assert te.size is not None and 8.5e9 < te.size < 10e9
    assert siblings["README.md"].lfs is None
    assert info.gated is False


def test_list_repo_tree_paginated_matches_single_page(qwen_hub: HubServer) -> None:
    api = HfApi(endpoint=qwen_hub.url)
    whole = [(e.path, type(e).__name__) for e in api.list_repo_tree(EDIT, recursive=True)]
    qwen_hub.stats.reset()
    qwen_hub.set_page_size(2)
    paged = [(e.path, type(e).__name__) for e in api.list_repo_tree(EDIT, recursive=True)]
    assert paged == whole
    assert ("split_files/diffusion_models", "RepoFolder") in whole
    assert qwen_hub.stats.by_route["tree"] == -(-len(whole) // 2)
    files = api.list_repo_files(EDIT)
    assert DIFFUSION_2509 in files and "split_files" not in files


def test_tree_of_subfolder_with_expand(qwen_hub: HubServer) -> None:
    api = HfApi(endpoint=qwen_hub.url)
    entries = list(api.list_repo_tree(LIGHTNING, path_in_repo="Qwen-Image-Edit-2509", expand=True))
    assert [e.path for e in entries] == [
        LORA_4STEP,
        LORA_4STEP.replace("4steps", "8steps"),
        "Qwen-Image-Edit-2509/qwen_image_edit_2509_fp8_e4m3fn_scaled.safetensors",
    ]
    assert isinstance(entries[0], RepoFile) and entries[0].last_commit is not None
    assert entries[0].last_commit.title == "Upload Qwen-Image-Edit-2509 Lightning"
    assert entries[0].lfs is not None and entries[0].lfs.sha256.startswith("2a32ce93")


def test_get_paths_info_omits_unknown(qwen_hub: HubServer) -> None:
    api = HfApi(endpoint=qwen_hub.url)
    infos = api.get_paths_info(EDIT, [DIFFUSION_2509, "split_files", "nope.bin"], expand=True)
    assert [i.path for i in infos] == [DIFFUSION_2509, "split_files"]
    assert isinstance(infos[0], RepoFile) and infos[0].last_commit is not None
    assert infos[0].last_commit.title == "Add Qwen-Image-Edit-2509"
    assert infos[0].size == 20_436_206_848


def test_refs_and_commits(tiny: HubServer) -> None:
    api = HfApi(endpoint=tiny.url)
    refs = api.list_repo_refs("org/tiny")
    assert [(b.name, b.target_commit) for b in refs.branches] == [("main", tiny.head("org/tiny"))]
    assert refs.tags[0].name == "v1" and refs.tags[0].ref == "refs/tags/v1"
    tiny.set_page_size(1)
    commits = api.list_repo_commits("org/tiny")
    assert [c.title for c in commits] == ["second", "first"]
    assert commits[1].created_at.isoformat() == "2025-01-02T03:04:05+00:00"
    assert [c.title for c in api.list_repo_commits("org/tiny", revision="v1")] == ["first"]


def test_list_models_by_author_and_search(qwen_hub: HubServer) -> None:
    api = HfApi(endpoint=qwen_hub.url)
    assert sorted(m.id for m in api.list_models(author="Comfy-Org")) == [EDIT, BASE]
    assert [m.id for m in api.list_models(search="lightning")] == [LIGHTNING]
    qwen_hub.set_page_size(1)
    assert len(list(api.list_models(search="qwen-image"))) == 3
    assert len(list(api.list_models(search="qwen-image", limit=2))) == 2


def test_agent_harnesses_is_404(hub_server: HubServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{hub_server.url}/api/agent-harnesses")
    assert err.value.code == 404


def test_file_exists(qwen_hub: HubServer) -> None:
    api = HfApi(endpoint=qwen_hub.url)
    assert api.file_exists(LIGHTNING, LORA_4STEP)
    assert not api.file_exists(LIGHTNING, "missing.safetensors")
    assert not api.file_exists("nobody/nothing", "x")
    assert not api.file_exists(LIGHTNING, LORA_4STEP, revision="no-such-branch")


def test_get_hf_file_metadata(qwen_hub: HubServer) -> None:
    url = hf_hub_url(LIGHTNING, LORA_4STEP, endpoint=qwen_hub.url)
    meta = get_hf_file_metadata(url)
    assert meta.commit_hash == qwen_hub.head(LIGHTNING)
    assert meta.etag == "2a32ce938ec71db2b49a817b4844ae86995569518dea56ee0ddc209cbe8e1377"
    assert meta.size == 849_601_472
    assert qwen_hub.stats.bytes_served == 0  # HEAD only
    readme = get_hf_file_metadata(hf_hub_url(LIGHTNING, "README.md", endpoint=qwen_hub.url))
    assert readme.etag == qwen_hub.blob(LIGHTNING, "README.md").oid  # git blob sha1
