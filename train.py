#!/usr/bin/env python
"""Steps 1-3 of RLHF in one command (DeepSpeed-Chat's e2e interface); see `python train.py --help` and chapter 09."""
from rlhf_course.pipeline import main

if __name__ == "__main__":
    main()
