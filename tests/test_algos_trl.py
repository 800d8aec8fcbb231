"""DPO and GRPO losses of chapters 12-13 against TRL's on the same tensors (TRL is a test-only dependency).

TRL 1.x computes both losses inside its trainers' `_compute_loss(model, inputs)`; there is no standalone loss
function. The tests call those methods with a stand-in `self` holding only the attributes the loss reads, and a
stand-in model whose per-token log-probabilities are ours, so TRL's own arithmetic (masking, log-ratios, the
sigmoid loss; the clipped ratio, the k3 KL term and the per-answer mean) runs on exactly our tensors.
"""
import os
import subprocess
import sys
from collections import defaultdict
from types import SimpleNamespace

import pytest
import torch

pytest.importorskip("trl", reason="trl is a dev requirement (settings.ini dev_requirements)")

from rlhf_course.dpo import answer_logps, dpo_loss
from rlhf_course.grpo import grpo_loss, group_advantages


def _metrics():
    return defaultdict(lambda: defaultdict(list))


def _token_logps(logits, ids):
    "Plain log-softmax gather, (N, T-1): log p(ids[:, t+1] | ids[:, :t+1])."
    return torch.log_softmax(logits[:, :-1].double(), -1).gather(-1, ids[:, 1:, None]).squeeze(-1)


@pytest.mark.parametrize("beta", [0.1, 0.5])
def test_dpo_loss_equals_trl(beta):
    from trl.trainer.dpo_trainer import DPOTrainer
    g = torch.Generator().manual_seed(0)
    B, T, V = 5, 12, 40
    ids = torch.randint(3, V, (2 * B, T), generator=g)
    att = torch.ones_like(ids)
    lengths = torch.randint(7, T + 1, (2 * B,), generator=g)
    for n, L in enumerate(lengths): att[n, L:] = 0
    plen = torch.randint(2, 6, (B,), generator=g).repeat(2)            # a pair shares its prompt
    logits = torch.randn(2 * B, T, V, generator=g, dtype=torch.float64)
    ref = -10 * torch.rand(B, 2, generator=g, dtype=torch.float64)

    ours = answer_logps(logits, ids, att, plen).double()
    loss, _, _ = dpo_loss(*ours.chunk(2), ref[:, 0], ref[:, 1], beta)

    completion_mask = ((torch.arange(T)[None] >= plen[:, None]) & att.bool()).long()   # TRL's: 1 on answer tokens
    tok = _token_logps(logits, ids) * completion_mask[:, 1:]          # what TRL's LM head returns (0 where label -100)
    zeros = torch.zeros_like(tok)
    model = lambda **kw: SimpleNamespace(log_probs=tok, entropy=zeros, mean_logits=zeros, is_top1=zeros.bool())
    stub = SimpleNamespace(model=SimpleNamespace(training=True), ld_alpha=None, precompute_ref_logps=True,
                           f_divergence_type="reverse_kl", loss_types=["sigmoid"], loss_weights=[1.0], beta=beta,
                           use_weighting=False, label_smoothing=0.0, aux_loss_enabled=False, _metrics=_metrics(),
                           _total_train_tokens=0, _tp_size=1,
                           accelerator=SimpleNamespace(device="cpu", gather_for_metrics=lambda x: x, gather=lambda x: x))
    inputs = {"input_ids": ids, "attention_mask": att, "completion_mask": completion_mask,
              "ref_chosen_logps": ref[:, 0], "ref_rejected_logps": ref[:, 1]}
    trl_loss = DPOTrainer._compute_loss(stub, model, inputs, return_outputs=False)
    # our log-probs come from chapter 05's float32 log-softmax; TRL's sum the float64 ones: float32 agreement
    torch.testing.assert_close(loss.double(), trl_loss, rtol=1e-6, atol=1e-7)
    assert abs(loss.item() - 0.6931) > 1e-3      # not the trivial pi = pi_ref value


@pytest.mark.parametrize("kl_coef", [0.0, 0.04, 0.3])
def test_grpo_loss_equals_trl(kl_coef):
    from trl.trainer.grpo_trainer import GRPOTrainer
    g = torch.Generator().manual_seed(1)
    N, P, A, G = 8, 3, 6, 4
    lp, old, ref = (-3 * torch.rand(N, A, generator=g, dtype=torch.float64) for _ in range(3))
    old = lp.detach() + 0.3 * torch.randn(N, A, generator=g, dtype=torch.float64)     # off-policy: the clip acts
    mask = torch.ones(N, A, dtype=torch.long)
    for n, L in enumerate(torch.randint(1, A + 1, (N,), generator=g)): mask[n, L:] = 0
    adv = group_advantages(torch.randn(N, generator=g), G, "grpo").double()
    loss, _ = grpo_loss(lp, old, ref, adv, mask, clip_range=0.2, kl_coef=kl_coef)

    stub = SimpleNamespace(
        top_entropy_quantile=1.0, aux_loss_enabled=False, off_policy_mask_threshold=None, importance_sampling_level="token",
        beta=kl_coef, loss_type="grpo", epsilon_low=0.2, epsilon_high=0.2, use_vllm=False,
        vllm_importance_sampling_correction=False, model=SimpleNamespace(training=True), current_gradient_accumulation_steps=1,
        entropy_coef=0.0, use_adaptive_entropy=False, _entropy_bonus_enabled=False, _metrics=_metrics(),
        args=SimpleNamespace(use_bias_correction_kl=False, delta=None),
        accelerator=SimpleNamespace(gather=lambda x: x, gather_for_metrics=lambda x: x, reduce=lambda x, reduction="sum": x,
                                    num_processes=1, sync_gradients=True),
        _get_per_token_logps_and_entropies=lambda *a, **k: (lp, torch.zeros_like(lp), None))
    inputs = {"prompt_ids": torch.zeros(N, P, dtype=torch.long), "prompt_mask": torch.ones(N, P, dtype=torch.long),
              "completion_ids": torch.zeros(N, A, dtype=torch.long), "completion_mask": mask, "advantages": adv,
              "old_per_token_logps": old, "ref_per_token_logps": ref}
    trl_loss = GRPOTrainer._compute_loss(stub, None, inputs)
    torch.testing.assert_close(loss, trl_loss, rtol=1e-12, atol=1e-12)


def test_group_advantages_match_trl_formulas():
    "GRPO: TRL's nanstd (Bessel) + 1e-4; RLOO: TRL's leave-one-out baseline (sum - r) / (G - 1)."
    from trl.trainer.utils import nanstd
    r = torch.randn(6, 4, generator=torch.Generator().manual_seed(3))
    grpo = (r - r.mean(1, keepdim=True)) / (nanstd(r, dim=1).unsqueeze(1) + 1e-4)
    torch.testing.assert_close(group_advantages(r.flatten(), 4, "grpo"), grpo.flatten())
    rloo = r - (r.sum(1, keepdim=True) - r) / 3
    torch.testing.assert_close(group_advantages(r.flatten(), 4, "rloo"), rloo.flatten())


def test_importing_trl_losses_touches_no_network():
    "Importing TRL's DPO and GRPO trainers opens no socket (no model hub download)."
    code = ("import socket\n"
            "def refuse(*a, **k): raise RuntimeError('network access during import')\n"
            "socket.socket.connect = refuse; socket.create_connection = refuse; socket.getaddrinfo = refuse\n"
            "import trl.trainer.dpo_trainer, trl.trainer.grpo_trainer, trl.trainer.utils\n"
            "print('ok')")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_HUB_OFFLINE")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
