#!/bin/bash
# Issue 20, target 1: does the device's transformers (5.17, preinstalled) understate step 3 against what a newcomer's
# `pip install` gets (5.25, CI's)? Chapter 06b's CPU profile found 5.17's OPT reading a mask back from the GPU in every
# forward. bench/step3.py at B = 32 and 64 in three processes, 5.17 / 5.25 / 5.17 (the repeat shows the drift between
# processes). 5.25 and its new dependencies come from .whl-tf/ (carried; not in the repository), installed apart. Built with
#   pip download -d /tmp/tf --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 transformers==5.25.0
# keeping the wheels that .whl/ lacks, less what the device has at a version 5.25 accepts (torch, numpy, pyyaml, tqdm,
# packaging, filelock, fsspec, regex, typing_extensions, pydantic and the like): transformers, tokenizers,
# huggingface_hub, safetensors, hf_xet, kernels, typer and their small dependencies, 25 MB.
set -o pipefail
OUT=${OUT:-runs/gpu_transformers_pair}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
ls .whl-tf/transformers-5.25.0-*.whl > /dev/null 2>&1 || { echo "no .whl-tf/transformers-5.25.0 wheel: build .whl-tf/ as above"; exit 1; }
python3 -m pip install -q --no-index --no-deps --no-cache-dir --target /tmp/site_tf .whl-tf/*.whl > /tmp/install_tf.log 2>&1 \
  || { echo "installing .whl-tf/ failed:"; tail -5 /tmp/install_tf.log; exit 1; }
BASE=$PYTHONPATH
S="python bench/step3.py --models /tmp/models --steps 3 --updates 2 --engines fast --batch 32 64"
for run in 517a 525 517b; do
  export PYTHONPATH=$([ $run = 525 ] && echo /tmp/site_tf:$BASE || echo $BASE)
  python -c "import transformers, tokenizers, huggingface_hub as h; print('$run: transformers', transformers.__version__, 'tokenizers', tokenizers.__version__, 'hub', h.__version__)"
  timeout 150 $S --out $OUT/step3_tf$run.json 2>&1 | drop | grep -v "^W1\|^E1\|^I1\|destroy_process_group" > /tmp/step3_$run.log
  echo "=== $run exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; grep -A3 "^engine" /tmp/step3_$run.log
done
cat /tmp/step3_*.log > $OUT/step3.log
echo "=== all done at $((SECONDS - T0)) s"
