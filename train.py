#!/usr/bin/env python
"""Steps 1-3 of RLHF in one command (DeepSpeed-Chat's e2e interface); see `python train.py --help` and chapter 09.
`--algorithm dpo|grpo|rloo` runs chapter 12's or 13's algorithm in place of steps 2-3 (dpo) or step 3 (chapter 14)."""
import sys

from rlhf_course.pipeline import main, plain_pipeline_call

if __name__ == "__main__":
    if not plain_pipeline_call(sys.argv[1:]):
        from rlhf_course.compare import train_main as main   # imports every algorithm: only when asked for
    main()
