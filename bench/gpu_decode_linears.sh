#!/bin/bash
# Issue 20, targets 1 and 2: are the decoding step's matrix products at the memory's pace, and is another call of the
# same product faster? One device call: bench/decode_linears.py (every OPT-1.3B product at B = 32 and 128, four ways
# of calling it), the eager decoding step's kernel table at B = 128 (chapter 06b has B = 32's), and one training
# phase of step 3 at B = 32 under the profiler with today's defaults (BF16_Optimizer, fused norms).
set -o pipefail
OUT=${OUT:-runs/gpu_decode_linears}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
timeout 300 python bench/decode_linears.py --out $OUT/decode_linears.json 2>&1 | drop | grep -v "^  triton_mm\|^E1\|^W1" > $OUT/decode_linears.log
echo "=== decode_linears exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; grep "us/layer" $OUT/decode_linears.log
cp tunableop_results*.csv $OUT/ 2>/dev/null
timeout 90 python bench/profile_decode.py --batch 128 --top 30 2>&1 | drop > $OUT/profile_decode_128.log
echo "=== profile 128 exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"
timeout 200 python bench/step3.py --models /tmp/models --batch 32 --updates 2 --engines fast --steps 3 \
  --profile $OUT/profile_training_32.txt --out $OUT/step3_profiled_32.json 2>&1 | drop > $OUT/step3_profiled_32.log
echo "=== step3 profiled exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; head -30 $OUT/profile_training_32.txt | cut -c1-150
