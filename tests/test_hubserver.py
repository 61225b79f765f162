"""The real huggingface_hub client, unchanged, against the loopback Hub (tests/hubserver)."""

from __future__ import annotations

import hashlib
import json
import struct
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_download, hf_hub_url
from huggingface_hub.errors import (
    GatedRepoError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import RepoFile

from hubserver import GATED_TOKEN, HubServer, VirtualSafetensors
from hubserver._safetensors import tensor_spec
from hubserver.content import load_tensors, real_safetensors
from hubserver.qwen import generate, transformer_linears

EDIT = "Comfy-Org/Qwen-Image-Edit_ComfyUI"
BASE = "Comfy-Org/Qwen-Image_ComfyUI"
LIGHTNING = "lightx2v/Qwen-Image-Lightning"
DIFFUSION_2509 = "split_files/diffusion_models/qwen_image_edit_2509_fp8_e4m3fn.safetensors"
TEXT_ENCODER = "split_files/text_encoders/qwen_2.5_vl_7b_fp8_scaled.safetensors"
LORA_4STEP = "Qwen-Image-Edit-2509/Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors"

TINY = {
    "repos": [
        {
            "id": "org/tiny",
            "aliases": ["org/tiny-old"],
            "commits": [
                {
                    "date": "2025-01-02T03:04:05.000Z",
                    "title": "first",
                    "files": {"a.txt": {"text": "one"}, "d/e/b.bin": {"raw": {"size": 3000}}},
                },
                {"title": "second", "files": {"a.txt": {"text": "two"}, "c.txt": {"text": "c"}}},
            ],
            "tags": {"v1": 0},
        },
        {
            "id": "gate/keeper",
            "gated": True,
            "commits": [{"title": "init", "files": {"w.bin": {"raw": {"size": 2048, "seed": 5}}}}],
        },
    ]
}


@pytest.fixture
def tiny(load_scenario: Callable[..., HubServer]) -> HubServer:
    return load_scenario(TINY)


@pytest.fixture(autouse=True)
def _isolated_hf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HUBSERVER_CACHE_DIR", str(tmp_path / "hubcache"))


# --- metadata routes -----------------------------------------------------------------


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


# --- files -----------------------------------------------------------------------------


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


def test_hf_hub_download_small_file(qwen_small_hub: HubServer, tmp_path: Path) -> None:
    path = hf_hub_download(
        LIGHTNING, LORA_4STEP, endpoint=qwen_small_hub.url, cache_dir=tmp_path / "cache"
    )
    data = Path(path).read_bytes()
    blob = qwen_small_hub.blob(LIGHTNING, LORA_4STEP)
    assert hashlib.sha256(data).hexdigest() == blob.sha256
    assert qwen_small_hub.stats.bytes_served == len(data)
    tensors = load_tensors(data)
    assert tensors["transformer_blocks.0.attn.to_q.lora_down.weight"].shape == (4, 64)
    assert float(tensors["transformer_blocks.0.attn.to_q.alpha"]) == 4.0


def test_safetensors_header_of_virtual_20gb_file(qwen_hub: HubServer) -> None:
    api = HfApi(endpoint=qwen_hub.url)
    meta = api.parse_safetensors_file_metadata(EDIT, DIFFUSION_2509)
    assert meta.tensors["txt_norm.weight"].shape == [3584]
    assert meta.tensors["proj_out.weight"].shape == [64, 3072]
    assert str(meta.tensors["transformer_blocks.59.attn.to_q.weight"].dtype) == "F8_E4M3"
    assert 20.3e9 < sum(meta.parameter_count.values()) < 20.5e9
    header = qwen_hub.blob(EDIT, DIFFUSION_2509).content
    assert isinstance(header, VirtualSafetensors)
    # Two ranged GETs: the first 100,001 bytes, then the rest of a ~223 kB header.
    assert qwen_hub.stats.bytes_served == 100_001 + len(header.layout.header) - 8
    assert [r.status for r in qwen_hub.stats.matching("resolve")] == [206, 206]


def test_virtual_header_is_byte_identical_to_library(tmp_path: Path) -> None:
    tensors, metadata = generate("qwen_image_transformer", {"layers": 1, "hidden": 16})
    tensors["alpha"] = tensor_spec({"dtype": "F32", "shape": [], "value": 2.5})
    virtual = VirtualSafetensors(tensors, metadata, seed=3)
    real = real_safetensors(tensors, metadata, seed=3).data
    n = struct.unpack("<Q", real[:8])[0]
    assert virtual.read(0, 8 + n) == real[: 8 + n]
    assert virtual.size == len(real)
    assert load_tensors(virtual.read())["alpha"] == np.float32(2.5)


def test_virtual_content_is_deterministic_and_hash_cached(tmp_path: Path) -> None:
    tensors = {"w": tensor_spec({"dtype": "BF16", "shape": [1024, 1100]})}
    a = VirtualSafetensors(tensors, {}, seed=9)
    whole = a.read()
    for start, end in [(0, 10), (1 << 20, (1 << 20) + 5), ((1 << 20) - 3, (1 << 20) + 3)]:
        assert a.read(start, end) == whole[start:end]
    assert a.sha256() == hashlib.sha256(whole).hexdigest()
    assert list((tmp_path / "hubcache").glob("*.sha256"))  # cached for the next run
    assert VirtualSafetensors(tensors, {}, seed=9).sha256() == a.sha256()


def test_ranges(tiny: HubServer) -> None:
    url = hf_hub_url("org/tiny", "d/e/b.bin", endpoint=tiny.url)
    data = tiny.blob("org/tiny", "d/e/b.bin").content.read()

    def get(range_header: str) -> tuple[int, bytes, str | None]:
        req = urllib.request.Request(url, headers={"Range": range_header})
        with urllib.request.urlopen(req) as resp:
            return resp.status, resp.read(), resp.headers.get("Content-Range")

    assert get("bytes=10-19") == (206, data[10:20], "bytes 10-19/3000")
    assert get("bytes=-5") == (206, data[-5:], "bytes 2995-2999/3000")
    assert get("bytes=2990-") == (206, data[2990:], "bytes 2990-2999/3000")
    with pytest.raises(urllib.error.HTTPError) as err:
        get("bytes=3000-")
    assert err.value.code == 416
    assert err.value.headers["Content-Range"] == "bytes */3000"


def test_lying_lfs_metadata(hub_server: HubServer) -> None:
    lie = "0" * 64
    hub_server.add_repo(
        {
            "id": "o/liar",
            "commits": [{"files": {"x.bin": {"raw": {"size": 100}, "lfs": {"sha256": lie}}}}],
        }
    )
    meta = get_hf_file_metadata(hf_hub_url("o/liar", "x.bin", endpoint=hub_server.url))
    assert meta.etag == lie
    assert hashlib.sha256(hub_server.blob("o/liar", "x.bin").content.read()).hexdigest() != lie


# --- errors, redirects, access -----------------------------------------------------------


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


# --- mutations and scenarios -------------------------------------------------------------


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


def test_generators_match_real_sizes_and_lora_fits_base() -> None:
    base, _ = generate("qwen_image_transformer")
    lora, _ = generate("lightning_lora")
    for suffix, (rows, cols) in transformer_linears().items():
        weight = base[f"transformer_blocks.7.{suffix}.weight"]
        assert weight.shape == (rows, cols)
        assert lora[f"transformer_blocks.7.{suffix}.lora_down.weight"].shape == (64, cols)
        assert lora[f"transformer_blocks.7.{suffix}.lora_up.weight"].shape == (rows, 64)
    assert abs(VirtualSafetensors(lora, {}, 0).size - 849_608_296) < 100_000
    scaled, _ = generate("qwen_image_transformer", {"scaled": True, "edit_2511": True})
    assert "scaled_fp8" in scaled and "__index_timestep_zero__" in scaled
    assert scaled["img_in.scale_weight"].dtype == "F32"
    kohya, _ = generate("lightning_lora", {"layers": 1, "convention": "kohya"})
    assert "lora_unet_transformer_blocks_0_attn_to_q.lora_up.weight" in kohya


def test_real_safetensors_from_scenario_loads(qwen_small_hub: HubServer) -> None:
    blob = qwen_small_hub.blob(EDIT, DIFFUSION_2509)
    tensors = load_tensors(blob.content.read())
    assert tensors["txt_norm.weight"].shape == (3584,)
    assert str(tensors["img_in.weight"].dtype) == "float8_e4m3fn"
    assert str(tensors["img_in.bias"].dtype) == "bfloat16"


def test_cli_entry_point_serves_a_scenario() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.hubserver", "--scenario", "qwen_small"],
        cwd=Path(__file__).resolve().parent.parent,
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
