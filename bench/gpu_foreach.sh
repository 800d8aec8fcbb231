#!/bin/bash
# Issue 20, target 1: DeepSpeed's BF16_Optimizer with its per-parameter loops (gradient copies, norm, clip) done by
# foreach kernels (bench/ds_foreach.py, a lever under test) against its own loops, paired in one process per batch,
# prompts padded on the left by 0..64; the foreach variant's idle-time split and CPU profile at B = 32.
set -o pipefail
OUT=${OUT:-runs/gpu_foreach}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
S="python bench/step3.py --models /tmp/models --updates 2 --engines fast --steps 3 --left_pad 64"
run() { name=$1; shift; timeout 200 $S "$@" --out $OUT/$name.json 2>&1 | drop | grep -v "^W1\|^E1\|^I1\|destroy_process_group" > $OUT/$name.log
        echo "=== $name: exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; grep -A5 "^engine" $OUT/$name.log; }
run foreach_32 --batch 32 --ds_loops foreach deepspeed foreach deepspeed --gaps $OUT/gaps_foreach_32.txt --cpu_profile $OUT/cpu_profile_foreach_32.txt
run foreach_64 --batch 64 --ds_loops foreach deepspeed foreach deepspeed
cat $OUT/gaps_foreach_32.txt; head -40 $OUT/cpu_profile_foreach_32.txt
