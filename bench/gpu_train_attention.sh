#!/bin/bash
# Issue 20, target 1: step 3's training attention on padded batches, four kernels (bench/train_attention.py). Torch
# alone: no wheels installed, so it fits a short call.
set -o pipefail
OUT=${OUT:-runs/gpu_train_attention}; mkdir -p $OUT
export PYTHONPATH=$PWD:$PWD/bench BENCH_COMMIT=${COMMIT:-}
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,power.draw --format=csv > $OUT/card.txt
timeout 60 python bench/train_attention.py --out $OUT/train_attention.json 2>&1 | grep -v "Warning\|warn" | tee $OUT/train_attention.log
echo "exit ${PIPESTATUS[0]}"
