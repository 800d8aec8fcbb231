#!/bin/bash
# Issue 20, targets 1 and 4: where the CPU's time goes in one training phase at B = 32 (cProfile; results/gpu/order
# found the critic's backward leaving the GPU idle in either order of the updates), then the tiny pipeline on this GPU.
set -o pipefail
OUT=${OUT:-runs/gpu_cpu_profile}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
timeout 200 python bench/step3.py --models /tmp/models --batch 32 --updates 2 --engines fast --steps 2 --left_pad 64 \
  --cpu_profile $OUT/cpu_profile_32.txt --out $OUT/step3_cpu_profile_32.json 2>&1 | drop | grep -v "^W1\|^E1\|^I1" > $OUT/step3_cpu_profile_32.log
echo "=== step3 exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; head -60 $OUT/cpu_profile_32.txt
tiny_pipeline $((${LIMIT:-580} - (SECONDS - T0)))
echo "=== all done at $((SECONDS - T0)) s"
