"""Step 3's training attention, forward and backward, on padded batches: the kernel it takes now against the others.

    python bench/train_attention.py                      # the actor's shape (32 heads of 64), B=16, 512 tokens, bf16
    python bench/train_attention.py --batch 2 --length 64 --repeats 2     # CPU smoke test (the variants that run there)

A training batch of step 3 is padded on both sides (prompts on the left, answers that ended early on the right), so
Hugging Face hands PyTorch's `scaled_dot_product_attention` a boolean mask, and with cuDNN's attention turned off for
training (chapter 02) PyTorch runs its memory-efficient kernel; the flash kernel takes no mask. This bench times one
layer's attention, forward and backward, with that mask: the memory-efficient kernel (what training runs now), cuDNN's
kernel with the same mask, FlexAttention with the mask as a block mask (compiled; the time to build the block mask,
once per batch, is reported apart), the flash kernel on the same rows rolled so that each row's real tokens come first
(then the causal mask alone is exact at the real tokens; the roll and its inverse are timed with it, though a model
would roll only its token ids), and the flash kernel with the causal mask alone on the padded rows (a bound: it
ignores padding). Each variant's output at the real tokens is checked against the memory-efficient kernel's before it
is timed, but the bound's.
"""
from __future__ import annotations

import argparse
import statistics

import torch
import torch.nn.functional as F
from common import DEFAULT_OUT, synced_time, write_results
from torch.nn.attention import SDPBackend, sdpa_kernel


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=16, help="step 3's training micro-batch")
    p.add_argument("--heads", type=int, default=32)
    p.add_argument("--head_dim", type=int, default=64)
    p.add_argument("--length", type=int, default=512, help="prompt + answer tokens")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--out", default=str(DEFAULT_OUT / "train_attention.json"))
    return p.parse_args(argv)


def padded_batch(B: int, L: int, device, seed: int = 0) -> torch.Tensor:
    "valid (B, L): the first half is the prompt, left-padded by up to L/8; the answer ends anywhere after it."
    g = torch.Generator().manual_seed(seed)
    P = L // 2
    left = torch.randint(0, L // 8, (B,), generator=g)
    end = torch.randint(P + 1, L + 1, (B,), generator=g)
    pos = torch.arange(L)
    return ((pos >= left[:, None]) & (pos < end[:, None])).to(device)


def main(argv=None):
    args = parse_args(argv)
    cuda = torch.cuda.is_available()
    device, dtype = ("cuda", torch.bfloat16) if cuda else ("cpu", torch.float32)
    B, H, L, D = args.batch, args.heads, args.length, args.head_dim
    valid = padded_batch(B, L, device)
    pos = torch.arange(L, device=device)
    # causal, keys at real tokens; a padded query attends to itself (no row fully masked, as transformers ensures)
    allowed = ((pos[None, :, None] >= pos[None, None, :]) & valid[:, None, :]) | torch.eye(L, dtype=torch.bool, device=device)
    mask = allowed[:, None]                                     # (B, 1, L, L)
    torch.manual_seed(0)
    q, k, v = (torch.randn(B, H, L, D, device=device, dtype=dtype, requires_grad=True) for _ in range(3))
    grad_out = torch.randn(B, H, L, D, device=device, dtype=dtype)

    def sdpa(backends, **kw):
        def f():
            with sdpa_kernel(backends):
                return F.scaled_dot_product_attention(q, k, v, **kw)
        return f
    # what training runs now (on the CPU: PyTorch's math kernel, the only one there)
    variants = {"efficient + mask (now)" if cuda else "math + mask (now)":
                sdpa([SDPBackend.EFFICIENT_ATTENTION if cuda else SDPBackend.MATH], attn_mask=mask)}
    extra = {}
    # each row rolled left by its left padding: real tokens at 0..n-1, every pad after them
    left = (valid.long().cumsum(1) == 0).sum(1)
    idx = (torch.arange(L, device=device)[None, :] + left[:, None]) % L
    back = (torch.arange(L, device=device)[None, :] - left[:, None]) % L
    def rolled():
        def roll(x, i): return x.gather(2, i[:, None, :, None].expand_as(x))
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
            out = F.scaled_dot_product_attention(roll(q, idx), roll(k, idx), roll(v, idx), is_causal=True)
        return roll(out, back)
    variants["flash, real tokens first"] = rolled
    if cuda:
        variants["cudnn + mask"] = sdpa([SDPBackend.CUDNN_ATTENTION], attn_mask=mask)
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention
        def mask_mod(b, h, qi, ki):
            return ((qi >= ki) & valid[b, ki]) | (qi == ki)
        create_block_mask(mask_mod, B, None, L, L, device=device)    # its first call compiles
        t0 = synced_time()
        block = create_block_mask(mask_mod, B, None, L, L, device=device)
        extra["block_mask_s"] = round(synced_time() - t0, 5)
        flex = torch.compile(flex_attention, dynamic=False)
        variants["flex + block mask"] = lambda: flex(q, k, v, block_mask=block)
        variants["flash, causal only (bound)"] = sdpa([SDPBackend.FLASH_ATTENTION], is_causal=True)
    real = valid[:, None, :, None].expand(B, H, L, D)
    reference, rows = None, []
    for name, f in variants.items():
        try:
            t0 = synced_time()
            out = f()
            first_s = synced_time() - t0
        except RuntimeError as e:   # a kernel that does not take this input: recorded, not timed
            rows.append({"variant": name, "error": str(e).splitlines()[0][:200]})
            print(f"{name:28s} not run: {rows[-1]['error']}", flush=True)
            continue
        if reference is None:
            reference = out.detach()
        err = (out.detach() - reference)[real].abs().max().item()
        if "bound" not in name:
            assert err < 2e-2, f"{name}: differs from the memory-efficient kernel by {err} at real tokens"
        times = []
        for _ in range(args.repeats + 1):
            q.grad = k.grad = v.grad = None
            t0 = synced_time()
            f().backward(grad_out)
            times.append(synced_time() - t0)
        ms = statistics.median(times[1:]) * 1e3
        rows.append({"variant": name, "ms_fwd_bwd": round(ms, 3), "first_call_s": round(first_s, 2), "max_abs_diff": err})
        print(f"{name:28s} {ms:8.3f} ms forward + backward (first call {first_s:.1f} s)", flush=True)
    write_results(args.out, {"batch": B, "heads": H, "head_dim": D, "length": L, "dtype": str(dtype),
                             "real_token_share": round(valid.float().mean().item(), 3), "rows": rows, **extra})


if __name__ == "__main__":
    main()
