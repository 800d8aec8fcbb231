# Sourced by the bench/gpu_*.sh device scripts after they set OUT: the packages from .whl (the device has no internet;
# installed without bytecode, as the device tool's README does it), the repository and bench/ on PYTHONPATH, Hopper's
# CUDA arch for any extension build, COMMIT (the commit the working tree holds; the device copy's .git may name
# another) as BENCH_COMMIT for bench/common.py's JSONs (which also record a fingerprint of the code that ran:
# `python bench/check_commit.py FILE` checks COMMIT against it), the card's name and clocks in $OUT/card.txt, and
# drop(), a filter that keeps loading messages, warnings, DeepSpeed's memory reports and progress bars out of the logs.
python3 -m pip install -q --no-index --no-deps --no-cache-dir --target /tmp/site .whl/*.whl > /tmp/install.log 2>&1
export PYTHONPATH=/tmp/site:$PWD:$PWD/bench PATH=/tmp/site/bin:$PATH TORCH_CUDA_ARCH_LIST=9.0 BENCH_COMMIT=${COMMIT:-}
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,power.draw --format=csv | tee $OUT/card.txt
drop() { grep -v "Loading weights\|UserWarning\|warnings.warn\|real_accelerator\|Virtual Memory\|MA .* GB\|it/s\]\|s/it\]"; }
# tiny_pipeline SECONDS: `python train.py` (the tiny default, issue 20's target 4) on this GPU within SECONDS, its step
# times printed, its log, results and metrics in $OUT/pipe.tgz.
tiny_pipeline() {
  echo "=== train.py with $1 s left"
  timeout "$1" python train.py --deployment-type single_gpu --output-dir /tmp/pipe --no-chat --seed 1234 > /tmp/pipe.log 2>&1; echo "exit $?" >> /tmp/pipe.log
  grep "step .* done in\|wall time\|^ *[123] \|exit\|rror" /tmp/pipe.log | grep -v "{" | tail -8
  (cd /tmp && tar czf - pipe.log $(ls pipe/results.json pipe/*/results.json pipe/*/metrics.jsonl 2>/dev/null)) > $OUT/pipe.tgz
}
