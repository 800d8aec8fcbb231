#!/bin/bash
# Issue 20, target 2: the rollout engine with each residual sum fused into its LayerNorm (fuse_norms, on by default on
# GPUs), one device call:
# 0. the first call of fused_add_norm() in a fresh process with an empty compile cache (import + compile: what a run pays once);
# 1. bench/rollout.py at B = 32 and 128: the engine (fused), unfused, with 32-slot windows, and the compiled static cache;
# 2. bench/step3.py at B = 32 and 64 with the engine's defaults, and the engine's log-probs against the actor's forward;
# 3. chapter 06b with its GPU checks (fp32: graphed == eager == generate(), fused == unfused).
# COMMIT (the commit the working tree holds; the device copy's .git may name another) goes into every JSON.
set -o pipefail
OUT=${OUT:-runs/gpu_fused}; mkdir -p $OUT; T0=$SECONDS
source bench/gpu_env.sh
TORCHINDUCTOR_CACHE_DIR=/tmp/inductor_once python - <<'PY' 2>&1 | drop | tee $OUT/compile_once.txt
import time; t0 = time.perf_counter()
import torch
from rlhf_course.rollout import fused_add_norm
x = torch.randn(4, 1, 64, device="cuda"); t1 = time.perf_counter()
fused_add_norm()(x, x, torch.ones(64, device="cuda"), torch.zeros(64, device="cuda")); torch.cuda.synchronize()
t2 = time.perf_counter(); fused_add_norm()(x, x, torch.ones(64, device="cuda"), torch.zeros(64, device="cuda")); torch.cuda.synchronize()
print(f"fused_add_norm in a fresh process: imports + first tensor {t1 - t0:.2f} s, first call (compile) {t2 - t1:.2f} s, second {time.perf_counter() - t2:.4f} s")
PY
timeout 220 python bench/rollout.py --batch 32 128 --engines fast fast-unfused fast-w32 hf-static --out $OUT/bench_rollout_fused.json 2>&1 | drop > $OUT/rollout.log
tail -3 $OUT/rollout.log; echo "=== rollout done at $((SECONDS - T0)) s"
timeout 180 python bench/step3.py --batch 32 64 --updates 2 --engines fast --logprob_gap --models /tmp/models --out $OUT/step3_fused.json 2>&1 | drop > $OUT/step3.log
tail -4 $OUT/step3.log; echo "=== step3 done at $((SECONDS - T0)) s"
LEFT=$((${LIMIT:-585} - (SECONDS - T0)))
timeout $LEFT python bench/gpu_checks_06b.py $OUT/06b_rollout.ipynb 2>&1 | drop > $OUT/06b.log
echo "=== 06b exit ${PIPESTATUS[0]} at $((SECONDS - T0)) s"; grep "norms\|graphs\|Error\|rror" $OUT/06b.log | tail -5
