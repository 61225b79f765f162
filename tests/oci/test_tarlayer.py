"""Tar layers streamed from their sources: fixed metadata, known sizes, clean paths."""

from __future__ import annotations

import io
import tarfile

import pytest

from imagebuilder.oci.tarlayer import (
    LayerEntry,
    layer_path,
    layout_for,
    small_layer,
    stream_layer,
)

GIB = 1 << 30


def layer_bytes(files: dict[str, bytes]) -> bytes:
    layout = layout_for(LayerEntry(path, len(data)) for path, data in files.items())
    return b"".join(stream_layer(layout, ([files[e.path]] for e in layout.entries)))


def test_layer_is_a_valid_tar_with_fixed_metadata_and_parents_first() -> None:
    data = layer_bytes({"comfyui/models/vae/v.safetensors": b"abc" * 1000})
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == [
            "comfyui", "comfyui/models", "comfyui/models/vae", "comfyui/models/vae/v.safetensors",
        ]  # fmt: skip
        assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 for m in members)
        assert [m.mode for m in members] == [0o755, 0o755, 0o755, 0o644]
        extracted = tar.extractfile(members[-1])
        assert extracted is not None and extracted.read() == b"abc" * 1000


def test_layer_bytes_are_deterministic_and_size_is_known_in_advance() -> None:
    files = {"a/b.safetensors": b"x" * 1234, "a/c.safetensors": b"y" * 512}
    layout = layout_for(LayerEntry(p, len(d)) for p, d in files.items())
    first, second = layer_bytes(files), layer_bytes(dict(reversed(files.items())))
    assert first == second and len(first) == layout.total_size


def test_file_over_8_gib_gets_a_pax_size_record() -> None:
    layout = layout_for([LayerEntry("comfyui/models/unet/big.safetensors", 20 * GIB)])
    header = layout.file_header(layout.entries[0])
    assert f"size={20 * GIB}".encode() in header
    assert layout.total_size > 20 * GIB


def test_stream_refuses_a_source_with_the_wrong_length() -> None:
    layout = layout_for([LayerEntry("a/f", 10)])
    with pytest.raises(ValueError, match="announced"):
        b"".join(stream_layer(layout, [[b"short"]]))
    with pytest.raises(ValueError, match="more bytes"):
        b"".join(stream_layer(layout, [[b"x" * 11]]))


def test_layer_paths_must_be_clean() -> None:
    assert layer_path("/comfyui/models/vae/x.safetensors") == "comfyui/models/vae/x.safetensors"
    with pytest.raises(ValueError):
        layer_path("/comfyui/../etc/passwd")


def test_small_layer_matches_streamed_layer() -> None:
    files = {"imagebuilder/models.lock.json": b"{}", "comfyui/user/w.json": b"[]"}
    assert small_layer(files) == layer_bytes(files)
