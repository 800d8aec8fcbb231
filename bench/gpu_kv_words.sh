#!/bin/bash
# Issue 20, target 2 (and 1): the rollout engine's KV-cache writes as 8-byte words (chapter 06b's write_kv) against the
# plain bf16 element copy: decoding at B = 32 and 128 against Hugging Face's compiled static cache, the kernel tables,
# step 3 at B = 32 and 64 (DeepSpeed's optimizer loops and bench/ds_foreach.py's, in turn), then the bitwise check.
set -o pipefail
OUT=${OUT:-runs/gpu_kv_words}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
timeout 240 python bench/rollout.py --batch 32 128 --engines fast fast-elementwise hf-static --out $OUT/bench_rollout.json 2>&1 \
  | drop > $OUT/rollout.log; echo "=== rollout exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; tail -3 $OUT/rollout.log
for b in 32 128; do timeout 60 python bench/profile_decode.py --batch $b --top 12 2>&1 | drop | grep -v "^ *_warn_once\|UserWarn" > $OUT/profile_decode_$b.log; done
echo "=== profiles at $((SECONDS - T0)) s"; grep -h "per decoding step\|index_copy" $OUT/profile_decode_*.log | cut -c1-140
S="python bench/step3.py --models /tmp/models --updates 2 --engines fast --steps 3 --left_pad 64 --ds_loops deepspeed foreach"
for b in 32 64; do timeout 150 $S --batch $b --out $OUT/step3_$b.json 2>&1 | drop | grep -v "^W1\|^E1\|^I1\|destroy_process_group" > $OUT/step3_$b.log
  echo "=== step3 B=$b exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; grep -A3 "^engine" $OUT/step3_$b.log; done
timeout 90 python bench/kv_words_equal.py 2>&1 | drop | tail -3 | tee $OUT/kv_words_equal.log
echo "=== all done at $((SECONDS - T0)) s"
