"""Steps 1 and 2 with 2 CPU ranks under ZeRO-2 and ZeRO-3 follow the single-process run.

Every run sees the same global batches: the seeded DistributedSampler order does not depend on the number of ranks,
and 2 ranks x 4 rows = 1 process x 8 rows. The SFT loss is normalised by the global batch's token count (chapter 03)
and the reward loss averages equal numbers of pairs per rank, so the maths is the same; what remains is the order of
float additions in the all-reduce and in ZeRO's partitioned gradient-norm clipping. Measured on 2026-11-28: at most
1e-4 relative over 10 optimizer steps. Clipping differences compound (chapter 02's demo once measured 1e-2 between
ZeRO stages after 30 steps; 6e-5 after its present 20), so we allow 2e-3 over 10 steps: a real bug (a rank's share
counted twice, a loss averaged per rank instead of per token) moves the loss by several percent.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlhf_course.toyworld import load_toyworld

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE = 2e-3


@pytest.fixture(scope="module")
def small_prefs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prefs")
    lines = (load_toyworld().prefs / "train.jsonl").read_text().splitlines()
    (folder / "train.jsonl").write_text("\n".join(lines[:80]) + "\n")
    (folder / "eval.jsonl").write_text("\n".join(lines[80:96]) + "\n")
    return folder


def launch(nproc, runs, out, prefs, cache):
    "One torchrun launch of `nproc` ranks doing the step-1/2 `runs` (module:stage) in turn; {run: losses}."
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
           str(ROOT / "tests" / "multirank_steps12.py"), str(out), str(prefs), str(load_toyworld().root / "models"), str(cache), *runs]
    r = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    folder = lambda run: out / run.replace(":", "-z")
    return {run: [m["loss"] for m in map(json.loads, (folder(run) / "metrics.jsonl").read_text().splitlines()) if "loss" in m]
            for run in runs}


def test_two_ranks_follow_one(small_prefs, tmp_path):
    "SFT and the reward model, each at ZeRO-2 and ZeRO-3 on 2 ranks, against 1 rank: two launches in all."
    one = launch(1, ["sft:0", "reward:0"], tmp_path / "1 rank", small_prefs, tmp_path / "cache")
    two = launch(2, ["sft:2", "sft:3", "reward:2", "reward:3"], tmp_path / "2 ranks", small_prefs, tmp_path / "cache")
    for run, losses in two.items():
        reference = one[run.split(":")[0] + ":0"]
        assert len(reference) == 10 and len(losses) == len(reference), (run, losses, reference)
        worst = max(abs(a - b) / abs(b) for a, b in zip(losses, reference))
        print(f"{run} on 2 ranks: worst relative gap to 1 rank over {len(losses)} steps: {worst:.4f}")
        assert worst < TOLERANCE, f"{run}: {losses} vs {reference} (worst relative gap {worst:.3f})"


def test_step3_two_ranks_zero3_actor_zero2_critic(tmp_path, untrained_steps12):
    """Step 3 under the `deepspeed` launcher with 2 CPU ranks: actor ZeRO-3 (so reference and EMA too), critic ZeRO-2,
    ptx, 2 PPO epochs over 2 generation batches, the adaptive KL controller. Generation must be synced across ranks (else a rank waits forever in a ZeRO-3 gather); losses finite;
    the EMA, updated inside a ZeRO-3 gather, must have moved away from the SFT weights."""
    import torch
    from transformers import AutoModelForCausalLM
    from rlhf_course.ds_utils import free_port
    actor, reward = untrained_steps12   # mechanics, not quality
    cmd = ["deepspeed", "--num_gpus", "2", "--master_port", str(free_port()), "--module", "rlhf_course.step3",
           "--actor_model_name_or_path", str(actor), "--critic_model_name_or_path", str(reward),
           "--actor_zero_stage", "3", "--critic_zero_stage", "2", "--max_steps", "4", "--eval_interval", "2",
           "--per_device_generation_batch_size", "4", "--per_device_training_batch_size", "2", "--max_prompt_seq_len", "64",
           "--max_answer_seq_len", "16", "--enable_ema", "--unsupervised_dataset_name", "toyworld", "--unsup_coef", "1",
           "--ppo_epochs", "2", "--generation_batches", "2", "--adaptive_kl", "--kl_target", "0.5", "--kl_horizon", "100",
           "--n_gold_prompts", "8", "--n_gold_prompts_during", "8", "--output_dir", str(tmp_path / "out")]
    r = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-4000:]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["world_size"] == 2 and results["rollout_batches"] == 4
    records = [m for m in map(json.loads, (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()) if "reward" in m]
    steps = [m for m in records if "actor_loss" in m]
    assert [m["step"] for m in records] == [1, 2, 3, 4] and [m["step"] for m in steps] == [2, 4]   # learn every 2 batches
    for m in steps:
        for k in ("actor_loss", "critic_loss", "ptx_loss", "reward", "kl"): assert torch.isfinite(torch.tensor(m[k])), (k, m)
    sft = dict(AutoModelForCausalLM.from_pretrained(actor).named_parameters())
    ema = dict(AutoModelForCausalLM.from_pretrained(tmp_path / "out" / "actor_ema").named_parameters())
    moved = max((ema[n] - sft[n]).abs().max().item() for n in sft)
    print(f"step 3, 2 ranks: largest EMA weight change {moved:.2e}; losses {[round(m['actor_loss'], 4) for m in steps]}")
    assert moved > 1e-6, "the EMA did not move under ZeRO-3"


def test_multi_node_with_a_one_host_hostfile_and_the_rollout_engine(tmp_path, untrained_steps12):
    """`train.py --deployment-type multi_node --hostfile H` with H = 'localhost slots=2': DeepSpeed's launcher reads
    the hostfile and starts 2 ranks here (without the ssh check it would need for real nodes); step 3 only, from
    the cached steps 1-2. The same launch runs chapter 06b's engine under ZeRO-3 (actor) and ZeRO-2 (critic): each
    rank gathers the actor once per rollout and then decodes on its own (no collective per token, so no hang even
    when ranks stop at different lengths); losses finite."""
    import shutil
    import torch
    actor, reward = untrained_steps12   # mechanics, not quality
    out = tmp_path / "out"
    shutil.copytree(actor, out / "sft"); shutil.copytree(reward, out / "reward")
    (tmp_path / "hostfile").write_text("localhost slots=2\n")
    cmd = [sys.executable, "train.py", "--deployment-type", "multi_node", "--hostfile", str(tmp_path / "hostfile"), "--step", "3",
           "--output-dir", str(out), "--no-chat", "--dtype", "fp32", "--max_steps", "2", "--per_device_generation_batch_size", "8",
           "--per_device_training_batch_size", "8", "--n_gold_prompts", "8", "--n_gold_prompts_during", "8",
           "--actor-zero-stage", "3", "--reward-zero-stage", "2", "--rollout_engine", "fast"]
    r = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "--hostfile" in r.stdout and "--no_ssh_check" in r.stdout
    results = json.loads((out / "rlhf" / "results.json").read_text())
    assert results["world_size"] == 2 and results["rollout_batches"] == 2
    config = json.loads((out / "results.json").read_text())["config"]
    assert (config["deployment_type"], config["actor_zero_stage"], config["reward_zero_stage"]) == ("multi_node", 3, 2)
    steps = [m for m in map(json.loads, (out / "rlhf" / "metrics.jsonl").read_text().splitlines()) if "actor_loss" in m]
    assert [m["step"] for m in steps] == [1, 2]
    for m in steps: assert torch.isfinite(torch.tensor([m["actor_loss"], m["critic_loss"], m["kl"]])).all(), m
