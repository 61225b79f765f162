"""Remote header reads against the loopback Hub: served byte counts, forged files, LoRAs."""

from __future__ import annotations

import base64
import struct
from pathlib import Path

import pytest

from imagebuilder import errors
from imagebuilder.hub.client import Hub
from imagebuilder.weights.compat import Compatibility, check_lora, compare_models
from imagebuilder.weights.inspection import Precision, summarize
from imagebuilder.weights.remote import (
    FIRST_READ,
    fetch_header,
    read_local_header,
    verify_local_file,
)

EDIT = "Comfy-Org/Qwen-Image-Edit_ComfyUI"
DM_2509 = "split_files/diffusion_models/qwen_image_edit_2509_fp8_e4m3fn.safetensors"
DM_2509_BF16 = "split_files/diffusion_models/qwen_image_edit_2509_bf16.safetensors"
LIGHTNING = "lightx2v/Qwen-Image-Lightning"
LORA_2509 = "Qwen-Image-Edit-2509/Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors"


def _fetch(hub: Hub, repo: str, path: str, **kwargs: int):  # type: ignore[no-untyped-def]
    remote = hub.snapshot(repo, "main").files[path]
    return fetch_header(hub, remote.repo, path, remote.commit, remote.size, **kwargs)


def test_multi_gb_file_costs_one_first_read(qwen_hub) -> None:  # type: ignore[no-untyped-def]
    hub = Hub(endpoint=qwen_hub.url)
    remote = hub.snapshot(EDIT, "main").files[DM_2509]
    assert remote.size > 20_000_000_000
    qwen_hub.stats.reset()
    header = fetch_header(hub, EDIT, DM_2509, remote.commit, remote.size)
    assert header.data_start < FIRST_READ
    assert qwen_hub.stats.bytes_served <= FIRST_READ  # header + at most one first-read block
    assert len(qwen_hub.stats.matching(route="resolve")) == 1
    summary = summarize(header)
    assert summary.file_size == remote.size
    assert summary.precision is Precision.FP8_E4M3 and not summary.fp8_scaled
    arch = summary.architecture
    assert (arch.family, arch.layers, arch.hidden_size, arch.in_channels) == (
        "qwen_image",
        60,
        3072,
        64,
    )
    assert 20.0e9 < summary.parameter_count < 20.6e9


def test_long_header_costs_exactly_one_more_read(qwen_hub) -> None:  # type: ignore[no-untyped-def]
    hub = Hub(endpoint=qwen_hub.url)
    remote = hub.snapshot(EDIT, "main").files[DM_2509]
    qwen_hub.stats.reset()
    header = fetch_header(hub, EDIT, DM_2509, remote.commit, remote.size, first_read=4096)
    assert len(qwen_hub.stats.matching(route="resolve")) == 2
    assert qwen_hub.stats.bytes_served == header.data_start  # the header, nothing more


def test_lightning_lora_applies_to_the_2509_base(qwen_hub) -> None:  # type: ignore[no-untyped-def]
    hub = Hub(endpoint=qwen_hub.url)
    lora = _fetch(hub, LIGHTNING, LORA_2509)
    base = _fetch(hub, EDIT, DM_2509)
    info = summarize(lora).lora
    assert info is not None and info.ranks == (64,) and info.alphas == (64.0,)
    assert info.targets == 60 * 12 and "attn.to_q" in info.target_modules
    check = check_lora(lora, base)
    assert check.applies and check.matched == 720
    assert check.warnings and "grid artifacts" in check.warnings[0]  # plain FP8 base
    assert compare_models(base, _fetch(hub, EDIT, DM_2509_BF16)).verdict is Compatibility.DROP_IN


def _bad_repo(qwen_or_empty, files: dict[str, bytes]) -> Hub:  # type: ignore[no-untyped-def]
    qwen_or_empty.add_repo(
        {
            "id": "evil/forged",
            "commits": [
                {
                    "date": "2025-01-01T00:00:00.000Z",
                    "title": "forged",
                    "files": {
                        name: {"bytes_b64": base64.b64encode(data).decode()}
                        for name, data in files.items()
                    },
                }
            ],
        }
    )
    return Hub(endpoint=qwen_or_empty.url)


def test_forged_length_never_triggers_a_big_read(hub_server) -> None:  # type: ignore[no-untyped-def]
    forged = struct.pack("<Q", 90_000_000) + b'{"a":1}' + bytes(5000)
    hub = _bad_repo(hub_server, {"past_eof.safetensors": forged})
    hub_server.stats.reset()
    with pytest.raises(errors.HeaderPastEof):
        _fetch(hub, "evil/forged", "past_eof.safetensors")
    assert hub_server.stats.bytes_served == len(forged)


def test_local_reads_and_sha256(tmp_path: Path, qwen_small_hub) -> None:  # type: ignore[no-untyped-def]
    hub = Hub(endpoint=qwen_small_hub.url)
    remote = hub.snapshot(LIGHTNING, "main").files[LORA_2509]
    with hub.stream(LIGHTNING, LORA_2509, remote.commit) as response:
        data = response.read()
    path = tmp_path / "lora.safetensors"
    path.write_bytes(data)
    header = read_local_header(path)
    assert header.file_size == remote.size
    assert remote.sha256 is not None
    verify_local_file(path, sha256=remote.sha256, size=remote.size)
    with pytest.raises(errors.ChecksumMismatch):
        verify_local_file(path, sha256="0" * 64)
    with pytest.raises(errors.FileSizeMismatch):
        verify_local_file(path, sha256=remote.sha256, size=remote.size + 1)
