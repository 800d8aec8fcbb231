#!/bin/bash
# Issue 20, targets 1 and 4: where the CPU's time goes in one training phase at B = 32 (cProfile; results/gpu/order
# found the critic's backward leaving the GPU idle in either order of the updates), then the tiny pipeline on this GPU.
set -o pipefail
OUT=${OUT:-runs/gpu_cpu_profile}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
timeout 200 python bench/step3.py --models /tmp/models --batch 32 --updates 2 --engines fast --steps 2 --left_pad 64 \
  --cpu_profile $OUT/cpu_profile_32.txt --out $OUT/step3_cpu_profile_32.json 2>&1 | drop | grep -v "^W1\|^E1\|^I1" > $OUT/step3_cpu_profile_32.log
echo "=== step3 exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; head -60 $OUT/cpu_profile_32.txt
LEFT=$((${LIMIT:-580} - (SECONDS - T0))); echo "=== train.py with ${LEFT} s left"
timeout $LEFT python train.py --deployment-type single_gpu --output-dir /tmp/pipe --no-chat --seed 1234 > /tmp/pipe.log 2>&1; echo "exit $?" >> /tmp/pipe.log
grep "step .* done in\|wall time\|^ *[123] \|exit\|rror" /tmp/pipe.log | grep -v "{" | tail -8
(cd /tmp && tar czf - pipe.log $(ls pipe/results.json pipe/*/results.json pipe/*/metrics.jsonl 2>/dev/null)) > $OUT/pipe.tgz
echo "=== all done at $((SECONDS - T0)) s"
