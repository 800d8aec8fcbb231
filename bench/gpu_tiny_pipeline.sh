#!/bin/bash
# Issue 20, target 4: the tiny pipeline on one GPU, `train.py --deployment-type single_gpu --no-chat --seed 1234` (the
# command of bench/gpu_trim.sh's first part), RUNS times into fresh output folders, each timed by train.py itself
# (results.json's total_wall_s and per-step wall_s); the first run is the machine's first (cold caches).
# $OUT gets card.txt, commit.txt, summary.txt (each run's walls) and runs.tgz: per run, train.py's log (progress bars
# dropped), its results.json and every step's results.json.
set -o pipefail
OUT=${OUT:-runs/gpu_tiny_pipeline}; W=${W:-/tmp/gpu_tiny_pipeline}; mkdir -p $OUT $W/keep; T0=$SECONDS
echo "${COMMIT:-unknown}" > $OUT/commit.txt
source bench/gpu_env.sh
for i in $(seq 1 ${RUNS:-2}); do
  python train.py --deployment-type single_gpu --output-dir $W/run_$i --no-chat --seed 1234 2>&1 | drop > $W/keep/train_$i.log
  echo "=== run $i exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s" | tee -a $OUT/summary.txt
  python -c "import json; r = json.load(open('$W/run_$i/results.json')); print('total_wall_s', r['total_wall_s'], {k: v['wall_s'] for k, v in r['steps'].items()})" | tee -a $OUT/summary.txt
  mkdir -p $W/keep/run_$i; cp $W/run_$i/results.json $W/keep/run_$i/
  for s in sft reward rlhf; do mkdir -p $W/keep/run_$i/$s; cp $W/run_$i/$s/results.json $W/keep/run_$i/$s/; done
done
tar czf $OUT/runs.tgz -C $W/keep .
