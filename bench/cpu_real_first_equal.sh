#!/bin/bash
# Issue 20, target 5: does step 3 learn the same with each row's real tokens first (chapter 07's RealTokensFirst) as
# with the padded rows and their mask, and with GAE as chapter 05's matrix form as with its loop? The same 12 PPO
# steps on the tiny toy world, fp32 on the CPU, from the steps 1-2 in $RUNS (train.py's sft/ and reward/), chapter
# 08's tiny-world sizes, three runs:
# on (the defaults), off (the mask), gae_loop (real tokens first, GAE's loop); each results.json goes to $OUT/<run>/.
# Usage: RUNS=runs/ci_train_py OUT=results/cpu/real_first_equal bash bench/cpu_real_first_equal.sh
set -e
RUNS=${RUNS:?the folder that holds train.py sft/ and reward/}; OUT=${OUT:-runs/real_first_equal}
mkdir -p $OUT
for LAYOUT in on off gae_loop; do
  FLAG=$([ $LAYOUT = off ] && echo False || echo True)
  GAE=$([ $LAYOUT = gae_loop ] && echo gae_advantages_and_returns || echo gae_matrix_form)
  OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} python -c "
import sys, runpy
import rlhf_course.ppo_trainer as t
import rlhf_course.ppo as ppo
t.DeepSpeedPPOTrainer.real_tokens_first = $FLAG
t.gae_matrix_form = ppo.$GAE
built, init = [0], t.RealTokensFirst.__init__
def counted(self, mask): built[0] += 1; init(self, mask)
t.RealTokensFirst.__init__ = counted
sys.argv = ['rlhf_course.step3', '--actor_model_name_or_path', '$RUNS/sft', '--critic_model_name_or_path', '$RUNS/reward',
            '--data_path', 'toyworld', '--unsupervised_dataset_name', 'toyworld', '--max_prompt_seq_len', '64',
            '--max_answer_seq_len', '48', '--per_device_generation_batch_size', '32',
            '--per_device_training_batch_size', '16', '--max_steps', '12', '--normalize_reward', '--enable_ema',
            '--dtype', 'fp32', '--seed', '1234', '--force',
            '--n_gold_prompts', '64', '--eval_interval', '100', '--output_dir', '$OUT/$LAYOUT']
try:
    runpy.run_module('rlhf_course.step3', run_name='__main__')
finally:
    print('real_tokens_first =', $FLAG, '| GAE by $GAE | RealTokensFirst built', built[0], 'times')
" > $OUT/$LAYOUT.log 2>&1; grep "step 3 done\|real_tokens_first =" $OUT/$LAYOUT.log
done
