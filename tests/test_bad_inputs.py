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
# Preference data: the data API (in-process: no model, a few seconds)

@pytest.fixture(scope="module")
def tokenizer():
    from rlhf_course.ds_utils import load_hf_tokenizer
    from rlhf_course.toyworld import load_toyworld
    return load_hf_tokenizer(str(load_toyworld().actor))


def data_error(folder, tokenizer, cache, phase=1) -> str:
    from rlhf_course.data import DataError, create_prompt_dataset
    with pytest.raises(DataError) as e: create_prompt_dataset([f"local/jsonfile:{folder}"], "2,4,4", phase, tokenizer, 64, 128, 1234, cache)
    return str(e.value)


BAD_FILES = {   # train.jsonl content -> the whole message after the file name
    "empty": (b"", ": the file is empty (no rows)"),
    "invalid utf-8": (ROW.encode() * 3 + b'{"prompt": "caf\xe9"}\n', ", line 4: not valid UTF-8 (byte 0xe9)"),
    "a JSON list": (ROW.encode() * 20 + b"[1, 2]\n", ", line 21: a JSON list, not an object with prompt/chosen/rejected fields"),
    "cut off": (ROW.encode() * 20 + ROW[:30].encode() + b"\n",
                ", line 21: not valid JSON (column 12: Unterminated string starting; a line cut off?)"),
    "a number": (ROW.encode() + b"7\n", ", line 2: a JSON number, not an object with prompt/chosen/rejected fields"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_broken_jsonl_names_file_and_line(tmp_path, tokenizer, case):
    content, message = BAD_FILES[case]
    (tmp_path / "train.jsonl").write_bytes(content)
    assert data_error(tmp_path, tokenizer, tmp_path / "cache") == f"{tmp_path}/train.jsonl{message}"


def test_bad_rows_name_source_split_and_row(tmp_path, tokenizer):
    (tmp_path / "train.jsonl").write_text(ROW * 5 + json.dumps({"prompt": " Human: x Assistant:", "chosen": " y"}) + "\n")
    msg = data_error(tmp_path, tokenizer, tmp_path / "cache", phase=2)
    assert msg.startswith("local/jsonfile train row ") and msg.endswith(": rejected is NoneType, not a string"), msg
    (tmp_path / "train.jsonl").write_text("".join(json.dumps({"prompt": f" Human: {i}? Assistant:", "chosen": i, "rejected": " z"})
                                                  + "\n" for i in range(20)))
    assert data_error(tmp_path, tokenizer, tmp_path / "cache").endswith(": chosen is int, not a string")


def test_an_empty_split_after_dropping_is_refused_with_counts_and_never_cached(tmp_path, tokenizer):
    (tmp_path / "train.jsonl").write_text(ROW * 40)
    cache = tmp_path / "cache"
    for attempt in range(2):          # the second time too: nothing was cached, so the counts are given again
        assert data_error(tmp_path, tokenizer, cache) == (
            f"step 1 train split has no rows left (local/jsonfile={tmp_path}: 7 rows in its share, 0 kept, dropped "
            "duplicate 7); nothing was cached. Fix the data, or change --data_split 2,4,4")
    assert not list(cache.glob("**/stats.json"))          # no split was cached (only the builders' lock files)


# ---------------------------------------------------------------------------------------------------------------
# Steps 1 and 2 on the command line: one line on stderr, non-zero exit, no traceback (one process, several calls)

STEPS12_DRIVER = r"""
import sys
from rlhf_course import reward, sft
actor, reward_base, work = sys.argv[1:4]
def call(name, module, model, *extra):
    print(f"=== {name}", file=sys.stderr, flush=True)
    argv = ["--model_name_or_path", model, "--output_dir", f"{work}/{name}", "--data_output_path", f"{work}/cache",
            "--max_prompt_seq_len", "64", "--max_seq_len", "128", *extra]
    if module is sft: argv += ["--n_gold_prompts", "0"]
    try: module.main(argv)
    except SystemExit as e:                     # what the interpreter would print for sys.exit("message")
        if isinstance(e.code, str): print(e.code, file=sys.stderr, flush=True)
        print(f"EXIT {name} {e.code if isinstance(e.code, int) else 1}", flush=True)
call("step1_list_line", sft, actor, "--data_path", f"local/jsonfile:{work}/list")
call("step2_duplicates", reward, reward_base, "--data_path", f"local/jsonfile:{work}/dups")
call("step1_split", sft, actor, "--data_split", "0,0,0")
sft.run_epochs = lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt)   # Ctrl-C as training starts
call("step1_ctrl_c", sft, actor, "--data_path", f"local/jsonfile:{work}/good")
"""


def test_steps_1_and_2_refuse_bad_data_and_stop_on_ctrl_c_in_one_line(tmp_path):
    from rlhf_course.toyworld import load_toyworld
    world = load_toyworld()
    for name, text in (("list", ROW * 20 + "[1, 2]\n"), ("dups", ROW * 40),
                       ("good", "".join(json.dumps({"prompt": f" Human: Q{i}? Assistant:", "chosen": f" A{i}.",
                                                    "rejected": " No."}) + "\n" for i in range(60)))):
        (tmp_path / name).mkdir(); (tmp_path / name / "train.jsonl").write_text(text)
    r = run_py(["-c", STEPS12_DRIVER, str(world.actor), str(world.reward), str(tmp_path)])
    assert "Traceback" not in r.stderr, r.stderr[-4000:]
    blocks = {b.split("\n", 1)[0]: b.split("\n", 1)[1] if "\n" in b else "" for b in r.stderr.split("=== ")[1:]}
    ours = {k: [l for l in v.splitlines() if l.startswith("rlhf_course.")] for k, v in blocks.items()}
    expected = {
        "step1_list_line": f"rlhf_course.sft: error: {tmp_path}/list/train.jsonl, line 21: a JSON list, not an object with "
                           "prompt/chosen/rejected fields",
        "step2_duplicates": f"rlhf_course.reward: error: step 2 eval split has no rows left (local/jsonfile={tmp_path}/dups: "
                            "1 rows in its share, 0 kept, dropped duplicate 1); nothing was cached. Fix the data, or change "
                            "--data_split 2,4,4",
        "step1_split": "rlhf_course.sft: error: --data_split '0,0,0': need three non-negative numbers with a positive sum",
        "step1_ctrl_c": f"rlhf_course.sft: interrupted; step 1 saves only at its end, so nothing was written to "
                        f"{tmp_path}/step1_ctrl_c; run the same command again to redo step 1"}
    for name, line in expected.items(): assert ours[name] == [line], (name, blocks.get(name, r.stderr)[-2000:])
    for name in expected: assert f"EXIT {name} {130 if name == 'step1_ctrl_c' else 1}" in r.stdout, r.stdout[-2000:]


# ---------------------------------------------------------------------------------------------------------------
# chat.py refuses a folder that is not a causal-LM checkpoint

def test_chat_refuses_a_config_only_folder(tmp_path):
    "As a user runs it: one line on stderr. A missing folder and a reward model's: chapter 10 checks main's message."
    import shutil
    from rlhf_course.toyworld import load_toyworld
    (tmp_path / "config_only").mkdir(); shutil.copy(load_toyworld().actor / "config.json", tmp_path / "config_only")
    r = run_py(["chat.py", "--path", str(tmp_path / "config_only")], timeout=120)
    assert one_line_error(r) == (f"chat.py: error: --path {tmp_path / 'config_only'}: a config but no weights "
                                 "(*.safetensors or *.bin): not a complete checkpoint")


# ---------------------------------------------------------------------------------------------------------------
# The book runner checks the whole parameter file before running anything

def test_book_refuses_a_bad_parameter_file_before_running_anything(tmp_path):
    import shutil
    nbs = tmp_path / "nbs"; nbs.mkdir()
    shutil.copy(ROOT / "settings.ini", tmp_path)
    for name in ("01_data.ipynb", "03_sft.ipynb"): shutil.copy(ROOT / "nbs" / name, nbs)
    (tmp_path / "bad.yaml").write_text("defaults: {seed: 1, sede: 2}\nnotebooks:\n  03_sft: {seed: 3}\n"
                                       "  01_data.ipynb: {learning_rate: 1}\n")
    r = run_py(["-m", "rlhf_course.book", "--params", str(tmp_path / "bad.yaml"), "--nbs", str(nbs), "--out", str(tmp_path / "out")],
               timeout=120)
    assert one_line_error(r) == (f"book failed: {tmp_path / 'bad.yaml'}: notebooks: '03_sft' is not a chapter file name "
                                 "(NN_name.ipynb) (did you mean 03_sft.ipynb?); notebooks: 01_data.ipynb: parameters "
                                 "['learning_rate'] are not in its parameters cell; defaults: ['sede'] are in no chapter's "
                                 "parameters cell")
    assert not (tmp_path / "out").exists()                  # nothing ran


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
    except SystemExit as e:
        if isinstance(e.code, str): print(e.code, file=sys.stderr, flush=True)
        print(f"EXIT {name} {e.code if isinstance(e.code, int) else 1}", flush=True)
run("full")
original = step3.Step3Run.iteration
def interrupted(self, *a):                      # Ctrl-C during the 5th rollout batch (checkpoint after the 3rd)
    if self.step == 4: raise KeyboardInterrupt
    return original(self, *a)
step3.Step3Run.iteration = interrupted
run("cut")
step3.Step3Run.iteration = original
run("cut")                                      # the same command again: resumes from rollout batch 3
print("=== other flags", file=sys.stderr, flush=True)
run("cut", "--actor_learning_rate", "2e-4")     # resuming with other settings is refused
"""


def test_step3_interrupted_and_resumed_matches_uninterrupted(tmp_path, untrained_steps12):
    actor, reward = untrained_steps12
    r = run_py(["-c", RESUME_DRIVER, str(actor), str(reward), str(tmp_path)], timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "EXIT full" not in r.stdout and "EXIT cut 130\n" in r.stdout and "EXIT cut 1\n" in r.stdout, r.stdout[-3000:]
    other = [l for l in r.stderr.split("=== other flags")[1].splitlines() if l.startswith("rlhf_course.")]
    assert other == [f"rlhf_course.step3: error: --output_dir {tmp_path}/cut holds a step-3 checkpoint (rollout batch 6) of a "
                     "run with other settings (--actor_learning_rate 0.0001 -> 0.0002); pass --force to start afresh, or "
                     "choose another --output_dir"], other
    test_line = [l for l in r.stderr.splitlines() if l.startswith("rlhf_course.step3: interrupted")]
    assert test_line == [f"rlhf_course.step3: interrupted; the checkpoint of rollout batch 3 in {tmp_path}/cut is kept "
                         "(actor, critic, actor_ema, resume/); run the same command again to resume from it (--force "
                         "starts afresh)"], r.stderr[-3000:]
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    assert f"step 3: resuming from the checkpoint of rollout batch 3 in {tmp_path}/cut" in r.stdout
    assert (tmp_path / "cut" / "results.json").is_file()     # the refused resume left the finished run's figures alone
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


def test_train_py_names_a_step_that_failed_after_launch_in_one_line(tmp_path):
    "A step that refuses its flags after launch (train.py's own refusals: tests/test_deployment.py)."
    out = tmp_path / "out"
    # the step's own line (streamed), then train.py's on stderr. torchrun still prints its ChildFailedError report into
    # the streamed output (left as is: it is the launcher's)
    r = run_py(["train.py", "--deployment-type", "cpu", "--step", "1", "--learning_rate", "-1",
                "--output-dir", str(out)], timeout=300)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-3000:]
    ours = [l for l in r.stderr.splitlines() if l.startswith("train.py:")]
    assert ours == [f"train.py: error: step 1 failed (exit code 1); its log: {out.resolve() / 'logs' / 'step1.log'}"]
    assert "rlhf_course.sft: error: --learning_rate must be positive, got -1.0" in r.stdout


def test_the_multi_rank_check_refuses_a_bad_stage_in_one_line():
    import torch.distributed as dist
    from rlhf_course import checkpoints
    had_group = dist.is_initialized()
    with pytest.raises(SystemExit) as e:   # its main's message, which Python prints to stderr as the one line
        checkpoints.main(["--zero_stage", "5"])
    assert e.value.code == "rlhf_course.checkpoints: error: --zero_stage must be 0, 1, 2 or 3, got 5"
    assert dist.is_initialized() == had_group   # refused before a process group was set up
