"""Decoding speed: the rollout engine (chapter 06b) against Hugging Face generate(), default and compiled static cache.

    python bench/rollout.py                                   # OPT-1.3B shape, bf16, 256 + 256 tokens, batch 8 32 64
    python bench/rollout.py --shape tiny-actor --batch 2 --prompt 16 --new 8 --engines fast hf   # CPU smoke test

Random weights, random prompts, sampling at temperature 1 with no EOS, so every row decodes all `--new` tokens.
For each engine and batch size: the first call (with its compile or graph capture) apart from the steady state, ms per
decoding step, tokens/s, and the share of the card's memory bandwidth the step uses, (weight bytes + KV bytes read) /
step time / peak. Also checks that the engine does not re-capture when the weights change in place (a PPO update).
"""
from __future__ import annotations

import argparse
import statistics
from unittest import mock

import torch
from common import DEFAULT_OUT, SHAPES, card, random_opt, synced_time, write_results
from decode_attention import compiled_products_and_sums, triton_decode_attention, with_decode_attention

from rlhf_course.rollout import RolloutEngine, Sampling, add_norm

# the engine with its defaults (fast), without the packed W_qkv copy (fast-inplace), with PyTorch's separate add and
# layer_norm kernels (fast-unfused), with attention windows of 32 slots instead of 64 (fast-w32), with its KV-cache
# writes as bf16 elements instead of 8-byte words (fast-elementwise: the engine before chapter 06b's write_kv), with its
# decoding steps' attention as compiled products and sums (fast-sums) or a hand-written Triton kernel (fast-triton),
# bench/decode_attention.py's levers under test
ENGINES = ("fast", "fast-inplace", "fast-unfused", "fast-w32", "fast-elementwise", "fast-sums", "fast-triton", "hf", "hf-static")

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", default="opt-1.3b", choices=sorted(SHAPES))
    p.add_argument("--batch", type=int, nargs="+", default=[8, 32, 64])
    p.add_argument("--prompt", type=int, default=256)
    p.add_argument("--new", type=int, default=256)
    p.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    p.add_argument("--repeats", type=int, default=3, help="steady-state calls per engine and batch (the median is kept)")
    p.add_argument("--out", default=str(DEFAULT_OUT / "bench_rollout.json"), help="JSON to write (default under runs/)")
    args = p.parse_args(argv)
    if args.new < 2: p.error(f"--new {args.new}: at least 2 tokens (a decoding step's time is measured after the first)")
    return args

def make_call(engine: str, model, ids, mask, new: int):
    "A function that decodes `new` tokens for the batch with the named engine."
    if engine.startswith("fast"):
        options = {"fast-inplace": dict(pack_qkv=False), "fast-unfused": dict(fuse_norms=False), "fast-w32": dict(window_step=32)}
        fast = RolloutEngine(model, **options.get(engine, {}))
        call = lambda: fast.generate(ids, mask, new, Sampling(), eos=-1, pad=1)
        if engine in ("fast-sums", "fast-triton"):
            call = with_decode_attention(call, compiled_products_and_sums() if engine == "fast-sums" else triton_decode_attention)
        return (elementwise_kv_writes(call) if engine == "fast-elementwise" else call), fast
    extra = {"cache_implementation": "static"} if engine == "hf-static" else {}
    return (lambda: model.generate(input_ids=ids, attention_mask=mask, do_sample=True, top_k=None, max_new_tokens=new,
                                   min_new_tokens=new, pad_token_id=1, **extra)), None

def elementwise_kv_writes(call):
    "`call` with the engine's KV-cache writes as a plain index_copy_ of the cache's own elements while it runs."
    import rlhf_course.rollout as rollout
    plain = lambda kv_cache, slots, kv: kv_cache.index_copy_(3, slots, kv)
    return mock.patch.object(rollout, "write_kv", plain)(call)

def timed(fn) -> float:
    t0 = synced_time(); fn(); return synced_time() - t0

def step_bytes(model, batch: int, prompt: int, new: int) -> float:
    "Bytes a decoding step must read on average: every weight, and the KV cache up to the middle of the answer."
    c = model.config
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    kv = 2 * c.num_hidden_layers * batch * (prompt + new / 2) * c.hidden_size * next(model.parameters()).element_size()
    return weights + kv

def bench_one(engine: str, model, batch: int, args, prefill_s: float, peak_bw) -> dict:
    device = next(model.parameters()).device
    ids = torch.randint(4, model.config.vocab_size, (batch, args.prompt), device=device)
    mask = torch.ones_like(ids)
    call, fast = make_call(engine, model, ids, mask, args.new)
    first = timed(call)
    steady = statistics.median(timed(call) for _ in range(args.repeats))
    step = (steady - prefill_s) / (args.new - 1)
    row = {"engine": engine, "batch": batch, "first_call_s": round(first, 3), "steady_call_s": round(steady, 4),
           "prefill_ms": round(prefill_s * 1e3, 2), "ms_per_step": round(step * 1e3, 3),
           "tokens_per_s": round(batch * args.new / steady, 1),
           "bandwidth_fraction": round(step_bytes(model, batch, args.prompt, args.new) / step / peak_bw, 3) if peak_bw else None}
    if fast is not None:
        row.update(capture_s=round(fast.stats["capture_s"], 3), captures=fast.stats["captures"],
                   copied_bytes=fast.stats["copied_bytes"], fused_norms=fast.add_norm is not add_norm, window_step=fast.window_step)
        with torch.no_grad():
            for p in model.parameters(): p.mul_(1.0001)           # an in-place update, as an optimizer step makes
        timed(call)
        row["recaptures_after_weight_update"] = fast.stats["captures"] - row["captures"]
    return row

def prefill_time(model, batch: int, prompt: int) -> float:
    "One forward pass over the prompts (the same work for every engine)."
    device = next(model.parameters()).device
    ids = torch.randint(4, model.config.vocab_size, (batch, prompt), device=device)
    with torch.no_grad():
        model(input_ids=ids); return min(timed(lambda: model(input_ids=ids)) for _ in range(3))

def main(argv=None):
    args = parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = random_opt(args.shape, torch.bfloat16 if device == "cuda" else torch.float32, device)
    model.generation_config.eos_token_id = None                   # decode every token: no row stops early
    peak_bw = card()["peak_bytes_per_s"]
    rows = []
    for batch in args.batch:
        prefill_s = prefill_time(model, batch, args.prompt)
        for engine in args.engines:
            rows.append(bench_one(engine, model, batch, args, prefill_s, peak_bw))
            print({k: v for k, v in rows[-1].items()}, flush=True)
            if device == "cuda": torch.cuda.empty_cache()
    step = {(r["engine"], r["batch"]): r["ms_per_step"] for r in rows}
    ratios = {f"{other}/fast, batch {b}": round(step[(other, b)] / step[("fast", b)], 2)
              for b in args.batch for other in args.engines if other != "fast" and ("fast", b) in step}
    print("ms per decoding step ratios (higher: the engine is faster):", ratios)
    write_results(args.out, {"shape": args.shape, "parameters": sum(p.numel() for p in model.parameters()),
                             "dtype": str(next(model.parameters()).dtype), "prompt_tokens": args.prompt,
                             "new_tokens": args.new, "rows": rows, "step_time_ratios": ratios})

if __name__ == "__main__":
    main()
