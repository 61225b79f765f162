"""The GPU machine as the benchmark sees it: what it is, its page cache, its images."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image


def png_pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> int:
    if a.shape != b.shape:
        return -1
    return int(np.abs(a - b).max())


def gpu_total_gib() -> float:
    import torch

    return torch.cuda.get_device_properties(0).total_memory / 2**30


def drop_page_cache(models: Path) -> dict[str, Any]:
    """Evict the model files from the page cache: per file, then system-wide if allowed."""
    os.sync()
    evicted = []
    for path in models.rglob("*.safetensors"):
        with path.open("rb") as handle:
            os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        evicted.append(path.name)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        system_wide = True
    except OSError as error:
        system_wide = f"refused: {error}"
    return {"fadvise_dontneed": evicted, "drop_caches": system_wide}


def environment(comfyui: Path) -> dict[str, Any]:
    import torch

    def run(*command: str) -> str:
        try:
            return subprocess.run(
                command, capture_output=True, text=True, check=True, cwd=comfyui
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    commit_file = comfyui / "COMMIT"
    return {
        "comfyui_commit": commit_file.read_text().strip()
        if commit_file.exists()
        else run("git", "rev-parse", "HEAD"),
        "gpu": torch.cuda.get_device_name(0),
        "gpu_memory_bytes": torch.cuda.get_device_properties(0).total_memory,
        "driver": run("nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": sys.version.split()[0],
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpu_count": os.cpu_count(),
    }
