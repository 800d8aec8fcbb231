#!/bin/bash
# Issue 20, target 2: are the decoding step's matrix products at the memory's pace, and is another call of the same
# product faster? One device call: bench/decode_linears.py (every OPT-1.3B product at B = 32 and 128, four ways of
# calling it), then the eager step's kernel table at B = 128 (chapter 06b has B = 32's).
set -o pipefail
OUT=${OUT:-runs/gpu_decode_linears}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
timeout 420 python bench/decode_linears.py --out $OUT/decode_linears.json 2>&1 | drop > $OUT/decode_linears.log
echo "=== decode_linears exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; cat $OUT/decode_linears.log | tail -45
timeout 90 python bench/profile_decode.py --batch 128 --top 30 2>&1 | drop > $OUT/profile_decode_128.log
echo "=== profile 128 exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; head -40 $OUT/profile_decode_128.log | cut -c1-150
