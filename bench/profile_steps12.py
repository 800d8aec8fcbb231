"""Where a toy step 1 or 2 spends its time (issue 20, item 4: the tiny pipeline on one GPU): one epoch under cProfile.

usage: python bench/profile_steps12.py [--step 2] [--dtype bf16] [--epochs 1] [--out runs/bench/profile_step2.json]

Trains the committed tiny world's step (train.py's toy options, no gold evaluation) in this process, then prints the
wall time, optimizer steps per second and the functions with the largest cumulative and own time; the JSON keeps them
with the card and the provenance.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_OUT, synced_time, write_results  # noqa: E402

from rlhf_course import reward, sft  # noqa: E402
from rlhf_course.toyworld import load_toyworld  # noqa: E402


def top(stats: pstats.Stats, key: str, n: int) -> list[dict]:
    "The n functions with the largest `key` ('cumulative' or 'tottime'): name, calls, own and cumulative seconds."
    rows = []
    for (file, line, name), (_, calls, tottime, cumtime, _) in stats.stats.items():
        rows.append({"function": f"{Path(file).name}:{line}({name})", "calls": calls,
                     "tottime_s": round(tottime, 3), "cumtime_s": round(cumtime, 3)})
    return sorted(rows, key=lambda r: -r["cumtime_s" if key == "cumulative" else "tottime_s"])[:n]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--step", type=int, choices=[1, 2], default=2)
    p.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--sdpa_backends", nargs="+", default=None, choices=["flash", "efficient", "cudnn", "math"],
                   help="allow only these scaled_dot_product_attention backends (default: torch's choice)")
    p.add_argument("--out", default=None, help=f"the JSON (default: {DEFAULT_OUT}/profile_stepN.json)")
    args = p.parse_args(argv)
    world, module = load_toyworld(), (sft if args.step == 1 else reward)
    out_dir = Path(tempfile.mkdtemp(prefix=f"profile-step{args.step}-"))
    flags = ["--model_name_or_path", str(world.actor if args.step == 1 else world.reward), "--output_dir", str(out_dir),
             "--data_path", "toyworld", "--max_prompt_seq_len", "64", "--max_seq_len", "128",
             "--num_train_epochs", str(args.epochs), "--dtype", args.dtype]
    if args.step == 1: flags += ["--n_gold_prompts", "0"]
    train = sft.train_sft if args.step == 1 else reward.train_reward
    if args.sdpa_backends:   # e.g. cuDNN's attention builds a plan per new shape (dynamic padding: most batches)
        import torch
        for name in ("flash", "efficient", "cudnn", "math"):
            getattr(torch.backends.cuda, f"enable_{'mem_efficient' if name == 'efficient' else name}_sdp")(
                name in args.sdpa_backends)
    profile = cProfile.Profile()
    t0 = synced_time()
    profile.enable()
    results = train(module.parse_args(flags))
    profile.disable()
    wall = synced_time() - t0
    stats = pstats.Stats(profile)
    steps = results["optimizer_steps"]
    print(f"step {args.step}, {args.epochs} epoch(s), {args.dtype}: {wall:.1f}s in all, {results['train_s']:.1f}s training, "
          f"{steps} optimizer steps, {1000 * results['train_s'] / steps:.1f} ms per step")
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    write_results(args.out or DEFAULT_OUT / f"profile_step{args.step}.json", {
        "command": " ".join(["python", "bench/profile_steps12.py", *(argv if argv is not None else sys.argv[1:])]),
        "step": args.step, "dtype": args.dtype, "sdpa_backends": args.sdpa_backends, "epochs": args.epochs, "wall_s": round(wall, 2),
        "train_s": results["train_s"], "optimizer_steps": steps, "ms_per_step": round(1000 * results["train_s"] / steps, 2),
        "top_cumulative": top(stats, "cumulative", args.top), "top_own": top(stats, "tottime", args.top)})


if __name__ == "__main__":
    main()
