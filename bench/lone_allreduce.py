"""Chapter 02's `skip_lone_allreduce` measured: a DeepSpeed ZeRO-0 engine on one rank, trained on random batches
with and without the one-rank all-reduce, ms per step (after warm-up) and whether the weights stay equal.
    python bench/lone_allreduce.py --shape tiny-reward --batch 32 --seq 48 --steps 200 --out runs/bench/lone_allreduce.json
"""
import argparse
import sys

import deepspeed
import torch

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from common import DEFAULT_OUT, random_opt, SHAPES, synced_time, write_results   # noqa: E402
from rlhf_course.ds_utils import (get_lr_scheduler, get_optimizer_grouped_parameters, get_train_ds_config,   # noqa: E402
                                  init_distributed, make_optimizer, quiet_deepspeed, skip_lone_allreduce)


def timed_run(shape, skip, batches, dtype, device, warmup=10):
    "ms per training step over `batches` (after `warmup` of them) and the final weights."
    model = random_opt(shape, dtype=torch.float32, device=device).train()
    optimizer = make_optimizer(get_optimizer_grouped_parameters(model, 0.0), lr=1e-4, device=device)
    engine, *_ = deepspeed.initialize(model=model, optimizer=optimizer,
                                      lr_scheduler=get_lr_scheduler(optimizer, "constant", 0, len(batches)),
                                      config=get_train_ds_config(False, dtype, 0, train_micro_batch_size_per_gpu=len(batches[0])))
    if skip: skip_lone_allreduce(engine)
    for i, ids in enumerate(batches):
        if i == warmup: t0 = synced_time()
        engine.backward(engine(input_ids=ids, labels=ids).loss); engine.step()
    ms = (synced_time() - t0) / (len(batches) - warmup) * 1e3
    return ms, {n: p.detach().float().cpu() for n, p in engine.module.named_parameters()}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--shape", default="tiny-reward", choices=sorted(SHAPES))
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=48)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--dtype", default="fp32", choices=("fp32", "bf16"))
    p.add_argument("--repeats", type=int, default=2, help="alternating with / without runs")
    p.add_argument("--out", default=str(DEFAULT_OUT / "lone_allreduce.json"))
    args = p.parse_args(argv)
    quiet_deepspeed()
    _, _, device = init_distributed()
    g = torch.Generator().manual_seed(0)
    batches = [torch.randint(4, SHAPES[args.shape]["vocab_size"], (args.batch, args.seq), generator=g).to(device)
               for _ in range(args.steps)]
    runs = {"with all-reduce": [], "skipped": []}
    for _ in range(args.repeats):
        for name, skip in (("with all-reduce", False), ("skipped", True)):
            ms, weights = timed_run(args.shape, skip, batches, args.dtype, device)
            runs[name].append(round(ms, 3))
            if name == "with all-reduce": reference = weights
            else: equal = all(torch.equal(reference[n], weights[n]) for n in weights)
            print(f"{name:16s} {ms:7.2f} ms per step")
    best = {k: min(v) for k, v in runs.items()}
    print(f"saved {best['with all-reduce'] - best['skipped']:.2f} ms per step (best of {args.repeats}); weights equal: {equal}")
    write_results(args.out, {"command": " ".join(["python", *sys.argv]), "shape": args.shape, "batch": args.batch,
                             "seq": args.seq, "steps": args.steps, "dtype": args.dtype, "device": str(device),
                             "ms_per_step": runs, "best_ms": best, "weights_equal": equal})


if __name__ == "__main__":
    main()
