"""Bad input and interrupted runs (issue 14): each case gets one clear line naming the input, no traceback, and an
interrupted step 3 resumes to the same figures as an uninterrupted run.

Every CLI case runs the entry point as a subprocess and checks its stderr: exactly one line, the expected message,
no `Traceback`. The steps refuse these before any model is built, so each costs a few seconds (mostly imports)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "OMP_NUM_THREADS": "1"}
ROW = json.dumps({"prompt": " Human: Hi? Assistant:", "chosen": " Hello.", "rejected": " Go."}) + "\n"


def run_py(args, timeout=600):
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)


def one_line_error(r) -> str:
    "The single line a refused command printed on stderr (after library warnings), asserting no traceback."
    assert r.returncode != 0, r.stdout[-2000:]
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr[-3000:]
    ours = [l for l in r.stderr.splitlines() if l.startswith(("rlhf_course.", "chat.py:", "train.py:", "book failed:"))]
    assert len(ours) == 1, r.stderr[-3000:]
    return ours[0]


# ---------------------------------------------------------------------------------------------------------------
# Step 3: killed (Ctrl-C after 4 rollout batches) and resumed gives the uninterrupted run's figures

RESUME_DRIVER = r"""
import json, sys
from rlhf_course import step3
actor, reward, work = sys.argv[1:4]
flags = ["--actor_model_name_or_path", actor, "--critic_model_name_or_path", reward, "--max_steps", "6",
         "--eval_interval", "3", "--generation_batches", "2", "--per_device_generation_batch_size", "8",
         "--per_device_training_batch_size", "4", "--max_prompt_seq_len", "64", "--max_answer_seq_len", "16",
         "--enable_ema", "--unsupervised_dataset_name", "toyworld", "--unsup_coef", "1", "--n_gold_prompts", "16",
         "--n_gold_prompts_during", "8", "--enable_tensorboard"]
def run(name, *extra):
    try: step3.main(flags + ["--output_dir", f"{work}/{name}", "--tensorboard_path", f"{work}/tb_{name}", *extra])
    except SystemExit as e: print(f"EXIT {name} {e.code}", flush=True)
run("full")
original = step3.Step3Run.iteration
def interrupted(self, *a):                      # Ctrl-C during the 5th rollout batch (checkpoint after the 3rd)
    if self.step == 4: raise KeyboardInterrupt
    return original(self, *a)
step3.Step3Run.iteration = interrupted
run("cut")
step3.Step3Run.iteration = original
run("cut")                                      # the same command again: resumes from rollout batch 3
"""


@pytest.fixture(scope="module")
def steps12(tmp_path_factory):
    """An actor and a reward model for step 3 in seconds: the toy world's base actor, and its reward base with a
    seeded random value head (trained ones are not needed to compare an interrupted run with an uninterrupted one)."""
    import torch
    from rlhf_course.ds_utils import load_hf_tokenizer
    from rlhf_course.reward import create_reward_model, save_reward_model
    from rlhf_course.toyworld import load_toyworld
    world = load_toyworld()
    tokenizer = load_hf_tokenizer(str(world.reward))
    model = create_reward_model(str(world.reward), tokenizer)
    torch.manual_seed(0); torch.nn.init.normal_(model.v_head.weight, std=0.5)
    out = tmp_path_factory.mktemp("steps12") / "reward"
    save_reward_model(model, tokenizer, out, rank=0)
    return world.actor, out


def test_step3_interrupted_and_resumed_matches_uninterrupted(tmp_path, steps12):
    actor, reward = steps12
    r = run_py(["-c", RESUME_DRIVER, str(actor), str(reward), str(tmp_path)], timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "EXIT full" not in r.stdout and "EXIT cut 130" in r.stdout, r.stdout[-3000:]
    test_line = [l for l in r.stderr.splitlines() if l.startswith("rlhf_course.step3: interrupted")]
    assert test_line == [f"rlhf_course.step3: interrupted; the checkpoint of rollout batch 3 in {tmp_path}/cut is kept "
                         "(actor, critic, actor_ema, resume/); run the same command again to resume from it (--force "
                         "starts afresh)"], r.stderr[-3000:]
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    assert f"step 3: resuming from the checkpoint of rollout batch 3 in {tmp_path}/cut" in r.stdout
    full, cut = (json.loads((tmp_path / n / "results.json").read_text()) for n in ("full", "cut"))
    m_full, m_cut = ((tmp_path / n / "metrics.jsonl").read_text().splitlines() for n in ("full", "cut"))
    figures = lambda res: {"kl_final": res["kl_final"], "reward_final": res["reward_final"], **{
        m: res["gold"][m] for m in ("sft", "ppo", "ema")}, "greedy_ppo": res["gold"]["greedy"]["ppo"],
        "pretrain_loss_ppo": res["gold"]["pretrain_loss"]["ppo"]}
    print("uninterrupted:", json.dumps(figures(full)))
    print("resumed:      ", json.dumps(figures(cut)))
    for k, v in figures(full).items(): assert abs(figures(cut)[k] - v) <= 1e-6 * max(1, abs(v)), (k, v, figures(cut)[k])
    assert len(m_full) == len(m_cut) and [json.loads(l)["step"] for l in m_cut] == [json.loads(l)["step"] for l in m_full]
    for a, b in zip(map(json.loads, m_full), map(json.loads, m_cut)):
        for k, v in a.items(): assert abs(b[k] - v) <= 1e-5 * max(1, abs(v)), (a["step"], k, v, b[k])
    assert full["rollout_batches"] == cut["rollout_batches"] == 6
    from safetensors.torch import load_file
    for folder in ("actor", "critic", "actor_ema"):         # the final weights themselves, not only the figures
        a, b = (load_file(next((tmp_path / n / folder).glob("*.safetensors"))) for n in ("full", "cut"))
        assert a.keys() == b.keys() and max((a[k].float() - b[k].float()).abs().max().item() for k in a) <= 1e-6, folder
    # TensorBoard events: the scalars of metrics.jsonl, read back; the resumed run's replace the interrupted run's
    # events past its checkpoint (purge_step), so each step appears once, with the uninterrupted run's value
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    kl = {}
    for name in ("full", "cut"):
        events = EventAccumulator(str(tmp_path / f"tb_{name}" / "step3_rlhf")); events.Reload()
        kl[name] = [(e.step, e.value) for e in events.Scalars("ppo/kl")]
    assert [s for s, _ in kl["cut"]] == [1, 2, 3, 4, 5, 6], kl["cut"]
    assert [v for _, v in kl["full"]] == pytest.approx([json.loads(l)["kl"] for l in m_full if "kl" in json.loads(l)], abs=1e-5)
    assert [v for _, v in kl["cut"]] == pytest.approx([v for _, v in kl["full"]], abs=1e-5)
