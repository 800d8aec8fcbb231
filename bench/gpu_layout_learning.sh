#!/usr/bin/env bash
# Issue 20, target 5: step 3's learning figures on the 125m toy world with today's trainer (each row's real tokens
# first, GAE as one weighted sum) against the trainer before those two changes (bench/step3_padded.py), the same steps
# 1-2 (seed 1234, built by this call), step-3 seeds 1 2 3, all six runs at once on one GPU (their logs in runs.tgz), at bench/gpu_bf16opt_learning.sh's
# flags (params/gpu.yaml's chapter-08 sizes, DeepSpeed-Chat's plain step 3). Its first call (c1b7c48, 2026-12-04) had a
# 200 s limit on steps 1-2, which building the 125m world and its steps 1-2 on a fresh machine exceeded (its base
# model's pretraining alone took 59 s): give the call a whole 600 s.
set -uo pipefail
OUT=${OUT:-runs/gpu_layout_learning}; mkdir -p "$OUT"; work=/tmp/layout_learning; mkdir -p "$work"; T0=$SECONDS
source bench/gpu_env.sh > /dev/null
timeout 330 python -c "from rlhf_course.rlhf_engine import toyworld_steps12 as s; print(*s(seed=1234, dtype='bf16', scale='125m'))" \
  > "$work/paths.txt" 2> "$OUT/steps12.log" || { echo "steps 1-2 failed"; tail -20 "$OUT/steps12.log"; exit 1; }
# the paths are the last line printed (steps 1-2 print their data and results before it)
read -r actor reward < <(tail -n 1 "$work/paths.txt"); cp "$work/paths.txt" "$OUT/steps12_paths.txt"
[ -d "$actor" ] && [ -d "$reward" ] || { echo "no model folders in: $actor $reward"; exit 1; }
echo "steps 1-2 ready after $((SECONDS - T0)) s"
LEFT=$((${LIMIT:-580} - (SECONDS - T0)))
common=(--actor_model_name_or_path "$actor" --critic_model_name_or_path "$reward" --dtype bf16 --max_steps 100
        --actor_learning_rate 3e-5 --critic_learning_rate 1e-4 --n_gold_prompts 512 --enable_ema
        --max_prompt_seq_len 64 --max_answer_seq_len 48 --force)
for seed in 1 2 3; do
  timeout $LEFT python -m rlhf_course.step3 "${common[@]}" --seed $seed --output_dir "$work/real_first_$seed" > "$work/real_first_$seed.log" 2>&1 &
  timeout $LEFT python bench/step3_padded.py "${common[@]}" --seed $seed --output_dir "$work/padded_$seed" > "$work/padded_$seed.log" 2>&1 &
done
wait
echo "step 3 runs done after $((SECONDS - T0)) s"
for r in real_first padded; do for s in 1 2 3; do f="$work/${r}_$s/results.json"; [ -f "$f" ] || tail -5 "$work/${r}_$s.log"; [ -f "$f" ] && python -c "
import json,sys; d=json.load(open('$f')); print('${r}_$s', {k: round(d['gold'][k], 4) for k in ('sft', 'ppo', 'ema')}, 'train_s', d['train_s'])"; done; done
cd "$work" && tar czf "$OUT/runs.tgz" --exclude='*.safetensors' --exclude='*.bin' --exclude='*.pt' --exclude='resume' \
  $(ls -d real_first_* padded_* 2>/dev/null)  # the six logs go in the archive: the device tool returns at most 8 files
echo "=== all done at $((SECONDS - T0)) s"
