#!/bin/bash
# Issue 20, target 2: FlexAttention's split-KV decoding kernel in the rollout engine (attention="flex"), one call:
# 1. bench/rollout.py at B = 32 and 128: the engine with PyTorch's kernels (fast), with flex, fused norms, both, and the compiled static cache;
# 2. bench/step3.py at B = 32 and 64 with the engine on flex and fused norms (the generation phase of target 1);
# 3. chapter 06b with its GPU checks (fp32: graphed == eager == generate(), and flex's greedy tokens the same);
# 4. bench/decode_pieces.py: attention kernels, the cache write and add + LayerNorm timed alone.
# COMMIT (the commit the working tree holds; the device copy's .git may name another) goes into every JSON.
set -o pipefail
OUT=${OUT:-runs/gpu_flex}; mkdir -p $OUT; T0=$SECONDS
python3 -m pip install -q --no-index --no-deps --no-cache-dir --target /tmp/site .whl/*.whl > /tmp/install.log 2>&1
export PYTHONPATH=/tmp/site:$PWD:$PWD/bench PATH=/tmp/site/bin:$PATH TORCH_CUDA_ARCH_LIST=9.0 BENCH_COMMIT=${COMMIT:-}
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,power.draw --format=csv | tee $OUT/card.txt
drop() { grep -v "Loading weights\|UserWarning\|warnings.warn\|real_accelerator\|Virtual Memory\|MA .* GB"; }
timeout 170 python bench/rollout.py --batch 32 128 --engines fast fast-flex fast-fused fast-flex-fused hf-static --out $OUT/bench_rollout_flex.json 2>&1 | drop > $OUT/rollout.log
tail -12 $OUT/rollout.log; echo "=== rollout done at $((SECONDS - T0)) s"
timeout 200 python bench/step3.py --batch 32 64 --updates 2 --engines fast --attention flex --fuse_norms on --models /tmp/models --out $OUT/step3_flex.json 2>&1 | drop > $OUT/step3.log
tail -4 $OUT/step3.log; echo "=== step3 done at $((SECONDS - T0)) s"
timeout 110 python bench/gpu_checks_06b.py /tmp/06b_rollout.ipynb 2>&1 | drop > $OUT/06b.log
grep "flex\|graphs\|Error\|rror" $OUT/06b.log | tail -5; echo "=== 06b exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"
LEFT=$((${LIMIT:-585} - (SECONDS - T0)))
timeout $LEFT python bench/decode_pieces.py --out $OUT/decode_pieces.json 2>&1 | drop > $OUT/pieces.log
tail -30 $OUT/pieces.log; echo "=== all done at $((SECONDS - T0)) s"
