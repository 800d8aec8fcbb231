#!/bin/bash
# Issue 20, target 1, a third look: step 3 with and without real tokens first after RealTokensFirst.unpack got a
# backward without atomic adds, one process per batch size (PPO trains the random actor from row to row: after some
# tens of steps it ends its answers early, as the B = 64 rows of ../real_first2 did), and one profiled training phase
# at B = 32 with the layout on padded prompts.
set -o pipefail
OUT=${OUT:-runs/gpu_real_first3}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
for B in 32 64; do
  PROFILE=""; [ $B = 32 ] && PROFILE="--profile $OUT/profile_training_32_padded.txt"
  timeout 200 python bench/step3.py --models /tmp/models --batch $B --updates 2 --engines fast --steps 3 \
    --attention real_first mask --left_pad 64 0 $PROFILE --out $OUT/step3_real_first_$B.json 2>&1 | drop | grep -v "^W1\|^E1\|^I1" > $OUT/step3_real_first_$B.log
  echo "=== B=$B exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; tail -6 $OUT/step3_real_first_$B.log
done
grep -i "busy\|fmha\|flash\|gather\|scatter" $OUT/profile_training_32_padded.txt | cut -c1-100
