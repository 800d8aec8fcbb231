"""Step 3 (`python -m rlhf_course.step3 ...`, the same flags) with the DeepSpeed config the package built before it asked
for DeepSpeed's BF16_Optimizer: bf16 gradients at ZeRO-0, DeepSpeed's per-parameter wrapper around the AdamW.

    python bench/step3_unfused.py --actor_model_name_or_path A --critic_model_name_or_path R --dtype bf16 ...

For measuring what the change did to step 3's learning figures (bench/gpu_bf16opt_learning.sh); not for training.
"""
import functools
import sys

import rlhf_course.harness as harness
from rlhf_course import step3

harness.get_train_ds_config = functools.partial(harness.get_train_ds_config, bf16_optimizer=False)

if __name__ == "__main__":
    step3.main(sys.argv[1:])
