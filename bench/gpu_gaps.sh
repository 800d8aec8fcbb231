#!/bin/bash
# Issue 20, target 1: the training phase at B = 32 leaves the GPU idle for 0.05-0.2 s between kernels (kernels 0.43 s
# of a 0.48-0.65 s phase in ../real_first*/). Where is the CPU meanwhile? bench/step3.py --gaps splits the idle time of
# one profiled training phase by the trainer's part the CPU was in (forward, backward, optimizer step, ...).
set -o pipefail
OUT=${OUT:-runs/gpu_gaps}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
timeout 200 python bench/step3.py --models /tmp/models --batch 32 --updates 2 --engines fast --steps 3 --left_pad 64 \
  --gaps $OUT/gaps_training_32.txt --out $OUT/step3_gaps_32.json 2>&1 | drop | grep -v "^W1\|^E1\|^I1" > $OUT/step3_gaps_32.log
echo "=== exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; cat $OUT/gaps_training_32.txt; tail -3 $OUT/step3_gaps_32.log
