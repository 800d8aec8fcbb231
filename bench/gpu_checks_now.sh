#!/bin/bash
# Issue 20, target 5: chapter 06b's `#| gpu` checks (fp32: graphed == eager == generate(), fused and unfused norms, no
# recapture after an in-place update) on the engine as it now is (with the 8-byte KV copy), via bench/gpu_checks_06b.py.
set -o pipefail
OUT=${OUT:-runs/gpu_checks_now}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
timeout 400 python bench/gpu_checks_06b.py $OUT/06b_rollout.ipynb 2>&1 | drop | tr '\r' '\n' | grep -v "cell/s\]\|s/cell\]" > $OUT/06b.log
echo "=== chapter exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; tail -3 $OUT/06b.log
cat $OUT/gpu_checks_output.txt                  # written by bench/gpu_checks_06b.py
echo "=== all done at $((SECONDS - T0)) s"
