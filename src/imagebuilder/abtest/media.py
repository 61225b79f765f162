"""Video outputs as files: format, size in bytes, frame count, frame size.

A video workflow (Wan, Hunyuan, LTX) saves an MP4 (SaveVideo), a WebM or an animated
WebP/PNG. `test` reports each as a file with its facts rather than scoring pixels.
The bytes are hostile input: MP4 is read as ISO BMFF boxes with bounds checked at every
step and a bounded depth (the frame count is the video track's ``stsz`` sample count);
animated images are opened by Pillow, which reads frame headers lazily.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".mkv", ".webp", ".gif", ".png")
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"}
_MAX_DEPTH = 8
_MAX_BOXES = 100_000


@dataclass(frozen=True)
class VideoFile:
    name: str
    format: str  # mp4, webp, gif, png, webm, unknown
    bytes: int
    frames: int | None  # None: the container does not say (or could not be read)
    width: int | None = None
    height: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in data[start:end]."""
    found: list[tuple[bytes, int, int]] = []
    at = start
    while at + 8 <= end and len(found) < _MAX_BOXES:
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        header = 8
        if size == 1 and at + 16 <= end:
            size, header = struct.unpack(">Q", data[at + 8 : at + 16])[0], 16
        elif size == 0:
            size = end - at
        if size < header or at + size > end:
            break  # truncated or lying: stop, never read past the buffer
        found.append((kind, at + header, at + size))
        at += size
    return found


def _mp4_tracks(data: bytes) -> list[dict[bytes, tuple[int, int]]]:
    """Per track: the leaf boxes it holds (hdlr, stsz, tkhd) as payload ranges."""
    tracks: list[dict[bytes, tuple[int, int]]] = []

    def walk(start: int, end: int, depth: int, track: dict[bytes, tuple[int, int]] | None) -> None:
        if depth > _MAX_DEPTH:
            return
        for kind, body, stop in _boxes(data, start, end):
            if kind == b"trak":
                track = {}
                tracks.append(track)
            if kind in _CONTAINERS:
                walk(body, stop, depth + 1, track)
            elif track is not None and kind in (b"hdlr", b"stsz", b"tkhd"):
                track[kind] = (body, stop)

    walk(0, len(data), 0, None)
    return tracks


def _mp4(name: str, data: bytes) -> VideoFile:
    for track in _mp4_tracks(data):
        hdlr, stsz = track.get(b"hdlr"), track.get(b"stsz")
        if hdlr is None or data[hdlr[0] + 8 : hdlr[0] + 12] != b"vide" or stsz is None:
            continue
        frames = None
        if stsz[1] - stsz[0] >= 12:
            frames = struct.unpack(">I", data[stsz[0] + 8 : stsz[0] + 12])[0]
        width = height = None
        tkhd = track.get(b"tkhd")
        if tkhd is not None and tkhd[1] - tkhd[0] >= 8:
            width, height = (v >> 16 for v in struct.unpack(">II", data[tkhd[1] - 8 : tkhd[1]]))
        return VideoFile(name, "mp4", len(data), frames, width, height)
    return VideoFile(name, "mp4", len(data), None)


def _animated(name: str, data: bytes, fmt: str) -> VideoFile:
    try:
        with Image.open(io.BytesIO(data)) as image:
            frames = int(getattr(image, "n_frames", 1))
            return VideoFile(name, fmt, len(data), frames, image.width, image.height)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return VideoFile(name, fmt, len(data), None)


def video_facts(name: str, data: bytes) -> VideoFile:
    """What a video output is, from its bytes (the name's suffix only breaks ties)."""
    if data[4:8] == b"ftyp":
        return _mp4(name, data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _animated(name, data, "webp")
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return _animated(name, data, "gif")
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return _animated(name, data, "png")
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return VideoFile(name, "webm", len(data), None)  # Matroska: frames not counted
    return VideoFile(name, "unknown", len(data), None)


def is_video_ref(ref: dict[str, Any], node_output: dict[str, Any]) -> bool:
    """ComfyUI marks animated outputs ("animated": [true]) and names video files so."""
    animated = node_output.get("animated")
    if isinstance(animated, list) and any(value is True for value in animated):
        return True
    filename = str(ref.get("filename", "")).lower()
    return filename.endswith(VIDEO_SUFFIXES[:4])
