#!/bin/bash
# Step 3 on the answers' width (chapter 07's trim_answers), one device call on one GPU:
# 1. issue 20's target 4: the tiny pipeline, `train.py --deployment-type single_gpu --no-chat --seed 1234` (the shipped
#    step 3: ptx, normalised scores), timed by train.py itself; the same command as results/gpu/seed1234_defaults.json's
#    tiny_shipped, whose figures it is compared with;
# 2. DeepSpeed-Chat's plain step 3 from the same steps 1-2 (tiny_plain there);
# 3. chapter 07 on the GPU in bf16 with those steps 1-2 (the trim checks at bf16's tolerance).
# COMMIT (the commit the working tree holds) goes into every JSON that bench/common.py writes.
set -o pipefail
OUT=${OUT:-runs/gpu_trim}; W=${W:-/tmp/gpu_trim}; mkdir -p $OUT $W; T0=$SECONDS
source bench/gpu_env.sh
python train.py --deployment-type single_gpu --output-dir $W/tiny --no-chat --seed 1234 2>&1 | drop > $OUT/tiny_train.log
echo "=== shipped exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; tail -4 $OUT/tiny_train.log
mkdir -p $W/tiny_plain; ln -sfn $W/tiny/sft $W/tiny_plain/sft; ln -sfn $W/tiny/reward $W/tiny_plain/reward
python train.py --deployment-type single_gpu --output-dir $W/tiny_plain --step 3 --no-chat --seed 1234 \
  --unsup_coef 0 --no-normalize_reward 2>&1 | drop > $OUT/tiny_plain.log
echo "=== plain exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; tail -2 $OUT/tiny_plain.log
for run in tiny tiny_plain; do
  mkdir -p $OUT/$run; cp $W/$run/results.json $OUT/$run/ 2>/dev/null
  for s in sft reward rlhf; do [ -f $W/$run/$s/results.json ] && mkdir -p $OUT/$run/$s && cp $W/$run/$s/results.json $W/$run/$s/metrics.jsonl $OUT/$run/$s/ 2>/dev/null; done
done
LEFT=$((${LIMIT:-585} - (SECONDS - T0)))
timeout $LEFT python - <<PY 2>&1 | drop > $OUT/07.log
from rlhf_course.book import run_notebook
run_notebook("nbs/07_ppo_trainer.ipynb", "$OUT/07_ppo_trainer.ipynb", {"actor_model_name_or_path": "$W/tiny/sft",
             "critic_model_name_or_path": "$W/tiny/reward", "dtype": "bf16"}, flags=("gpu",), cwd="nbs", progress=False)
print("chapter 07 passed")
PY
echo "=== 07 exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; tail -2 $OUT/07.log
