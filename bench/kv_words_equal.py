"""The rollout engine with its KV-cache writes as 8-byte words (chapter 06b's write_kv) against the plain element copy:
the same tokens and log-probabilities, greedy and sampled with one seed, on an OPT-1.3B-shaped random actor (the GPU
path: bf16, CUDA graphs), asserted where the engine repeats its own outputs bitwise (it did not in bf16 on an H200:
results/gpu/kv_words_equal).

    python bench/kv_words_equal.py                                         # on the GPU
    python bench/kv_words_equal.py --shape tiny-actor --batch 4 --prompt 16 --new 8    # CPU smoke test
"""
from __future__ import annotations

import argparse

import torch
from common import SHAPES, random_opt
from rollout import elementwise_kv_writes

from rlhf_course.rollout import RolloutEngine, Sampling

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", default="opt-1.3b", choices=sorted(SHAPES))
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--prompt", type=int, default=256)
    p.add_argument("--new", type=int, default=64)
    args = p.parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = random_opt(args.shape, torch.bfloat16 if device == "cuda" else torch.float32).to(device).eval()
    g = torch.Generator(device=device).manual_seed(0)
    ids = torch.randint(4, model.config.vocab_size, (args.batch, args.prompt), device=device, generator=g)
    mask = torch.ones_like(ids)
    mask[: args.batch // 2, : args.prompt // 4] = 0          # half the rows left-padded
    ids = ids.where(mask.bool(), 1)
    ok = True
    for sampling in (Sampling(greedy=True), Sampling()):
        # words, words again (is the engine itself repeatable?), then the element copy
        out = []
        for words in (True, True, False):
            engine = RolloutEngine(model)
            def call():
                torch.manual_seed(1)
                return engine.generate(ids, mask, args.new, sampling, eos=-1, pad=1)
            out.append((call if words else elementwise_kv_writes(call))())
        for name, (t, lp) in (("words again", out[1]), ("element copy", out[2])):
            same = torch.equal(out[0][0], t) and torch.equal(out[0][1], lp)
            first = (out[0][0] != t).any(0).nonzero()
            print(f"{'greedy' if sampling.greedy else 'sampled'}, words against {name}: identical {same}; tokens equal "
                  f"{(out[0][0] == t).float().mean().item():.4f}, first differing step "
                  f"{first[0].item() if len(first) else None}, largest log-prob gap {(out[0][1] - lp).abs().max().item():.3g}",
                  flush=True)
            if name == "words again":
                repeatable = same
            elif repeatable:
                ok &= same
            else:
                print("  the engine does not repeat itself bitwise here, so neither can the two copies be told apart "
                      "by their outputs (the cache's bytes are compared in chapter 06b's test)", flush=True)
    assert ok, "the element copy and the word copy gave different outputs"
    print("OK")

if __name__ == "__main__":
    main()
