#!/bin/bash
# Issue 20, target 1's last lever: overlapping phases. bench/step3.py's `fast-overlap` samples rollout batch k+1 on a
# second, high-priority CUDA stream (a second thread, its own copy of the actor's weights) while batch k is scored and
# trained on; against the plain engine in the same process, in turn, twice, at B = 32 and 64 (training batch B/2).
# ENGINES and EXTRA replace the engines and add flags: ENGINES='fast fast-overlap' EXTRA='--train_sms 112 96'.
set -o pipefail
OUT=${OUT:-runs/gpu_overlap}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
S="python bench/step3.py --models /tmp/models --steps 4 --updates 2 --engines ${ENGINES:-fast fast-overlap fast fast-overlap} ${EXTRA:-}"
for B in 32 64; do
  timeout 240 $S --batch $B --out $OUT/step3_$B.json 2>&1 | drop | grep -v "^W1\|^E1\|^I1\|destroy_process_group" > $OUT/step3_$B.log
  echo "=== step3 $B exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; tail -3 $OUT/step3_$B.log
done
python -c "
import json
for b in (32, 64):
    for r in json.load(open('$OUT/step3_%d.json' % b))['rows']:
        if 'error' in r: print(r); continue
        print(r['engine'], r.get('train_sms'), r['batch'], r['samples_per_s'], 'samples/s', r['step_s_each'], r['phases_s'], 'MFU', r['training_mfu'], 'peak', r['peak_memory_gib'], 'full', r['full_length'])"
echo "=== all done at $((SECONDS - T0)) s"
