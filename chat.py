#!/usr/bin/env python
"""Chat with a trained actor: `python chat.py --path OUTPUT_DIR/actor` (chapter 10)."""
from rlhf_course.chat import main

if __name__ == "__main__":
    main()
