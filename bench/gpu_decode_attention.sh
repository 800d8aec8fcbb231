#!/bin/bash
# Issue 20, target 2: a decoding step's attention three ways (bench/decode_attention.py): cuDNN's kernel through
# scaled_dot_product_attention (the engine's), compiled products and sums, and a hand-written one-pass Triton kernel.
# Their error against PyTorch's attention (fp32 and bf16), each alone per layer (bench/decode_pieces.py), and the whole
# engine with each at B = 32 and 128 against Hugging Face's compiled static cache (bench/rollout.py).
set -o pipefail
OUT=${OUT:-runs/gpu_decode_attention}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
(cd bench && timeout 120 python -c "
import torch
from decode_attention import check_against_sdpa, compiled_products_and_sums, triton_decode_attention
for name, f in (('compiled products and sums', compiled_products_and_sums()), ('triton one pass', triton_decode_attention)):
    for dt in (torch.float32, torch.bfloat16):
        print(f'{name:28s} {str(dt):15s} max |difference| from sdpa: {check_against_sdpa(f, dtype=dt):.2e}')
") 2>&1 | drop | tee $OUT/checks.txt
timeout 150 python bench/decode_pieces.py --batch 32 128 --window 384 512 --out $OUT/decode_pieces.json 2>&1 | drop > $OUT/pieces.log
echo "=== pieces exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; grep "attention" $OUT/pieces.log
timeout 300 python bench/rollout.py --batch 32 128 --engines fast fast-sums fast-triton hf-static --out $OUT/bench_rollout.json 2>&1 \
  | drop > $OUT/rollout.log; echo "=== rollout exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"
python -c "
import json; d = json.load(open('$OUT/bench_rollout.json'))
for r in d['rows']: print(r['engine'], r['batch'], r['ms_per_step'], 'ms', r['bandwidth_fraction'], 'first', r['first_call_s'])
print(d['step_time_ratios'])"
echo "=== all done at $((SECONDS - T0)) s"
