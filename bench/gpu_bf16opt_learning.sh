#!/usr/bin/env bash
# Issue 20, target 5: step 3's learning figures on the 125m toy world with DeepSpeed's BF16_Optimizer (the package's
# bf16 default since it asks for it) against DeepSpeed's per-parameter bf16 wrapper it replaced (bench/step3_unfused.py),
# the same steps 1-2 (seed 1234, built with this commit), step-3 seeds 1 2 3 (SEEDS), all six runs at once on one GPU.
# Step 3's flags are params/gpu.yaml's chapter-08 sizes, DeepSpeed-Chat's plain step 3 (no ptx, raw scores), as in
# bench/gpu_seed1234.sh.
# usage: bench/gpu_bf16opt_learning.sh OUT_DIR    (OUT_DIR gets the logs and runs.tgz with every results.json)
set -uo pipefail
out=${1:?usage: bench/gpu_bf16opt_learning.sh OUT_DIR}; mkdir -p "$out"; work=${WORK:-/tmp/bf16opt_learning}; mkdir -p "$work"
T0=$SECONDS
python -c "from rlhf_course.rlhf_engine import toyworld_steps12 as s; print(*s(seed=1234, dtype='bf16', scale='125m'))" \
  > "$work/paths.txt" 2> "$out/steps12.log" || { echo "steps 1-2 failed"; tail -20 "$out/steps12.log"; exit 1; }
read -r actor reward < "$work/paths.txt"
echo "steps 1-2 (and the 125m world) ready after $((SECONDS - T0)) s"
common=(--actor_model_name_or_path "$actor" --critic_model_name_or_path "$reward" --dtype bf16 --max_steps 100
        --actor_learning_rate 3e-5 --critic_learning_rate 1e-4 --n_gold_prompts 512 --enable_ema
        --max_prompt_seq_len 64 --max_answer_seq_len 48 --force)
for seed in ${SEEDS:-1 2 3}; do
  python -m rlhf_course.step3 "${common[@]}" --seed "$seed" --output_dir "$work/flat_$seed" > "$out/flat_$seed.log" 2>&1 &
  python bench/step3_unfused.py "${common[@]}" --seed "$seed" --output_dir "$work/unfused_$seed" > "$out/unfused_$seed.log" 2>&1 &
done
wait
echo "step 3 runs done after $((SECONDS - T0)) s"
cp "$work/paths.txt" "$out/"
cd "$work" && tar czf "$out/runs.tgz" --exclude='*.safetensors' --exclude='*.bin' --exclude='*.pt' --exclude='resume' \
  $(ls -d flat_* unfused_* 2>/dev/null)
