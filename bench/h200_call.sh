#!/bin/bash
# What the issue-20 device call ran, in order, each part cut off by its own time limit so the whole fits one call:
# 1. the step-3 sweep (bench/sweep_step3.py); its batch-scaling JSON becomes results/gpu/bench_step3.json there;
# 2. chapter 06b with its GPU checks (bench/gpu_checks_06b.py), rendering that JSON;
# 3. the tiny `python train.py` with every process's stack sampled (bench/stack_sampler): where its time goes.
# $OUT gets card.txt, sweep.log, sweep.tgz (JSONs, profile table), 06b_rollout.ipynb, 06b.log, pipeline.log, pipeline.tgz.
set -o pipefail
OUT=${OUT:-runs/h200}; mkdir -p $OUT; T0=$SECONDS; LIMIT=${LIMIT:-585}
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,power.draw --format=csv | tee $OUT/card.txt
quiet() { grep --line-buffered -v "Loading weights\|Writing model shards\|UserWarning\|warnings.warn\|real_accelerator\|^\s*$"; }
timeout ${SWEEP_TIMEOUT:-330} python bench/sweep_step3.py --out /tmp/sweep 2>&1 | tee $OUT/sweep.log | quiet | tail -40
tar czf $OUT/sweep.tgz --exclude models -C /tmp sweep
[ -f /tmp/sweep/step3_scaling.json ] && cp /tmp/sweep/step3_scaling.json results/gpu/bench_step3.json
echo "=== sweep done at $((SECONDS - T0))s"
timeout ${CHECKS_TIMEOUT:-100} python bench/gpu_checks_06b.py $OUT/06b_rollout.ipynb 2>&1 | tee $OUT/06b.log | quiet | tail -4
echo "=== 06b exit ${PIPESTATUS[0]} at $((SECONDS - T0))s"
LEFT=$((LIMIT - (SECONDS - T0))); echo "=== train.py with ${LEFT}s left"
STACK_SAMPLES=/tmp/pipe/stacks PYTHONPATH=$PWD/bench/stack_sampler:$PYTHONPATH timeout $LEFT python train.py --output-dir /tmp/pipe/output --no-chat \
  2>&1 | tee $OUT/pipeline.log | grep --line-buffered "step .* done\|wall time\|^ *[123] \|Error\|error" | tail -12
tar czf $OUT/pipeline.tgz -C /tmp/pipe stacks $(cd /tmp/pipe && ls output/results.json output/*/results.json output/logs 2>/dev/null)
echo "=== all done at $((SECONDS - T0))s"
