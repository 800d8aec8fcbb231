#!/bin/bash
# Issue 20, target 4 on a cold machine: the tiny `python train.py` as the call's only work, its step times and total.
set -o pipefail
OUT=${OUT:-runs/gpu_tiny_cold}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
echo "=== packages installed after $((SECONDS - T0)) s"
tiny_pipeline ${PIPE_LIMIT:-200}
echo "=== all done at $((SECONDS - T0)) s"
