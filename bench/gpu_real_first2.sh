#!/bin/bash
# Issue 20, targets 1 and 4, a second look after bench/gpu_real_first.sh: the same step 3 bench with the order of the
# layouts and of the prompt paddings reversed and three timed steps (does the first call's slower unpadded B = 32 row
# follow the order?), then the tiny pipeline on this GPU (target 4) from the current tree.
set -o pipefail
OUT=${OUT:-runs/gpu_real_first2}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
timeout 300 python bench/step3.py --models /tmp/models --batch 32 64 --updates 2 --engines fast --steps 4 \
  --attention mask real_first --left_pad 0 64 --out $OUT/step3_real_first_2.json 2>&1 | drop | grep -v "^W1\|^E1\|^I1" > $OUT/step3_real_first_2.log
echo "=== step3 exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; tail -10 $OUT/step3_real_first_2.log
tiny_pipeline $((${LIMIT:-580} - (SECONDS - T0)))
echo "=== all done at $((SECONDS - T0)) s"
