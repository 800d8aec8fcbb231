#!/bin/bash
# Issue 20, target 1: GAE as a loop over positions against chapter 05's gae_matrix_form, paired in one process
# (step times vary by several percent from call to call), B = 32, prompts padded on the left by 0..64, twice in turn.
set -o pipefail
OUT=${OUT:-runs/gpu_gae_pair}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
timeout 200 python bench/step3.py --models /tmp/models --batch 32 --updates 2 --engines fast --steps 3 --left_pad 64 \
  --gae loop matrix loop matrix --out $OUT/step3_gae_32.json 2>&1 | drop | grep -v "^W1\|^E1\|^I1" > $OUT/step3_gae_32.log
echo "=== exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; tail -6 $OUT/step3_gae_32.log
