"""Chapter 06b on a GPU with its `#| gpu` checks (fp32: graphed == eager == generate(); no recapture after an in-place
update), without the cell that re-runs bench/*.py at full size, on the committed toy world's actor (no training first).
What those cells printed goes to gpu_checks_output.txt beside the executed notebook (chapter 06b shows it on a CPU).

    python bench/gpu_checks_06b.py runs/06b_rollout.ipynb
"""
import os
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
    printed = [o.get("text", "").rstrip() for c in nbformat.read(out, as_version=4).cells
               if c.cell_type == "code" and c.source.startswith("#| gpu") for o in c.get("outputs", [])]
    commit = os.environ.get("BENCH_COMMIT") or "unknown"
    Path(out).with_name("gpu_checks_output.txt").write_text(
        f"# printed by chapter 06b's #| gpu cells (bench/gpu_checks_06b.py, COMMIT={commit})\n" + "\n".join(filter(None, printed)) + "\n")

if __name__ == "__main__":
    main(sys.argv[1])
