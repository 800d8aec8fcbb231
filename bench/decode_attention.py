"""Two other ways to compute a decoding step's attention (one query per row over the cache), levers under test
against cuDNN's kernel that the rollout engine calls through scaled_dot_product_attention:

* `products_and_sums`: softmax(q . k / sqrt(D) + bias) v written as elementwise products and sums in fp32, no matrix
  product, for torch.compile to turn into streaming reductions over the cache (`compiled_products_and_sums()`);
* `triton_decode_attention`: the same as one hand-written Triton kernel per (row, head) that reads its keys and values
  once with an online softmax (flash-decoding without the split): a measure of what one pass over the cache can reach,
  not a candidate for the package while a library's kernel does the job.

bench/decode_pieces.py times them per layer; bench/rollout.py's engines `fast-sums` and `fast-triton` run the whole
engine with them (`with_decode_attention`). Shapes: q (B, H, 1, D), k and v (B, H, W, D) with unit stride along D,
bias (B, 1, 1, W) with -inf at the slots a row may not see; the result is (B, H, 1, D) in q's dtype.
"""
from __future__ import annotations

import functools
from unittest import mock

import torch
import torch.nn.functional as F


def products_and_sums(q, k, v, bias):
    "Attention of one query per row and head, as products and sums in fp32."
    B, H, _, D = q.shape
    # s_w = q . k_w / sqrt(D) + bias_w: a reduction over D, one pass over the keys
    s = (q.float() * k.float()).sum(-1) * D ** -0.5 + bias[:, :, 0].float()
    p = s.softmax(-1)
    # out = sum_w p_w v_w: a reduction over W, one pass over the values
    return (p[..., None] * v.float()).sum(-2, keepdim=True).to(q.dtype)


@functools.cache
def compiled_products_and_sums():
    "products_and_sums compiled once for every shape (windows and batches change)."
    return torch.compile(products_and_sums, dynamic=True, fullgraph=True)


@functools.cache
def _triton_kernel():
    import triton
    import triton.language as tl

    @triton.jit
    def kernel(Q, K, V, Bias, Out, W, sqb, sqh, skb, skh, skw, svb, svh, svw, sbb, sob, soh, scale,
               D: tl.constexpr, BLOCK: tl.constexpr):
        b, h = tl.program_id(0), tl.program_id(1)
        d = tl.arange(0, D)
        q = tl.load(Q + b * sqb + h * sqh + d).to(tl.float32) * scale
        m = tl.full([], -1e30, tl.float32)          # running max (finite: a block may be all padding)
        l = tl.zeros([], tl.float32)                 # running sum of exp(s - m)
        acc = tl.zeros([D], tl.float32)              # running sum of exp(s - m) v
        for start in range(0, W, BLOCK):
            n = start + tl.arange(0, BLOCK)
            ok = n < W
            k = tl.load(K + b * skb + h * skh + n[:, None] * skw + d[None, :], mask=ok[:, None], other=0.0)
            s = tl.sum(k.to(tl.float32) * q[None, :], 1)
            s += tl.load(Bias + b * sbb + n, mask=ok, other=float("-inf")).to(tl.float32)
            m_new = tl.maximum(m, tl.max(s, 0))
            alpha, p = tl.exp(m - m_new), tl.exp(s - m_new)
            v = tl.load(V + b * svb + h * svh + n[:, None] * svw + d[None, :], mask=ok[:, None], other=0.0)
            acc = acc * alpha + tl.sum(p[:, None] * v.to(tl.float32), 0)
            l = l * alpha + tl.sum(p, 0)
            m = m_new
        tl.store(Out + b * sob + h * soh + d, (acc / l).to(Out.dtype.element_ty))
    return kernel


def triton_decode_attention(q, k, v, bias, block: int = 64):
    "Attention of one query per row and head, one Triton program per (row, head)."
    B, H, _, D = q.shape
    W = k.shape[2]
    assert k.stride(-1) == v.stride(-1) == q.stride(-1) == 1 and bias.stride(-1) == 1
    out = torch.empty(B, H, 1, D, device=q.device, dtype=q.dtype)
    _triton_kernel()[(B, H)](q, k, v, bias, out, W, q.stride(0), q.stride(1), k.stride(0), k.stride(1), k.stride(2),
                             v.stride(0), v.stride(1), v.stride(2), bias.stride(0), out.stride(0), out.stride(1),
                             D ** -0.5, D=D, BLOCK=block, num_warps=4)
    return out


def with_decode_attention(call, attend):
    """`call` with every one-query attention (the engine's decoding steps) computed by `attend(q, k, v, bias)` instead
    of scaled_dot_product_attention while it runs; the prefill's many-query attention keeps PyTorch's."""
    sdpa = F.scaled_dot_product_attention

    def dispatch(q, k, v, attn_mask=None, **kw):
        if q.shape[2] == 1 and attn_mask is not None and not kw:
            return attend(q, k, v, attn_mask)
        return sdpa(q, k, v, attn_mask=attn_mask, **kw)

    return mock.patch.object(F, "scaled_dot_product_attention", dispatch)(call)


def check_against_sdpa(attend, B=4, H=3, W=70, D=64, device="cuda", dtype=torch.float32):
    "Largest difference from scaled_dot_product_attention on random inputs with a third of the slots masked."
    g = torch.Generator(device="cpu").manual_seed(0)
    q, k, v = (torch.randn(B, H, n, D, generator=g).to(device, dtype) for n in (1, W, W))
    valid = torch.rand(B, W, generator=g) > 1 / 3
    valid[:, :5] = False                                   # left padding: a first block with masked slots
    valid[:, -1] = True
    bias = torch.zeros(B, 1, 1, W, dtype=dtype).masked_fill_(~valid[:, None, None], float("-inf")).to(device)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    return (attend(q, k, v, bias).float() - ref.float()).abs().max().item()
