"""What a model layer costs a fresh host after the download: decompress, verify, unpack,
and (for a file split over GHCR's 10 GB layer limit) the join at container start.

Weights are near-incompressible, so the layer's compression decides how much CPU a pull
spends per byte: the daemon inflates each layer on one core while it downloads (and
3 layers at a time), then sha256-verifies and unpacks it. This measures, on this machine,
one core's throughput for each step on random bytes (what FP8/bf16 weights look like to
a compressor): gzip (Docker's default, level 6 and 1) and zstd (level 3) decompression
through the system tools, sha256, unpacking an uncompressed tar layer, and joining two
parts with the entrypoint's join (reflink where the filesystem can, else
copy_file_range) against `cat`. docs/cold-start.md turns the figures into pull times for
the shipped stack's layers. Prints JSON; writes it to benchmarks/results/.

Run: uv run python benchmarks/bench_pull.py [--mib 512]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from imagebuilder.startup.joinparts import join_file
from imagebuilder.startup.settings import JoinFile

RESULTS = Path(__file__).parent / "results"


def timed(command: str, cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, shell=True, check=True, cwd=cwd)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=512, help="size of the test file")
    args = parser.parse_args()
    size = args.mib << 20
    gb = size / 1e9
    result: dict[str, object] = {"bytes": size, "cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        data = work / "weights.bin"
        with data.open("wb") as out:
            for _ in range(args.mib):
                out.write(os.urandom(1 << 20))
        started = time.perf_counter()
        digest = hashlib.sha256()
        with data.open("rb") as handle:
            while chunk := handle.read(16 << 20):
                digest.update(chunk)
        result["sha256_gb_per_s"] = round(gb / (time.perf_counter() - started), 3)
        speeds: dict[str, dict[str, float]] = {}
        for name, pack, unpack, packed in (
            ("gzip-6", "gzip -6 -k -c weights.bin > w.gz", "gzip -d -c w.gz > /dev/null", "w.gz"),
            ("gzip-1", "gzip -1 -k -c weights.bin > w1.gz", "gzip -d -c w1.gz > /dev/null",
             "w1.gz"),
            ("zstd-3", "zstd -q -3 -f weights.bin -o w.zst", "zstd -q -d -c w.zst > /dev/null",
             "w.zst"),
        ):  # fmt: skip
            if shutil.which(name.split("-")[0]) is None:
                continue
            compress = timed(pack, work)
            decompress = timed(unpack, work)
            speeds[name] = {
                "compress_gb_per_s": round(gb / compress, 3),
                "decompress_gb_per_s": round(gb / decompress, 3),
                "size_ratio": round((work / packed).stat().st_size / size, 4),
            }
            (work / packed).unlink()
        result["compression"] = speeds
        layer = io.BytesIO()
        with tarfile.open(fileobj=layer, mode="w") as tar:
            tar.add(data, arcname="comfyui/models/x.safetensors")
        (work / "layer.tar").write_bytes(layer.getvalue())
        del layer
        target = work / "unpacked"
        started = time.perf_counter()
        with tarfile.open(work / "layer.tar") as tar:
            tar.extractall(target, filter="data")
        os.sync()
        result["untar_gb_per_s_with_sync"] = round(gb / (time.perf_counter() - started), 3)
        shutil.rmtree(target)
        (work / "layer.tar").unlink()
        half = size // 2 >> 20 << 20
        parts = [work / "000", work / "001"]
        with data.open("rb") as source:
            parts[0].write_bytes(source.read(half))
            parts[1].write_bytes(source.read())
        os.sync()
        started = time.perf_counter()
        method = join_file(JoinFile(str(work / "joined"), tuple(map(str, parts)), size))
        os.sync()
        joined = time.perf_counter() - started
        started = time.perf_counter()
        timed("cat 000 001 > catted && sync", work)
        result["join"] = {
            "method": method,
            "join_gb_per_s_with_sync": round(gb / joined, 3),
            "cat_gb_per_s_with_sync": round(gb / (time.perf_counter() - started), 3),
        }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pull.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
