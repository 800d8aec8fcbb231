#!/bin/bash
# Issue 20, target 1: the order of the training phase's two updates (chapter 07's backwards_first against DeepSpeed-Chat's
# actor-then-critic), paired in one process per batch (step times vary by several percent from call to call), prompts
# padded on the left by 0..64; the GPU's idle time by trainer part in each order (--gaps); answer-only logits; and
# DeepSpeed's immediate_grad_update in both orders. Every process starts a fresh actor (PPO trains it row to row).
set -o pipefail
OUT=${OUT:-runs/gpu_order}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
S="python bench/step3.py --models /tmp/models --updates 2 --engines fast --steps 3 --left_pad 64"
run() { name=$1; shift; timeout 170 $S "$@" --out $OUT/$name.json 2>&1 | drop | grep -v "^W1\|^E1\|^I1" > $OUT/$name.log
        echo "=== $name: exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; grep -A9 "^engine" $OUT/$name.log; }
run order_32 --batch 32 --order backwards_first actor_first backwards_first actor_first --gaps $OUT/gaps_backwards_first_32.txt
run gaps_actor_first_32 --batch 32 --order actor_first --steps 1 --gaps $OUT/gaps_actor_first_32.txt
run order_64 --batch 64 --order backwards_first actor_first backwards_first actor_first
run logits_32 --batch 32 --logits full answer full answer
run immediate_32 --batch 32 --immediate_grad_update --order backwards_first actor_first
cat $OUT/gaps_*.txt
