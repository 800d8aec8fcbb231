"""Where a decoding step's time goes: the rollout engine's step run eagerly under the PyTorch profiler, kernels by time.

    python bench/profile_decode.py                      # OPT-1.3B shape, bf16, batch 32, 256 + 16 tokens, on the GPU
    python bench/profile_decode.py --shape tiny-actor --batch 4 --prompt 16 --new 8      # CPU smoke test

The eager step launches the same kernels the CUDA graph replays, so their times add up to the graphed step's time
(the graph removes only the launch gaps). The profile includes one prefill (the largest matrix products).
"""
from __future__ import annotations

import argparse

import torch
from common import SHAPES, random_opt
from torch.profiler import ProfilerActivity, profile

from rlhf_course.rollout import RolloutEngine, Sampling

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", default="opt-1.3b", choices=sorted(SHAPES))
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--prompt", type=int, default=256)
    p.add_argument("--new", type=int, default=17, help="tokens decoded under the profiler (the first comes from prefill)")
    p.add_argument("--top", type=int, default=20, help="kernels listed")
    p.add_argument("--no_pack_qkv", action="store_true", help="profile the engine that reads every weight in place")
    return p.parse_args(argv)

def main(argv=None):
    args = parse_args(argv)
    cuda = torch.cuda.is_available()
    model = random_opt(args.shape, torch.bfloat16 if cuda else torch.float32, "cuda" if cuda else "cpu")
    ids = torch.randint(4, model.config.vocab_size, (args.batch, args.prompt), device=model.device)
    engine = RolloutEngine(model, use_cuda_graph=False, pack_qkv=not args.no_pack_qkv)
    run = lambda: engine.generate(ids, torch.ones_like(ids), args.new, Sampling(), eos=-1, pad=1)
    run()                                                        # warm-up: allocations, cuBLAS heuristics
    activity = ProfilerActivity.CUDA if cuda else ProfilerActivity.CPU
    with profile(activities=[activity]) as prof: run()
    events = [e for e in prof.key_averages() if (e.device_time_total if cuda else e.self_cpu_time_total) > 0]
    time_of = (lambda e: e.device_time_total) if cuda else (lambda e: e.self_cpu_time_total)
    total = sum(time_of(e) for e in events)
    print(f"{args.shape}, batch {args.batch}, {args.prompt} + {args.new} tokens: {total / 1e3:.2f} ms in "
          f"{sum(e.count for e in events)} {'kernels' if cuda else 'ops'}; per decoding step about "
          f"{total / 1e3 / args.new:.3f} ms (prefill included)")
    for e in sorted(events, key=time_of, reverse=True)[:args.top]:
        print(f"{time_of(e) / 1e3:9.2f} ms {100 * time_of(e) / total:5.1f}%  n={e.count:6d}  {e.key[:100]}")

if __name__ == "__main__":
    main()
