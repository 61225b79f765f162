#!/usr/bin/env bash
# GPU benchmark of the inference core: the rendered workflows in real ComfyUI.
#
#   benchmarks/gpu/run.sh --comfyui PATH --rendered DIR --out DIR [options]
#
#   --comfyui PATH   ComfyUI source tree (GPL-3.0: kept outside this repository). A file
#                    PATH/COMMIT, or git metadata, names the commit that ran.
#   --rendered DIR   DIR/new: `imagebuilder render-workflows --out DIR/new`; optional
#                    DIR/old: the same for an earlier graph, compared pixel for pixel.
#   --out DIR        raw-<plan>.json, logs and measurements.json are written here.
#   --work DIR       ComfyUI base directory (models, input, output); default /tmp/ib-gpu.
#   --plan LIST      main, memory, variants, cold, comma-separated (default main); cold
#                    also writes cold-start.json (summarize_cold.py). See bench.py.
#   --wheels DIR     install these wheels first (packages ComfyUI needs that are missing).
#   --scaled-fp8     also write a scaled-FP8 copy of the diffusion model (plans memory and
#                    variants).
#   --weights-only   write the synthetic weights and stop.
#   --serve          write the weights, start ComfyUI headless and keep it running.
#   --gpu-label TEXT name for the results file's source line (default: the GPU's name).
#
# Needs python3 with torch (CUDA), safetensors, numpy and Pillow, and ComfyUI's own
# requirements. The weights are synthetic: random values, exact keys/shapes/dtypes.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
comfyui="" rendered="" out="" work="/tmp/ib-gpu" plan="main" wheels="" scaled=0 mode="bench"
while [ $# -gt 0 ]; do
  case "$1" in
    --comfyui) comfyui="$2"; shift 2 ;;
    --rendered) rendered="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --plan) plan="$2"; shift 2 ;;
    --wheels) wheels="$2"; shift 2 ;;
    --scaled-fp8) scaled=1; shift ;;
    --weights-only) mode="weights"; shift ;;
    --serve) mode="serve"; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for name in comfyui rendered out; do
  if [ -z "${!name}" ]; then echo "run.sh: --$name is required (see --help)" >&2; exit 2; fi
done
comfyui="$(cd "$comfyui" && pwd)"; rendered="$(cd "$rendered" && pwd)"
mkdir -p "$out" "$work/models"
out="$(cd "$out" && pwd)"
export PYTHONUNBUFFERED=1

if [ -n "$wheels" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --upgrade --target /tmp/ib-site "$wheels"/*.whl
  export PYTHONPATH="/tmp/ib-site${PYTHONPATH:+:$PYTHONPATH}"
fi
if ! python3 -c 'import av' 2>/dev/null; then
  export PYTHONPATH="$here/stubs${PYTHONPATH:+:$PYTHONPATH}"
fi

# Synthetic weights: the diffusion model in one process, the rest in another.
started=$(date +%s)
weights=(python3 "$here/synth_weights.py" --comfyui "$comfyui" --index "$rendered/new/index.json"
         --models "$work/models" --report "$out/weights.jsonl")
rm -f "$out/weights.jsonl"
"${weights[@]}" --only diffusion_model &
first=$!
extra=()
if [ "$scaled" = 1 ]; then
  extra=(--scaled-fp8 qwen_image_edit_2509_fp8_e4m3fn_scaled_synthetic.safetensors)
fi
"${weights[@]}" --only text_encoder,vae,lora "${extra[@]}"
wait "$first"
echo "synthetic weights written in $(( $(date +%s) - started )) s"

if [ "$mode" = weights ]; then exit 0; fi
if [ "$mode" = serve ]; then
  # ComfyUI lists <base>/custom_nodes at start and fails if the folder is missing.
  front="$work/empty_frontend"; mkdir -p "$front" "$work/custom_nodes" "$work/input" "$work/output"
  exec python3 "$comfyui/main.py" --listen 127.0.0.1 --base-directory "$work" \
    --front-end-root "$front" --disable-auto-launch --disable-api-nodes
fi

summaries=()
for one in ${plan//,/ }; do
  python3 "$here/bench.py" --comfyui "$comfyui" --rendered "$rendered" --base "$work" \
    --logs "$out/logs" --out "$out/raw-$one.json" --plan "$one"
  if [ "$one" != cold ]; then summaries+=("$out/raw-$one.json"); fi
done
if [ -f "$out/raw-cold.json" ]; then
  python3 "$here/summarize_cold.py" "$out/raw-cold.json" --out "$out/cold-start.json" --markdown
fi
if [ ${#summaries[@]} -gt 0 ]; then
  python3 "$here/summarize.py" "${summaries[@]}" --weights "$out/weights.jsonl" \
    --out "$out/measurements.json"
fi
