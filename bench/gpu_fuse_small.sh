#!/bin/bash
# Does the fused residual-add + LayerNorm pay at the toy worlds' shapes? One device call: bench/rollout.py with the
# engine fused and unfused at the tiny actor's shape and the 125m world's actor shape (B=32, 64 + 48 tokens, as step 3
# runs them), each in a fresh process (its first call includes the compile).
set -o pipefail
OUT=${OUT:-runs/gpu_fuse_small}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
for shape in tiny-actor 125m-actor; do
  for engine in fast fast-unfused; do
    timeout 150 python bench/rollout.py --shape $shape --batch 32 --prompt 64 --new 48 --engines $engine --repeats 5 \
      --out $OUT/rollout_${shape}_${engine}.json 2>&1 | drop > $OUT/rollout_${shape}_${engine}.log
    echo "=== $shape $engine exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; tail -2 $OUT/rollout_${shape}_${engine}.log
  done
done
