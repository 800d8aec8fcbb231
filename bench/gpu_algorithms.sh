#!/usr/bin/env bash
# Issue 19's one-GPU study: PPO, DPO, GRPO and RLOO on the 125m toy world (an OPT-125m-shaped actor), one seed, bf16,
# from the shared steps-1/2 cache (chapter 06's toyworld_steps12, seed 1234), with chapter 08's 125m sizes
# (params/gpu.yaml: actor 3e-5, critic 1e-4, 512 gold prompts) and one matched budget: 100 updates of 32 prompts or
# pairs; GRPO and RLOO sample 4 answers a prompt. The runs train one after another, so their wall times compare.
# usage: bench/gpu_algorithms.sh OUT_DIR [STEPS]   (OUT_DIR gets algorithms_125m.json and the log; SEEDS="2 3" picks the seeds)
set -euo pipefail
out=${1:?usage: bench/gpu_algorithms.sh OUT_DIR [STEPS]}; steps=${2:-100}; mkdir -p "$out"
work=${WORK:-/tmp/gpu_algorithms}; mkdir -p "$work"
python -m rlhf_course.compare --device cuda --dtype bf16 --scale 125m --seed_list ${SEEDS:-1} --steps "$steps" \
  --prompts_per_step 32 --group_size 4 --beta 0.1 --learning_rate 3e-5 --critic_learning_rate 1e-4 \
  --n_eval_prompts 512 --out "$work" --json "$out/algorithms_125m.json" 2>&1 | tee "$out/compare.log" | grep -v "it/s\]" | tail -20
