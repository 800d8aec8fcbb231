#!/bin/bash
# Issue 20's re-measurement on one GPU, after init_distributed turned cuDNN's attention off (9e71b92):
# 1. the tiny `python train.py` (bf16, train.py's GPU default) with per-step walls;
# 2. the same with `--dtype fp32` (whether 16-bit pays at the toy world's size);
# 3. bench/step3.py at B = 32 and 64 (OPT-1.3B / 350M shapes, ZeRO-0, two PPO minibatches).
# Packages from .whl are installed *with* bytecode compilation, as a normal pip install does, so that first imports
# are not timed as compilation. $OUT gets card.txt, install.log, pipe_bf16.tgz, pipe_fp32.tgz, step3.log, bench_step3.json.
set -o pipefail
OUT=${OUT:-runs/gpu_remeasure}; mkdir -p $OUT; T0=$SECONDS
python3 -m pip install -q --no-index --no-deps --no-cache-dir --target /tmp/site .whl/*.whl > $OUT/install.log 2>&1
export PYTHONPATH=/tmp/site:$PWD PATH=/tmp/site/bin:$PATH TORCH_CUDA_ARCH_LIST=9.0
echo "=== install $((SECONDS - T0)) s" | tee -a $OUT/install.log
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,power.draw --format=csv | tee $OUT/card.txt
quiet() { grep --line-buffered "step .* done\|wall\|^ *[123] \|Error\|error\|samples/s\|batch"; }
for dtype in bf16 fp32; do
  extra=$([ $dtype = fp32 ] && echo "--dtype fp32")
  t=$SECONDS
  timeout ${PIPE_TIMEOUT:-230} python train.py --output-dir /tmp/pipe_$dtype --no-chat $extra > /tmp/pipe_$dtype.log 2>&1
  echo "=== train.py $dtype: exit $? in $((SECONDS - t)) s" | tee -a /tmp/pipe_$dtype.log
  quiet < /tmp/pipe_$dtype.log | tail -8
  (cd /tmp && tar czf - pipe_$dtype.log $(ls pipe_$dtype/results.json pipe_$dtype/*/results.json pipe_$dtype/logs 2>/dev/null)) > $OUT/pipe_$dtype.tgz
done
LEFT=$((${LIMIT:-590} - (SECONDS - T0))); echo "=== bench/step3.py with ${LEFT} s left"
timeout $LEFT python bench/step3.py --batch 32 64 --updates 2 --engines fast --models /tmp/models --out $OUT/bench_step3.json 2>&1 \
  | grep -v "Loading weights\|UserWarning\|warnings.warn\|real_accelerator" > $OUT/step3.log
tail -15 $OUT/step3.log
echo "=== all done at $((SECONDS - T0)) s"
