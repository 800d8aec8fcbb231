#!/bin/bash
# Issue 20, targets 4, 3 and 1 at the session's end: the tiny `python train.py` first in the call (target 4; the machine may
# be warm from an earlier call, as results/gpu/scaling_now/'s was),
# then bench/step3.py's batch-scaling table with every default as it now is (RealTokensFirst, GAE's matrix form,
# BF16_Optimizer, the 8-byte KV copy): B = 16, 32, 64 in one process and 128 in another, as results/gpu/bf16opt_default/.
set -o pipefail
OUT=${OUT:-runs/gpu_scaling_now}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
tiny_pipeline 170
echo "=== pipeline done at $((SECONDS - T0)) s"
S="python bench/step3.py --models /tmp/models --steps 3 --updates 2 --engines fast"
timeout 200 $S --batch 16 32 64 --out $OUT/step3_16_64.json 2>&1 | drop | grep -v "^W1\|^E1\|^I1\|destroy_process_group" > $OUT/step3_16_64.log
echo "=== step3 16-64 exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"
timeout 160 $S --batch 128 --out $OUT/step3_128.json 2>&1 | drop | grep -v "^W1\|^E1\|^I1\|destroy_process_group" > $OUT/step3_128.log
echo "=== step3 128 exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"
python -c "
import json
for f in ('16_64', '128'):
    for r in json.load(open('$OUT/step3_' + f + '.json'))['rows']:
        print(r['batch'], r['samples_per_s'], 'samples/s', {k: round(v, 3) for k, v in r['phases_s'].items()}, 'MFU', r['training_mfu'], 'full', r['full_length'])"
echo "=== all done at $((SECONDS - T0)) s"
