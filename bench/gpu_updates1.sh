#!/bin/bash
# Issue 20, target 1's "larger micro-batches where memory allows", with today's code: step 3's whole rollout batch as
# one training batch (--updates 1: one PPO update per rollout batch, DeepSpeed-Chat's default of equal generation and
# training batch sizes) against the course's default of two (--updates 2), B = 32 and 64, one process each.
set -o pipefail
OUT=${OUT:-runs/gpu_updates1}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
for U in 1 2; do
  timeout 220 python bench/step3.py --models /tmp/models --steps 4 --updates $U --engines fast --batch 32 64 --out $OUT/step3_updates$U.json 2>&1 \
    | drop | grep -v "^W1\|^E1\|^I1\|destroy_process_group" > $OUT/step3_updates$U.log
  echo "=== updates $U exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"
done
python -c "
import json
for u in (1, 2):
    for r in json.load(open('$OUT/step3_updates%d.json' % u))['rows']:
        print('updates', u, r['batch'], r['train_batch'], r['samples_per_s'], 'samples/s', r['phases_s'], 'MFU', r['training_mfu'], 'peak', r['peak_memory_gib'], 'full', r['full_length'])"
echo "=== all done at $((SECONDS - T0)) s"
