#!/bin/bash
# What one device call ran (bench/README of issue 20): the step-3 sweep, then chapter 06b's GPU checks rendering the
# sweep's batch-scaling JSON. $OUT gets: card.txt, sweep.log, sweep.tgz (JSONs, profile), 06b_rollout.ipynb, 06b.log.
set -o pipefail
OUT=${OUT:-runs/h200}; mkdir -p $OUT
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,power.draw --format=csv | tee $OUT/card.txt
quiet() { grep --line-buffered -v "Loading weights\|Writing model shards\|UserWarning\|warnings.warn\|real_accelerator\|^\s*$"; }
timeout ${SWEEP_TIMEOUT:-420} python bench/sweep_step3.py --out /tmp/sweep 2>&1 | tee $OUT/sweep.log | quiet
tar czf $OUT/sweep.tgz --exclude models -C /tmp sweep
[ -f /tmp/sweep/step3_scaling.json ] && cp /tmp/sweep/step3_scaling.json results/gpu/bench_step3.json
timeout ${CHECKS_TIMEOUT:-150} python bench/gpu_checks_06b.py $OUT/06b_rollout.ipynb 2>&1 | tee $OUT/06b.log | quiet | tail -5
echo "06b exit ${PIPESTATUS[0]}"
