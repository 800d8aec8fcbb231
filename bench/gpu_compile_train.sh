#!/bin/bash
# Issue 20, target 1: does compiling the models' decoder layers (Inductor) speed up step 3's experience and training
# phases? One device call: bench/step3.py at B = 32 and 64 with --compile_decoders (the same run without it is
# ../decode_linears/step3_profiled_32.json and ../fused_norms/step3_fused.json).
set -o pipefail
OUT=${OUT:-runs/gpu_compile_train}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
timeout 500 python bench/step3.py --models /tmp/models --batch 32 64 --updates 2 --engines fast --steps 3 \
  --compile_decoders --out $OUT/step3_compiled.json 2>&1 | drop | grep -v "^W1\|^E1\|^I1" > $OUT/step3_compiled.log
echo "=== step3 compiled exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; tail -8 $OUT/step3_compiled.log
