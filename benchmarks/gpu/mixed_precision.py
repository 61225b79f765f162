"""What an older ComfyUI does with a mixed-precision file: a measurement, not a guess.

Writes three two-block slices of the Qwen-Image transformer (keys, shapes and dtypes from
ComfyUI's own class, random FP8 weights) and loads each through ComfyUI's own
``comfy.sd.load_diffusion_model``:

- ``plain``: the FP8 weights, nothing else;
- ``mixed``: the same FP8 weights plus what a mixed-precision file carries for every
  FP8 Linear: ``.weight_scale`` = SCALE (float32) and ``.comfy_quant`` (the JSON
  ``{"format": "float8_e4m3fn"}`` as U8 bytes), and the 2511 marker
  ``__index_timestep_zero__``; honoured, each Linear computes ``x @ (SCALE * W).T``;
- ``scaled_reference``: the correctly scaled weights (SCALE * W) stored in bf16: what
  honouring the scales would compute.

It records the log lines of each load, the operations class a Linear got, one Linear's
output and the whole slice's output for the same inputs, and the differences: ``mixed``
against ``plain`` (0 = the scales were ignored) and against ``scaled_reference``.

    python3 mixed_precision.py --comfyui PATH --work DIR --out results.json
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import re
import sys
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

FP8 = torch.float8_e4m3fn
BF16 = torch.bfloat16
SCALE = 4.0
BLOCKS = 2
PROBE = "transformer_blocks.0.attn.to_q"


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname}: {record.getMessage()}"[:4000])


def slice_tensors(seed: int) -> tuple[dict[str, torch.Tensor], set[str]]:
    """The plain FP8 slice, and the names of its FP8 Linear weights."""
    import comfy.ldm.qwen_image.model
    import comfy.ops

    model = comfy.ldm.qwen_image.model.QwenImageTransformer2DModel(
        num_layers=BLOCKS, dtype=BF16, device="meta", operations=comfy.ops.disable_weight_init
    )
    linears = {
        f"{name}.weight" for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)
    }
    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    for key, meta in model.state_dict().items():
        value = torch.randn(tuple(meta.shape), generator=generator) * 0.02
        tensors[key] = value.to(FP8) if key in linears else value.to(BF16)
    return tensors, linears


def write_files(work: Path) -> tuple[dict[str, Path], int]:
    plain, linears = slice_tensors(seed=18)
    quant = torch.tensor(list(json.dumps({"format": "float8_e4m3fn"}).encode()), dtype=torch.uint8)
    mixed = dict(plain)
    for key in linears:
        layer = key.removesuffix(".weight")
        mixed[f"{layer}.weight_scale"] = torch.tensor(SCALE, dtype=torch.float32)
        mixed[f"{layer}.comfy_quant"] = quant.clone()
    mixed["__index_timestep_zero__"] = torch.empty(0, dtype=BF16)
    reference = {
        k: (v.to(torch.float32) * SCALE).to(BF16) if k in linears else v for k, v in plain.items()
    }
    paths = {}
    for name, tensors in (("plain", plain), ("mixed", mixed), ("scaled_reference", reference)):
        paths[name] = work / f"qwen_slice_{name}.safetensors"
        save_file(tensors, str(paths[name]))
    return paths, len(linears)


def module(root: torch.nn.Module, dotted: str) -> torch.nn.Module:
    for part in dotted.split("."):
        root = getattr(root, part)
    return root


def load_and_run(path: Path, inputs: dict[str, torch.Tensor]) -> dict[str, Any]:
    import comfy.model_management
    import comfy.sd

    handler = Captured()
    logging.getLogger().addHandler(handler)
    try:
        started = time.perf_counter()
        patcher = comfy.sd.load_diffusion_model(str(path))
        comfy.model_management.load_models_gpu([patcher])
        load_s = time.perf_counter() - started
    finally:
        logging.getLogger().removeHandler(handler)
    net = patcher.model.diffusion_model
    probe = module(net, PROBE)
    device = comfy.model_management.get_torch_device()
    result: dict[str, Any] = {
        "file": path.name,
        "bytes": path.stat().st_size,
        "load_seconds": round(load_s, 3),
        "log": handler.lines,
        "probe_class": f"{type(probe).__module__}.{type(probe).__qualname__}",
        "probe_weight_dtype": str(probe.weight.dtype),
        "manual_cast_dtype": str(getattr(patcher.model, "manual_cast_dtype", None)),
        "model_class": type(patcher.model).__name__,
    }
    with torch.no_grad():
        x = inputs["linear_x"].to(device)
        result["_linear"] = probe(x).float().cpu()
        try:
            out = net(
                inputs["latent"].to(device), inputs["timestep"].to(device),
                inputs["context"].to(device),
            )  # fmt: skip
            result["_slice"] = out.float().cpu()
        except Exception as error:  # recorded: the Linear's numbers still tell
            result["slice_error"] = f"{type(error).__name__}: {error}"[:2000]
    del patcher
    comfy.model_management.unload_all_models()
    comfy.model_management.soft_empty_cache()
    return result


def difference(a: torch.Tensor, b: torch.Tensor) -> dict[str, float]:
    return {
        "max_abs": float((a - b).abs().max()),
        "norm_ratio": float(a.norm() / b.norm()) if float(b.norm()) else float("nan"),
        "relative_l2": float((a - b).norm() / b.norm()) if float(b.norm()) else float("nan"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comfyui", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    sys.path.insert(0, str(args.comfyui.resolve()))
    sys.argv = [sys.argv[0]]  # ComfyUI parses its own command line at import
    import comfy.model_management  # noqa: F401 - initialises the device

    args.work.mkdir(parents=True, exist_ok=True)
    paths, fp8_linears = write_files(args.work)
    generator = torch.Generator().manual_seed(7)
    inputs = {
        "linear_x": (torch.randn(4, 3072, generator=generator)).to(BF16),
        "latent": torch.randn(1, 16, 1, 32, 32, generator=generator).to(BF16),  # b c t h w
        "timestep": torch.tensor([0.5]),
        "context": torch.randn(1, 16, 3584, generator=generator).to(BF16),
    }
    runs = {name: load_and_run(path, inputs) for name, path in paths.items()}
    comparisons: dict[str, Any] = {}
    for output in ("_linear", "_slice"):
        if all(output in run for run in runs.values()):
            key = output.strip("_")
            comparisons[key] = {
                "mixed_vs_plain": difference(runs["mixed"][output], runs["plain"][output]),
                "mixed_vs_scaled_reference": difference(
                    runs["mixed"][output], runs["scaled_reference"][output]
                ),
                "scaled_reference_vs_plain": difference(
                    runs["scaled_reference"][output], runs["plain"][output]
                ),
            }
    commit_file = args.comfyui / "COMMIT"
    version_file = (args.comfyui / "comfyui_version.py").read_text()
    version = re.search(r'__version__ = "([^"]+)"', version_file)
    record = {
        "what": "a mixed-precision file (weight_scale + comfy_quant) loaded by this ComfyUI",
        "comfyui_version": version.group(1) if version else None,
        "comfyui_commit": commit_file.read_text().strip() if commit_file.exists() else None,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "scale": SCALE,
        "blocks": BLOCKS,
        "fp8_linears": fp8_linears,
        "probe": PROBE,
        "runs": {
            name: {k: v for k, v in run.items() if not k.startswith("_")}
            for name, run in runs.items()
        },
        "comparisons": comparisons,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(comparisons, indent=2))
    for name, run in record["runs"].items():
        print(name, run["probe_class"], [line[:300] for line in run["log"] if "unexpected" in line])
    return 0


if __name__ == "__main__":
    sys.exit(main())
