"""What DeepSpeed's CPU communication backend costs a fresh machine as it starts, with and without its shared-memory op.

`deepspeed.init_distributed` on the CPU builds `deepspeed_shm_comm` (g++, cached in TORCH_EXTENSIONS_DIR) unless the op
is marked unavailable, which `rlhf_course.ds_utils.init_distributed` does (chapter 02). Each case runs in a fresh
process with an empty extensions folder, as on a new machine or a CI run:

    python bench/op_build.py --out results/cpu/op_build.json

Run it on an otherwise idle machine: the build is g++ on one core.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from common import write_results

CASE = """
import json, time
import deepspeed, torch
if {skip}:
    from rlhf_course.ds_utils import init_distributed
    t0 = time.perf_counter(); init_distributed()
else:   # DeepSpeed's own start, as before chapter 02 skipped the op
    t0 = time.perf_counter(); deepspeed.init_distributed(dist_backend="gloo")
s = time.perf_counter() - t0
x = torch.ones(2); torch.distributed.all_reduce(x)
print(json.dumps({{"init_s": round(s, 2), "shm_op_loaded": deepspeed.comm.comm.cdb.shm_comm_op is not None}}))
"""

def run_case(skip: bool) -> dict:
    with tempfile.TemporaryDirectory() as ext:
        env = dict(os.environ, TORCH_EXTENSIONS_DIR=ext, MASTER_ADDR="127.0.0.1", MASTER_PORT="0", RANK="0",
                   WORLD_SIZE="1", LOCAL_RANK="0")
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CASE.format(skip=skip)], env=env, capture_output=True, text=True,
                             check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        built = sorted(os.listdir(ext)) if os.path.isdir(ext) else []
    return {**row, "process_s": round(time.perf_counter() - t0, 2), "extensions_built": built}

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/bench/op_build.json")
    args = p.parse_args(argv)
    rows = {"deepspeed_default": run_case(False), "init_distributed": run_case(True)}
    for name, row in rows.items(): print(name, row, flush=True)
    write_results(args.out, {"cases": rows, "cpus": os.cpu_count()})

if __name__ == "__main__":
    main()
