"""A lever under test (issue 20, target 1), not a default: DeepSpeed's BF16_Optimizer with its per-parameter Python
loops done by foreach kernels. results/gpu/cpu_profile found a third of a training phase's CPU time in three loops of
deepspeed/runtime (0.19.x): `BF16_Optimizer.update_hp_grads` (each bf16 gradient added into its fp32 copy, a cast and
an add per tensor), `get_global_norm_of_tensors` (a norm per tensor) and `clip_tensors_by_global_norm` (a multiply per
tensor, after reading the clip coefficient back to the CPU). `use(True)` swaps in the three below, `use(False)` puts
DeepSpeed's back. They compute the same sums (the norm in another order, so equal up to rounding) for one process
without model, pipeline or expert parallelism, and refuse anything else."""
from __future__ import annotations

import torch
from deepspeed.runtime import bf16_optimizer
from deepspeed.runtime.utils import mask_nan_or_inf_with_val_inplace

ORIGINAL = {"update_hp_grads": bf16_optimizer.BF16_Optimizer.update_hp_grads,
            "get_global_norm_of_tensors": bf16_optimizer.get_global_norm_of_tensors,
            "clip_tensors_by_global_norm": bf16_optimizer.clip_tensors_by_global_norm}

@torch.no_grad()
def update_hp_grads(self, clear_lp_grads=False):
    "Every bf16 gradient into its fp32 copy: one foreach add per group (the add casts)."
    if self.immediate_grad_update: return
    for i, group in enumerate(self.bf16_groups):
        have = [j for j, lp in enumerate(group) if lp.grad is not None]
        hp = [self.fp32_groups_gradients[i][j] for j in have]
        lp = [group[j].grad.view(h.shape) for j, h in zip(have, hp)]
        torch._foreach_add_(hp, lp)
        for j, h in zip(have, hp):
            group[j]._hp_grad = h
            self.fp32_groups_has_gradients[i][j] = True
        if clear_lp_grads: torch._foreach_zero_(lp)

def get_global_norm_of_tensors(input_tensors, norm_type=2, mpu=None, moe_ep_group=None):
    "The 2-norm of all the tensors together, from one foreach norm; NaN or inf become -1, as DeepSpeed marks them."
    if mpu is not None or moe_ep_group is not None or float(norm_type) != 2.0:
        raise ValueError("bench/ds_foreach.py: one process, no model or expert parallelism, the 2-norm only")
    total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm([t.detach().float() for t in input_tensors])))
    mask_nan_or_inf_with_val_inplace(total, device=total.device)
    return total

def clip_tensors_by_global_norm(input_tensors, max_norm=1.0, global_norm=None, mpu=None, eps=1e-6):
    "Scale by min(1, max_norm / (norm + eps)) with one foreach multiply; no read-back (a factor of 1 changes nothing)."
    if global_norm is None: global_norm = get_global_norm_of_tensors(input_tensors, mpu=mpu)
    torch._foreach_mul_([t.detach() for t in input_tensors], (max_norm / (global_norm + eps)).clamp(max=1.0))
    return global_norm

def use(foreach: bool):
    "Swap the three in (True) or put DeepSpeed's back (False)."
    new = {"update_hp_grads": update_hp_grads, "get_global_norm_of_tensors": get_global_norm_of_tensors,
           "clip_tensors_by_global_norm": clip_tensors_by_global_norm}
    chosen = new if foreach else ORIGINAL
    bf16_optimizer.BF16_Optimizer.update_hp_grads = chosen["update_hp_grads"]
    bf16_optimizer.get_global_norm_of_tensors = chosen["get_global_norm_of_tensors"]
    bf16_optimizer.clip_tensors_by_global_norm = chosen["clip_tensors_by_global_norm"]
