"""A decoding step's matrix products timed alone, each against its alternatives (issue 20, target 2).

    python bench/decode_linears.py                          # OPT-1.3B widths, bf16, batch 32 128
    python bench/decode_linears.py --batch 2 --layers 2 --repeats 2 --no-autotune    # CPU smoke test

At decoding time each product multiplies B rows by a weight matrix: it reads the whole weight to make little output,
so its pace is the memory's. Chapter 06b's profile showed the packed q/k/v product and the attention output
projection reading their weights at well under half the card's bandwidth (cuBLAS picks split-K kernels for them),
where the two MLP products reach about two thirds. This bench asks whether another way of calling the same product
is faster at these shapes:

* `linear`: `F.linear(x, W, b)`, W stored (out, in), as the engine calls it now;
* `addmm (in, out)`: `torch.addmm(b, x, W_t)` with a transposed copy of W stored (in, out): another cuBLAS layout;
* `tunableop`: `F.linear` under PyTorch's TunableOp, which times the BLAS libraries' candidate algorithms per shape;
* `compiled max-autotune`: `torch.compile(F.linear, mode="max-autotune-no-cudagraphs")`, Inductor's Triton GEMM
  templates against cuBLAS, fastest kept.

Each product runs once per layer on that layer's own weight (24 weights, as in the model, so that the L2 cache does
not hold them), captured as one CUDA graph and replayed; the figure is microseconds per layer and the share of the
card's bandwidth the weight reads use. Every variant's output is checked against `linear`'s before it is timed.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from common import DEFAULT_OUT, pieces_setting, write_results
from decode_pieces import timed_per_call

# (name, in, out, bias): OPT-1.3B's products at decoding time (the engine packs q, k and v into one)
OPT_1_3B_LINEARS = [("qkv", 2048, 6144, True), ("out_proj", 2048, 2048, True), ("fc1", 2048, 8192, True),
                    ("fc2", 8192, 2048, True), ("lm_head", 2048, 50272, False)]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, nargs="+", default=[32, 128])
    p.add_argument("--layers", type=int, default=24)
    p.add_argument("--repeats", type=int, default=20, help="graph replays timed (the median is kept)")
    p.add_argument("--no-autotune", dest="autotune", action="store_false", help="leave out the compiled variant")
    p.add_argument("--no-tunableop", dest="tunableop", action="store_false", help="leave out TunableOp")
    p.add_argument("--out", default=str(DEFAULT_OUT / "decode_linears.json"))
    return p.parse_args(argv)


def variants(cuda: bool, autotune: bool) -> dict:
    "name -> f(x, W (out, in), W_t (in, out), b or None)."
    out = {"linear": lambda x, w, wt, b: F.linear(x, w, b),
           "addmm (in, out)": lambda x, w, wt, b: torch.addmm(b, x, wt) if b is not None else x @ wt}
    if cuda and autotune:
        # a compiled function per shape: one for all ten reached Dynamo's limit of 8 versions and ran the rest eagerly
        compiled = {}
        def call(x, w, wt, b):
            key = (x.shape, w.shape, b is not None)
            if key not in compiled:
                compiled[key] = torch.compile(lambda x, w, b: F.linear(x, w, b), mode="max-autotune-no-cudagraphs",
                                              dynamic=False)
            return compiled[key](x, w, b)
        out["compiled max-autotune"] = call
    return out


def main(argv=None):
    args = parse_args(argv)
    cuda, device, dtype, peak_bw = pieces_setting()
    names = variants(cuda, args.autotune)
    if cuda and args.tunableop:
        # F.linear again, with TunableOp on for this variant's calls only; what it chose is in its results file
        names["tunableop"] = None
        torch.cuda.tunable.tuning_enable(True)
        torch.cuda.tunable.set_filename(str(Path(args.out).with_name("tunableop_results.csv")))
    rows, L = [], args.layers
    for B in args.batch:
        for lin, n_in, n_out, has_bias in OPT_1_3B_LINEARS:
            torch.manual_seed(0)
            ws = [torch.randn(n_out, n_in, device=device, dtype=dtype) / n_in**0.5 for _ in range(L)]
            wts = [w.t().contiguous() for w in ws]
            bs = [torch.randn(n_out, device=device, dtype=dtype) if has_bias else None for _ in range(L)]
            x = torch.randn(B, n_in, device=device, dtype=dtype)
            weight_bytes = n_out * n_in * ws[0].element_size()
            reference = F.linear(x, ws[0], bs[0]).float()
            for name in names:
                f = names[name] or names["linear"]
                call = lambda i, f=f: f(x, ws[i], wts[i], bs[i])
                torch.cuda.tunable.enable(name == "tunableop") if cuda else None
                try:
                    t0 = time.time()
                    err = (call(0).float() - reference).abs().max().item()   # compiles or tunes here
                    first_s = time.time() - t0
                    assert err < 5e-2, f"{lin} B={B} {name}: differs from F.linear by {err}"
                    s = timed_per_call(call, L, args.repeats)
                finally:
                    torch.cuda.tunable.enable(False) if cuda else None
                rows.append({"linear": lin, "in": n_in, "out": n_out, "batch": B, "variant": name,
                             "us": round(s * 1e6, 2), "first_call_s": round(first_s, 2), "max_abs_diff": err,
                             "bandwidth_fraction": round(weight_bytes / s / peak_bw, 3) if peak_bw else None})
                print(f"B={B:4d} {lin:8s} {name:24s} {s * 1e6:8.2f} us/layer"
                      + (f"  {weight_bytes / s / peak_bw:5.1%} of HBM" if peak_bw else "")
                      + f"  (first call {first_s:.1f} s)", flush=True)
            ws.clear(); wts.clear()
    # what TunableOp chose per shape (it also writes them to its results file as the process ends)
    tuned = [list(r) for r in torch.cuda.tunable.get_results()] if cuda and args.tunableop else None
    write_results(args.out, {"layers": L, "dtype": str(dtype), "rows": rows, "tunableop_results": tuned})


if __name__ == "__main__":
    main()
