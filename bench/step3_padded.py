"""Step 3 (`python -m rlhf_course.step3 ...`, the same flags) the way the trainer ran before chapter 07's RealTokensFirst
and chapter 05's gae_matrix_form: padded rows with their attention mask, and GAE's loop over positions.

    python bench/step3_padded.py --actor_model_name_or_path A --critic_model_name_or_path R --dtype bf16 ...

For measuring what the two changes did to step 3's learning figures (bench/gpu_layout_learning.sh); not for training.
"""
import sys

import rlhf_course.ppo_trainer as ppo_trainer
from rlhf_course import step3
from rlhf_course.ppo import gae_advantages_and_returns

ppo_trainer.DeepSpeedPPOTrainer.real_tokens_first = False
ppo_trainer.gae_matrix_form = gae_advantages_and_returns

if __name__ == "__main__":
    step3.main(sys.argv[1:])
