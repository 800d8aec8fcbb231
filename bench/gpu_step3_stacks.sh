#!/bin/bash
# Where the tiny pipeline's step 3 spends the ~33 s outside its training loop (issue 20, target 4), one device call:
# steps 1-2 (`train.py --step 1 2`), then step 3 alone (`train.py --step 3`) under bench/stack_sampler (every Python
# process's main-thread stack every 50 ms; STACK_SAMPLES/<pid>.txt per process). Same flags as bench/gpu_trim.sh.
set -o pipefail
OUT=${OUT:-runs/gpu_stacks}; W=${W:-/tmp/gpu_stacks}; mkdir -p $OUT/stacks $W; T0=$SECONDS
source bench/gpu_env.sh
python train.py --deployment-type single_gpu --output-dir $W/p --no-chat --seed 1234 --step 1 2 2>&1 | drop > $W/steps12.log
echo "=== steps 1-2 exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"
STACK_SAMPLES=$W/stacks PYTHONPATH=$PWD/bench/stack_sampler:$PYTHONPATH \
  python train.py --deployment-type single_gpu --output-dir $W/p --no-chat --seed 1234 --step 3 2>&1 | drop > $W/step3.log
echo "=== step 3 exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; grep "done in" $W/step3.log | cut -c1-100
cp $W/p/rlhf/results.json $W/step3_results.json 2>/dev/null
cd $W && tar czf $OUT/stacks.tgz stacks steps12.log step3.log step3_results.json
