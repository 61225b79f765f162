"""Video outputs as files: frame counts from MP4 boxes and animated images, and hostile
bytes that end as 'frames unknown', never as an exception or a read past the buffer."""

from __future__ import annotations

import struct

import pytest

from comfyserver.engine import animated_webp, mp4
from imagebuilder.abtest.media import is_video_ref, video_facts


def test_mp4_frames_and_size_from_its_video_track() -> None:
    facts = video_facts("v.mp4", mp4(81, 640, 480))
    assert (facts.format, facts.frames, facts.width, facts.height) == ("mp4", 81, 640, 480)
    assert facts.bytes == len(mp4(81, 640, 480))


def test_animated_webp_frames() -> None:
    facts = video_facts("v.webp", animated_webp(5))
    assert (facts.format, facts.frames, facts.width) == ("webp", 5, 16)


@pytest.mark.parametrize(
    "data",
    [
        mp4(9)[:40],  # truncated inside moov
        struct.pack(">I4s", 0xFFFFFFF0, b"ftyp") + bytes(8),  # a box larger than the file
        struct.pack(">I4s", 16, b"ftyp") + bytes(8) + b"moov" * 3,  # garbage after ftyp
        struct.pack(">I4sQ", 1, b"ftyp", 2**63) + bytes(8),  # a 64-bit size past the end
        b"RIFF\0\0\0\0WEBPVP8X" + bytes(20),  # a WebP header with nothing behind it
    ],
)
def test_hostile_video_bytes_give_unknown_frames(data: bytes) -> None:
    facts = video_facts("x", data)
    assert facts.frames is None and facts.bytes == len(data)


def test_deeply_nested_boxes_stop_at_the_depth_limit() -> None:
    inner = struct.pack(">I4s", 8, b"mdat")
    for _ in range(200):
        inner = struct.pack(">I4s", 8 + len(inner), b"moov") + inner
    data = struct.pack(">I4s", 16, b"ftyp") + b"isom" + bytes(4) + inner
    assert video_facts("deep.mp4", data).frames is None


def test_video_refs_by_comfyui_marker_or_name() -> None:
    assert is_video_ref({"filename": "a.png"}, {"animated": [True]})
    assert is_video_ref({"filename": "clip.MP4"}, {})
    assert not is_video_ref({"filename": "a.png"}, {"animated": [False]})
