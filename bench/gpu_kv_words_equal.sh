#!/bin/bash
# Issue 20: bench/kv_words_equal.py on the GPU, whose assert stopped bench/gpu_kv_words.sh's last step without saying
# which comparison failed: now it prints each (the word copy twice, then against the element copy), then asserts.
set -o pipefail
OUT=${OUT:-runs/gpu_kv_words_equal}; mkdir -p $OUT
source bench/gpu_env.sh
timeout 200 python bench/kv_words_equal.py 2>&1 | drop | tee $OUT/kv_words_equal.log | tail -8
