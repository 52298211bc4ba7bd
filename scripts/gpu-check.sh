#!/usr/bin/env bash
# GPU check for the sparse expert dispatch (issue 16) and for FP8 staying FP8 (issue 30),
# for a machine with one GPU of 80-141 GB where python3 already has CUDA torch and
# transformers; needs no network (carry compressed-tensors and its dependencies with
# --print-wheels here and --wheels DIR there). Writes a random checkpoint at Maverick's
# real widths (four layers: dense, RoPE MoE, dense, NoPE MoE; compressed-tensors FP8,
# about 38 GB) to a temporary folder, loads it through the app's loader (FP8 kept FP8 on
# compute capability >= 8.9), runs decode and an 8,192-token prefill (in steps of 512,
# 2,048 and 8,192 tokens, as the engine prefills) with transformers' dense experts and
# with the sparse dispatch, times the compiled decode step (CUDA graphs; the whole step,
# and each kind of layer compiled alone; MAVERICK_DESK_COMPILE=off skips it), each kind
# of layer apart, and prints and writes gpu-check.json with an extrapolation to
# Maverick's 48 layers on 8 GPUs, whose arithmetic it prints. It took about 8 minutes
# with two layers; the four-layer run is not yet timed on a GPU.
#
#   bash scripts/gpu-check.sh [--out FILE] [--dir TMPDIR] [--keep]
#   bash scripts/gpu-check.sh --smoke      # tiny widths on the CPU (the test suite runs it)
#   bash scripts/gpu-check.sh --checkpoint DIR [--smoke]   # an existing checkpoint
#   bash scripts/gpu-check.sh --print-wheels   # the wheels to carry (name==version)
#   bash scripts/gpu-check.sh --wheels DIR ... # install them from DIR first, offline
#
# PYTHON=/path/to/python overrides python3. Exit 1: the experts are not FP8 on disk, in
# memory, in the kernels or in the bytes allocated, or greedy tokens differ (each failure
# is printed as a sentence). Exit 2: a package is missing (it says which).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
    echo "gpu-check: $python not found (set PYTHON=/path/to/python)" >&2
    exit 2
fi
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1
exec "$python" -m app.generators.gpu_check "$@"
