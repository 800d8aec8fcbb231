#!/bin/bash
# Issue 20, target 1: does compiling the models' decoder layers (Inductor) speed up step 3's experience and training
# phases? One device call: bench/step3.py at B = 32 and 64 with --compile_decoders (the same run without it is
# ../decode_linears/step3_profiled_32.json and ../fused_norms/step3_fused.json), then one uncompiled training phase
# at B = 32 under the profiler, its GPU time counted from the kernels alone.
set -o pipefail
OUT=${OUT:-runs/gpu_compile_train}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
timeout 200 python bench/step3.py --models /tmp/models --batch 32 64 --updates 2 --engines fast --steps 3 \
  --compile_decoders --out $OUT/step3_compiled.json 2>&1 | drop | grep -v "^W1\|^E1\|^I1" > $OUT/step3_compiled.log
echo "=== step3 compiled exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; tail -4 $OUT/step3_compiled.log
grep -c "recompile_limit" $OUT/step3_compiled.log
timeout 90 python bench/step3.py --models /tmp/models --batch 32 --updates 2 --engines fast --steps 2 \
  --profile $OUT/profile_training_32.txt --out $OUT/step3_profiled_32.json 2>&1 | drop > $OUT/step3_profiled_32.log
echo "=== step3 profiled exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; head -24 $OUT/profile_training_32.txt | cut -c1-150
