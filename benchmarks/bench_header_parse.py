"""Header-parse throughput (tensors/s) and peak memory: a realistic header and a flood.

Run: uv run python benchmarks/bench_header_parse.py
"""

from __future__ import annotations

import contextlib
import struct
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hubserver._safetensors import build_layout
from hubserver.qwen import lightning_lora, qwen_image_transformer
from imagebuilder.errors import HeaderEntryFlood
from imagebuilder.weights.header import parse_header


def measure(label: str, blob: bytes, size: int, tensors: int, repeat: int) -> None:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        with contextlib.suppress(HeaderEntryFlood):
            parse_header(blob, size, name=label)
        best = min(best, time.perf_counter() - started)
    tracemalloc.start()
    with contextlib.suppress(HeaderEntryFlood):
        parse_header(blob, size, name=label)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        f"{label:<38} header {len(blob) / 1e6:7.2f} MB  {tensors:>9,} tensors  "
        f"{best * 1e3:8.1f} ms  {tensors / best:>12,.0f} tensors/s  peak {peak / 1e6:6.1f} MB"
    )


def main() -> None:
    for label, generated in (
        ("Qwen-Image FP8 transformer (60 layers)", qwen_image_transformer()),
        ("Lightning LoRA rank 64", lightning_lora()),
    ):
        layout = build_layout(*generated)
        measure(label, layout.header, layout.size, len(generated[0]), repeat=20)
    count = 1_000_000
    tiny = '"t{}":{{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}'
    raw = ("{" + ",".join(tiny.format(i) for i in range(count)) + "}").encode()
    raw += b" " * (-len(raw) % 8)
    flood = struct.pack("<Q", len(raw)) + raw
    measure("flood: 1M tiny entries (rejected)", flood, len(flood), count, repeat=5)
    count = 100_000
    raw = ("{" + ",".join(
        f'"t{i}":{{"dtype":"U8","shape":[1],"data_offsets":[{i},{i + 1}]}}' for i in range(count)
    ) + "}").encode()  # fmt: skip
    raw += b" " * (-len(raw) % 8)
    blob = struct.pack("<Q", len(raw)) + raw
    measure("100k tensors, under the limit (parsed)", blob, len(blob) + count, count, repeat=3)


if __name__ == "__main__":
    main()
