"""A decoding step's pieces timed alone, each against its alternatives: attention over the cache, the cache write, add + LayerNorm.

    python bench/decode_pieces.py                          # OPT-1.3B shape (32 heads of 64), bf16, batch 32 128, windows 384 512
    python bench/decode_pieces.py --batch 2 --window 64 --layers 2 --repeats 2      # CPU smoke test (eager pieces only)

Each piece runs once per layer on that layer's own tensors (24 caches, as in the model, so that the L2 cache does not
hold them), captured as one CUDA graph and replayed; the figure is microseconds per layer and, for attention, the
share of the card's bandwidth its key and value reads use. The attention bias masks a third of the slots, as left
padding does. Every attention variant's output is checked against PyTorch's math kernel before it is timed.
"""
from __future__ import annotations

import argparse
import statistics

import torch
import torch.nn.functional as F
from common import DEFAULT_OUT, pieces_setting, synced_time, write_results
from decode_attention import compiled_products_and_sums, products_and_sums, triton_decode_attention
from torch.nn.attention import SDPBackend, sdpa_kernel


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, nargs="+", default=[32, 128])
    p.add_argument("--window", type=int, nargs="+", default=[384, 512])
    p.add_argument("--heads", type=int, default=32)
    p.add_argument("--head_dim", type=int, default=64)
    p.add_argument("--layers", type=int, default=24)
    p.add_argument("--repeats", type=int, default=20, help="graph replays timed (the median is kept)")
    p.add_argument("--out", default=str(DEFAULT_OUT / "decode_pieces.json"))
    return p.parse_args(argv)


def timed_per_call(fn, calls: int, repeats: int) -> float:
    "Seconds per call of fn(i) for i < calls: one CUDA graph of all calls on GPUs, a plain loop on CPUs."
    run = lambda: [fn(i) for i in range(calls)]
    run()
    if torch.cuda.is_available():
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            run()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            run()
        run = graph.replay
    times = []
    for _ in range(repeats):
        t0 = synced_time(); run(); times.append(synced_time() - t0)
    return statistics.median(times) / calls


def attention_variants(cuda: bool) -> dict:
    "name -> f(q, k, v, bias (B, 1, 1, W)): attention of one query over W slots."
    def sdpa(backend):
        def f(q, k, v, bias):
            with sdpa_kernel([backend]):
                return F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return f
    out = {"sdpa-math": sdpa(SDPBackend.MATH), "products and sums": products_and_sums}
    if not cuda:
        return out
    out.update({"compiled products and sums": compiled_products_and_sums(), "triton one pass": triton_decode_attention})
    out.update({"sdpa-cudnn": sdpa(SDPBackend.CUDNN_ATTENTION), "sdpa-efficient": sdpa(SDPBackend.EFFICIENT_ATTENTION)})
    from torch.nn.attention.flex_attention import flex_attention

    def flex(q, k, v, bias):
        b2 = bias[:, 0, 0]
        return flex_attention(q, k, v, score_mod=lambda s, b, h, qi, ki: s + b2[b, ki])
    out["flex"] = torch.compile(flex, dynamic=True, fullgraph=True)     # as the engine compiles it
    # a lower bound, not a candidate: no mask, so it attends to padding too
    def flash_nomask(q, k, v, bias):
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
            return F.scaled_dot_product_attention(q, k, v)
    out["sdpa-flash-nomask (bound)"] = flash_nomask
    return out


def write_variants(cuda: bool) -> dict:
    "name -> f(cache (B, 2, H, L, D), slot (1,), kv (B, 2, H, 1, D)): write this step's keys and values."
    def index_copy(cache, slot, kv): cache.index_copy_(3, slot, kv)
    out = {"index_copy": index_copy}
    if cuda:
        out["compiled index_copy"] = torch.compile(index_copy, dynamic=False, fullgraph=True)
    return out


def norm_variants(cuda: bool) -> dict:
    "name -> f(x, delta, w, b): (x + delta, layer_norm(x + delta))."
    def eager(x, delta, w, b):
        x = x + delta
        return x, F.layer_norm(x, (x.shape[-1],), w, b, 1e-5)
    out = {"add + layer_norm": eager}
    if cuda:
        out["compiled add + layer_norm"] = torch.compile(eager, dynamic=False, fullgraph=True)
    return out


def main(argv=None):
    args = parse_args(argv)
    cuda, device, dtype, peak_bw = pieces_setting()
    H, D, L, rows = args.heads, args.head_dim, args.layers, []
    for B in args.batch:
        for W in args.window:
            torch.manual_seed(0)
            caches = [torch.randn(B, 2, H, W, D, device=device, dtype=dtype) for _ in range(L)]
            q = torch.randn(B, H, 1, D, device=device, dtype=dtype)
            valid = torch.rand(B, W, device=device) > 1 / 3
            valid[:, -1] = True
            bias = torch.zeros(B, 1, 1, W, device=device, dtype=dtype).masked_fill_(~valid[:, None, None], float("-inf"))
            kv_bytes = B * 2 * H * W * D * caches[0].element_size()
            reference = None
            for name, f in attention_variants(cuda).items():
                call = lambda i, f=f: f(q, caches[i][:, 0], caches[i][:, 1], bias)
                out = call(0)
                if reference is None:
                    reference = out
                elif "bound" not in name:
                    err = (out.float() - reference.float()).abs().max().item()
                    assert err < 2e-2, f"{name}: differs from the reference by {err}"
                s = timed_per_call(call, L, args.repeats)
                rows.append({"piece": "attention", "variant": name, "batch": B, "window": W, "us": round(s * 1e6, 2),
                             "bandwidth_fraction": round(kv_bytes / s / peak_bw, 3) if peak_bw else None})
                print(f"B={B:4d} W={W:4d} attention {name:28s} {s * 1e6:8.1f} us/layer"
                      + (f"  {kv_bytes / s / peak_bw:5.1%} of HBM" if peak_bw else ""), flush=True)
            slot = torch.tensor([W // 2], device=device)
            kv = torch.randn(B, 2, H, 1, D, device=device, dtype=dtype)
            for name, f in write_variants(cuda).items():
                s = timed_per_call(lambda i, f=f: f(caches[i], slot, kv), L, args.repeats)
                rows.append({"piece": "cache write", "variant": name, "batch": B, "window": W, "us": round(s * 1e6, 2)})
                print(f"B={B:4d} W={W:4d} write     {name:28s} {s * 1e6:8.1f} us/layer", flush=True)
            hidden = H * D
            xs = [torch.randn(B, 1, hidden, device=device, dtype=dtype) for _ in range(L)]
            delta = torch.randn(B, 1, hidden, device=device, dtype=dtype)
            w, b = torch.ones(hidden, device=device, dtype=dtype), torch.zeros(hidden, device=device, dtype=dtype)
            for name, f in norm_variants(cuda).items():
                s = timed_per_call(lambda i, f=f: f(xs[i], delta, w, b), L, args.repeats)
                rows.append({"piece": "add + norm", "variant": name, "batch": B, "window": W, "us": round(s * 1e6, 2)})
                print(f"B={B:4d} W={W:4d} norm      {name:28s} {s * 1e6:8.1f} us/layer", flush=True)
            caches.clear()  # free this size before the next
    write_results(args.out, {"heads": H, "head_dim": D, "layers": L, "dtype": str(dtype), "rows": rows})


if __name__ == "__main__":
    main()
