"""The real huggingface_hub client against the loopback Hub: downloads, ranges, weights."""

from __future__ import annotations

import hashlib
import struct
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_download, hf_hub_url

from hubserver import HubServer, VirtualSafetensors
from hubserver._safetensors import tensor_spec
from hubserver.content import load_tensors, real_safetensors
from hubserver.qwen import generate, transformer_linears
from hubserver.samples import DIFFUSION_2509, EDIT, LIGHTNING, LORA_4STEP


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
