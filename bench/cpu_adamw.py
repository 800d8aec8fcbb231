"""torch's AdamW on the CPU, three ways: one tensor at a time (its CPU default), `foreach=True`, `fused=True`.

ms per optimizer step on the committed toy models' parameters (two groups, as `get_optimizer_grouped_parameters`
makes them), one thread, after warm-up; and how far each lands from the one-tensor-at-a-time result after 20 steps.

    python bench/cpu_adamw.py --out results/cpu/adamw.json
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from common import write_results

ROOT = Path(__file__).resolve().parent.parent
KINDS = {"single_tensor": dict(foreach=False), "foreach": dict(foreach=True), "fused": dict(fused=True)}

def run(params, kind: str, steps: int = 20, warmup: int = 5):
    "(ms per step after `warmup`, the parameters after `steps` steps of fixed random gradients)."
    ps = [p.detach().clone().requires_grad_() for p in params]
    half = len(ps) // 2
    opt = torch.optim.AdamW([{"params": ps[:half], "weight_decay": 0.0}, {"params": ps[half:], "weight_decay": 0.1}],
                            lr=1e-3, betas=(0.9, 0.95), **KINDS[kind])
    g = torch.Generator().manual_seed(1)
    grads = [[torch.randn(p.shape, generator=g) for p in ps] for _ in range(3)]
    for i in range(steps):
        for p, grad in zip(ps, grads[i % 3]): p.grad = grad
        if i == warmup: t0 = time.perf_counter()
        opt.step()
    return (time.perf_counter() - t0) / (steps - warmup) * 1e3, [p.detach() for p in ps]

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/bench/adamw.json")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    from transformers import AutoModelForCausalLM
    rows = {}
    for name in ("actor", "reward"):
        params = list(AutoModelForCausalLM.from_pretrained(ROOT / "data" / "toyworld" / "models" / name).parameters())
        ms, final = {}, {}
        for kind in KINDS:
            ms[kind], final[kind] = run(params, kind)
        rows[name] = {"tensors": len(params), "ms_per_step": {k: round(v, 2) for k, v in ms.items()},
                      "max_abs_diff_vs_single_tensor": {k: max((a - b).abs().max().item() for a, b in
                                                               zip(final["single_tensor"], final[k])) for k in KINDS}}
        print(name, rows[name], flush=True)
    write_results(args.out, {"models": rows, "threads": 1, "torch": torch.__version__})

if __name__ == "__main__":
    main()
