#!/usr/bin/env bash
# Issue 16's one-GPU runs of seed 1234 (bf16), all at once on one GPU:
#   tiny world: `train.py --deployment-type single_gpu` (the shipped defaults: ptx + normalised scores), then
#               DeepSpeed-Chat's plain step 3 from the same steps 1-2 (`--unsup_coef 0 --no-normalize_reward`);
#   125m world: steps 1-2 from the shared cache (chapter 06's toyworld_steps12), then step 3 with both settings
#               (params/gpu.yaml's chapter-08 sizes: 100 rollout batches, actor 3e-5, critic 1e-4, 512 gold prompts).
# usage: bench/gpu_seed1234.sh OUT_DIR   (every results.json and log lands in OUT_DIR; runs.tgz packs them)
set -uo pipefail
out=${1:?usage: bench/gpu_seed1234.sh OUT_DIR}; mkdir -p "$out"; work=${WORK:-/tmp/gpu_seed1234}; mkdir -p "$work"
toy() {
  python train.py --deployment-type single_gpu --output-dir "$work/tiny" --no-chat --seed 1234 > "$out/tiny_train.log" 2>&1
  mkdir -p "$work/tiny_plain"; ln -sfn "$work/tiny/sft" "$work/tiny_plain/sft"; ln -sfn "$work/tiny/reward" "$work/tiny_plain/reward"
  python train.py --deployment-type single_gpu --output-dir "$work/tiny_plain" --step 3 --no-chat --seed 1234 \
    --unsup_coef 0 --no-normalize_reward > "$out/tiny_plain.log" 2>&1
}
m125() {
  python -c "from rlhf_course.rlhf_engine import toyworld_steps12 as s; print(*s(seed=1234, dtype='bf16', scale='125m'))" \
    > "$work/m125_paths.txt" 2> "$out/m125_steps12.log" || return 1
  read -r actor reward < "$work/m125_paths.txt"
  common=(--actor_model_name_or_path "$actor" --critic_model_name_or_path "$reward" --dtype bf16 --max_steps 100
          --actor_learning_rate 3e-5 --critic_learning_rate 1e-4 --n_gold_prompts 512 --enable_ema --seed 1234
          --max_prompt_seq_len 64 --max_answer_seq_len 48 --force)
  python -m rlhf_course.step3 "${common[@]}" --output_dir "$work/m125_default" --unsupervised_dataset_name toyworld \
    --unsup_coef 1 --normalize_reward > "$out/m125_default.log" 2>&1 &
  python -m rlhf_course.step3 "${common[@]}" --output_dir "$work/m125_plain" > "$out/m125_plain.log" 2>&1 &
  wait
}
toy & m125 & wait
cd "$work" && tar czf "$out/runs.tgz" --exclude='*.safetensors' --exclude='*.bin' --exclude='*.pt' --exclude='resume' \
  $(ls -d tiny tiny_plain m125_* 2>/dev/null)
