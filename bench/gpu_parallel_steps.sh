#!/bin/bash
# Issue 20: the tiny `python train.py` on one GPU with steps 1 and 2 launched together (--parallel-steps auto, the
# default there) against one after the other (--parallel-steps no), run alternately: auto, no, auto. Each run's
# train.py output (progress bars dropped), results.json and per-step results.json go to $OUT/<name>/.
# RUNS: name:mode pairs (default: auto_1:auto no_1:no auto_2:auto); LONE=1 runs bench/lone_allreduce.py first;
# STARTUP=1 first times the imports of train.py's own process (the pipeline; chapter 14's entry point), twice each.
# COMMIT (the commit the working tree holds; the device copy's .git may name another) goes into $OUT/commit.txt.
set -o pipefail
OUT=${OUT:-runs/gpu_parallel}; mkdir -p $OUT; T0=$SECONDS
echo "${COMMIT:-unknown}" > $OUT/commit.txt
source bench/gpu_env.sh
env | grep -E "^PYTHON|^TORCH_CUDA" | sort > $OUT/env.txt
python -c "import rlhf_course.step3" 2>/dev/null; echo "=== warm-up import done at $((SECONDS - T0)) s"
if [ -n "$STARTUP" ]; then   # train.py's own start-up: what its process imports before it launches step 1
  for m in rlhf_course.pipeline rlhf_course.compare rlhf_course.pipeline rlhf_course.compare; do
    t=$(date +%s.%N); python -c "import $m" 2>/dev/null
    echo "import $m: $(python -c "print(f'{$(date +%s.%N) - $t:.2f}')") s" | tee -a $OUT/startup.txt
  done
fi
if [ -n "$LONE" ]; then   # chapter 02's one-rank all-reduce skip, measured on its own first
  python bench/lone_allreduce.py --shape tiny-reward --batch 32 --seq 48 --steps 300 --repeats 2 --out $OUT/lone_allreduce.json \
    2>&1 | grep -v "UserWarning\|warnings.warn\|real_accelerator" | tail -3
fi
for run in ${RUNS:-auto_1:auto no_1:no auto_2:auto}; do
  name=${run%%:*}; mode=${run##*:}
  LEFT=$((${LIMIT:-580} - (SECONDS - T0))); [ $LEFT -lt 60 ] && { echo "=== $name skipped: $LEFT s left"; continue; }
  mkdir -p $OUT/$name
  t=$SECONDS
  timeout $LEFT python train.py --output-dir /tmp/$name --no-chat --parallel-steps $mode 2>&1 \
    | tr '\r' '\n' | grep -v "it/s\]\|s/it\]\|Loading weights\|UserWarning\|warnings.warn" > $OUT/$name/train.log
  echo "exit ${PIPESTATUS[0]} after $((SECONDS - t)) s" >> $OUT/$name/train.log
  cp /tmp/$name/results.json $OUT/$name/ 2>/dev/null
  for s in sft reward rlhf; do mkdir -p $OUT/$name/$s; cp /tmp/$name/$s/results.json /tmp/$name/$s/pipeline_step.json $OUT/$name/$s/ 2>/dev/null; done
  echo "=== $name ($mode): $(grep -E '^ +[123] |exit' $OUT/$name/train.log | tr '\n' ' ')"
done
echo "=== all done at $((SECONDS - T0)) s"
