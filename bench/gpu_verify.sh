#!/bin/bash
# Issue 20's second device call: after the rollout engine takes cuDNN's attention back for its fixed shapes and
# train.py trains the tiny toy models in fp32 on GPUs too:
# 1. bench/step3.py at B = 32 and 64 (does the generation phase return to its time before 9e71b92?);
# 2. bench/rollout.py, the engine alone, at B = 32 and 128;
# 3. chapter 06b with its GPU checks (fp32: graphed == eager == generate());
# 4. the tiny `python train.py` with its new default dtype.
# COMMIT (the commit the working tree holds; the device copy's .git may name another) goes into $OUT/commit.txt.
set -o pipefail
OUT=${OUT:-runs/gpu_verify}; mkdir -p $OUT; T0=$SECONDS
echo "${COMMIT:-unknown}" > $OUT/commit.txt
source bench/gpu_env.sh
timeout 240 python bench/step3.py --batch 32 64 --updates 2 --engines fast --models /tmp/models --out $OUT/bench_step3.json 2>&1 | drop > $OUT/step3.log
tail -4 $OUT/step3.log; echo "=== step3 done at $((SECONDS - T0)) s"
timeout 90 python bench/rollout.py --batch 32 128 --engines fast --out $OUT/bench_rollout.json 2>&1 | drop > $OUT/rollout.log
tail -4 $OUT/rollout.log; echo "=== rollout done at $((SECONDS - T0)) s"
timeout 110 python bench/gpu_checks_06b.py /tmp/06b_rollout.ipynb 2>&1 | drop | tail -3 | tee $OUT/06b.log
echo "=== 06b exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"
LEFT=$((${LIMIT:-585} - (SECONDS - T0))); echo "=== train.py with ${LEFT} s left"
timeout $LEFT python train.py --output-dir /tmp/pipe --no-chat > /tmp/pipe.log 2>&1; echo "exit $?" >> /tmp/pipe.log
grep "step .* done in\|wall time\|^ *[123] \|exit\|rror" /tmp/pipe.log | grep -v "{" | tail -8
(cd /tmp && tar czf - pipe.log $(ls pipe/results.json pipe/*/results.json 2>/dev/null)) > $OUT/pipe.tgz
echo "=== all done at $((SECONDS - T0)) s"
