#!/bin/bash
# Issue 20, target 1: what moving each row's real tokens to its front (chapter 07's RealTokensFirst: attention without
# a mask, the flash kernel) gives step 3. One device call:
# 1. bench/step3.py at B = 32 and 64, both layouts, on prompts padded on the left by 0..64 tokens and on unpadded
#    prompts (the setting), the padded B = 32 training phase under the profiler (which kernels run);
# 2. chapter 07 in bf16 on the GPU (its checks: the same outputs at real tokens in both layouts, the rest).
set -o pipefail
OUT=${OUT:-runs/gpu_real_first}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
timeout 330 python bench/step3.py --models /tmp/models --batch 32 64 --updates 2 --engines fast --steps 3 \
  --attention real_first mask --left_pad 64 0 --profile $OUT/profile_training_32_padded.txt \
  --out $OUT/step3_real_first.json 2>&1 | drop | grep -v "^W1\|^E1\|^I1" > $OUT/step3_real_first.log
echo "=== step3 exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; tail -11 $OUT/step3_real_first.log
grep -i "fmha\|flash" $OUT/profile_training_32_padded.txt | cut -c1-100
timeout 200 python -c "from rlhf_course.book import run_notebook; run_notebook('nbs/07_ppo_trainer.ipynb', '/tmp/07.ipynb', {'dtype': 'bf16'}, flags=('gpu',), cwd='nbs', progress=False)" > $OUT/ch07_bf16.log 2>&1
echo "=== chapter 07 bf16 exit $? at $((SECONDS - T0)) s" | tee -a $OUT/ch07_bf16.log; tail -3 $OUT/ch07_bf16.log
