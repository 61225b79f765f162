"""Run the rendered workflows in real ComfyUI and record what every part of a job costs.

    python3 bench.py --comfyui PATH --rendered DIR --base DIR --out raw.json --plan NAME

DIR holds the rendered workflows: DIR/new (the shipped graphs) and, optionally, DIR/old
(an earlier version of the same graphs, compared pixel for pixel). --base is ComfyUI's
base directory: models/ must already hold the weights (synth_weights.py). Plans:

  main    server start, first job (page cache warm), warm jobs of every graph at each
          step count, old vs new pixel comparison, /object_info, then a restart with the
          page cache dropped (cold first job), then --fast fp8_matrix_mult.
  variants  the pinned stack and each alternative of plans.VARIANTS (the scaled-FP8
          copy of the diffusion model, with and without the LoRA node), one server each:
          first job, then warm jobs of every graph at each step count.
  cold    a fresh worker's first image, today's start path and the image's own, page
          cache warm and dropped, per phase; bytecode, flags, split-file join
          (plan_cold.py).
  memory  ComfyUI limited to 24 GB and 48 GB (--reserve-vram plus a hard PyTorch cap),
          and the scaled-FP8 variant (weight_dtype fp8_e4m3fn_fast) if its file exists.

The raw file lists every job with its timings; summarize.py turns raw files into the
one measurement file `imagebuilder cost --measurements` reads.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from host import environment
from plan_cold import ColdStart
from plans import Bench


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--comfyui", type=Path, required=True)
    parser.add_argument("--rendered", type=Path, required=True)
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--logs", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="raw JSON written here")
    parser.add_argument("--plan", choices=["main", "memory", "variants", "cold"], required=True)
    parser.add_argument("--rounds", type=int, default=3, help="warm jobs per graph and step count")
    parser.add_argument(
        "--parts",
        default="bytecode,flags,today_warm,new_warm,today_dropped,new_dropped,join",
        help="plan cold: which parts (also new_dropped_with_libraries)",
    )
    parser.add_argument("--flags", default="", help="plan cold without flags: the new path's")
    parser.add_argument("--budget", type=float, default=480.0, help="seconds (plan cold)")
    parser.add_argument("--limits", default="24,48", help="GB ComfyUI may use (plan memory)")
    args = parser.parse_args()
    args.logs.mkdir(parents=True, exist_ok=True)
    bench = ColdStart(args) if args.plan == "cold" else Bench(args)
    bench.record["environment"] = environment(args.comfyui)
    bench.record["plan"] = args.plan
    try:
        if isinstance(bench, ColdStart):
            bench.plan_cold()
        elif args.plan == "main":
            bench.plan_main(args.rounds)
        elif args.plan == "variants":
            bench.plan_variants(args.rounds)
        else:
            bench.plan_memory(args.rounds, [float(x) for x in args.limits.split(",")])
    finally:
        args.out.write_text(json.dumps(bench.record, indent=1))
        print(f"raw results: {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
