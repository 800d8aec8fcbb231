#!/bin/bash
# Issue 20, target 1: after chapter 07's trainer computes GAE as one weighted sum (chapter 05's gae_matrix_form) instead
# of a loop of about 2000 kernel launches per training batch: the same --gaps profile as bench/gpu_gaps.sh, and the
# step at B = 32 and 64 on padded prompts (one process each, as in ../real_first3).
set -o pipefail
OUT=${OUT:-runs/gpu_gaps2}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
timeout 150 python bench/step3.py --models /tmp/models --batch 32 --updates 2 --engines fast --steps 3 --left_pad 64 \
  --gaps $OUT/gaps_training_32.txt --out $OUT/step3_gaps_32.json 2>&1 | drop | grep -v "^W1\|^E1\|^I1" > $OUT/step3_gaps_32.log
echo "=== B=32 exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; cat $OUT/gaps_training_32.txt; tail -2 $OUT/step3_gaps_32.log
timeout 120 python bench/step3.py --models /tmp/models --batch 64 --updates 2 --engines fast --steps 3 --left_pad 64 \
  --out $OUT/step3_64.json 2>&1 | drop | grep -v "^W1\|^E1\|^I1" > $OUT/step3_64.log
echo "=== B=64 exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; tail -2 $OUT/step3_64.log
