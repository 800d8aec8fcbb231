"""Chapter 06b on a GPU with its `#| gpu` checks (fp32: graphed == eager == generate(); no recapture after an in-place
update), without the cell that re-runs bench/*.py at full size, on the committed toy world's actor (no training first).

    python bench/gpu_checks_06b.py runs/06b_rollout.ipynb
"""
import sys
from pathlib import Path

import nbformat

from rlhf_course.book import run_notebook

BENCH_CELL = "ec63f969"   # gpu_rollout = bench("rollout", ...); gpu_step3 = bench("step3", ...)

def main(out: str):
    nb = nbformat.read("nbs/06b_rollout.ipynb", as_version=4)
    nb.cells = [c for c in nb.cells if c.get("id") != BENCH_CELL]
    tmp = Path("nbs/_06b_gpu_checks.ipynb")
    nbformat.write(nb, tmp)
    params = {"model_path": "../data/toyworld/models/actor", "reward_path": "../data/toyworld/models/reward"}
    try: print(f"chapter 06b with its gpu cells: {run_notebook(tmp, out, params, flags=('gpu',), cwd='nbs'):.0f}s", flush=True)
    finally: tmp.unlink(missing_ok=True)

if __name__ == "__main__":
    main(sys.argv[1])
