"""train.py's deployment types on any host: refusals before anything launches, the CPU run's launch command and
environment (no GPU visible to the steps, even on a GPU server), two runs side by side, and Ctrl-C.

The refusals go through `main` (the message a user sees: one line, no traceback); two of them also as a subprocess.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest.mock import patch

import pytest

from rlhf_course.pipeline import CPU_ONLY_ENV, TORCHRUN, check_deployment, main, make_plan, pipeline_parser, step_env

ROOT = Path(__file__).resolve().parent.parent
# steps 1 at its smallest: 15 rows (one batch), one epoch, no gold evaluation
TINY_STEP1 = ["--deployment-type", "cpu", "--step", "1", "--num_train_epochs", "1", "--n_gold_prompts", "0",
              "--data_split", "1,400,400"]


def refusal(argv, tmp_path) -> str:
    "What `python train.py ARGV` says when it refuses: the one-line message of its exit."
    # in this process: no GPU counted (a GPU server's pytest may have initialised CUDA already), and main() does not hide
    # the GPUs from later tests (the subprocess tests below take the real path)
    with patch.dict(os.environ), patch("rlhf_course.pipeline.visible_gpus", lambda: 0), \
         patch("rlhf_course.pipeline.CPU_ONLY_ENV", {}), pytest.raises(SystemExit) as e:
        main([*argv, "--output-dir", str(tmp_path / "out")])
    message = str(e.value.code)
    assert message.startswith("train.py: error: ") and "\n" not in message, message
    assert not (tmp_path / "out").exists()   # refused before anything was written or launched
    return message


@pytest.fixture
def files(tmp_path):
    (tmp_path / "empty").write_text("")
    (tmp_path / "two").write_text("worker-1 slots=8\nworker-2 slots=4\n")
    return tmp_path


@pytest.mark.parametrize("argv, expected", [
    (["--deployment-type", "single_gpu"], "--deployment-type single_gpu needs a GPU, and none is visible here (CUDA_VISIBLE_DEVICES is empty)"),
    (["--deployment-type", "single_node"], "--deployment-type single_node needs a GPU"),
    (["--deployment-type", "single_node", "--num-gpus", "0"], "--num-gpus 0: must be at least 1 (leave it out to use every visible GPU)"),
    (["--deployment-type", "cpu", "--num-gpus", "0"], "--num-gpus 0: must be at least 1"),
    (["--deployment-type", "cpu", "--num-gpus", "2"], "--num-gpus applies only to --deployment-type single_node or multi_node; cpu runs on the CPU"),
    (["--deployment-type", "single_gpu", "--num-gpus", "2"], "--num-gpus applies only to --deployment-type single_node or multi_node; single_gpu runs on one GPU"),
    (["--deployment-type", "cpu", "--hostfile", "/missing"], "--hostfile applies only to --deployment-type multi_node, not cpu"),
    (["--deployment-type", "single_node", "--hostfile", "{empty}"], "--hostfile applies only to --deployment-type multi_node, not single_node"),
    (["--deployment-type", "cpu", "--num-nodes", "2"], "--num-nodes applies only to --deployment-type multi_node, not cpu"),
    (["--deployment-type", "multi_node", "--actor-model", "1.3b"], "--deployment-type multi_node needs --hostfile"),
    (["--deployment-type", "multi_node", "--actor-model", "1.3b", "--hostfile", "/missing"], "--hostfile /missing: file not found"),
    (["--deployment-type", "multi_node", "--actor-model", "1.3b", "--hostfile", "{empty}"], "names no slots"),
    (["--deployment-type", "multi_node", "--actor-model", "1.3b", "--hostfile", "{two}", "--num-nodes", "3"], "--num-nodes 3: --hostfile"),
    (["--deployment-type", "multi_node", "--actor-model", "1.3b", "--hostfile", "{two}", "--num-gpus", "8"], "--num-gpus 8: host worker-2 has only 4 slots"),
    (["--deployment-type", "cpu", "--data_split", "0,0,0"], "--data_split '0,0,0': need three non-negative numbers with a positive sum"),
    (["--deployment-type", "cpu", "--data_split", "2,4"], "--data_split '2,4': need three"),
    (["--deployment-type", "cpu", "--data_split", "10,0,0"], "--data_split 10,0,0: gives step 2 no data"),
    (["--deployment-type", "cpu", "--dtype", "fp64"], "train.py: error: --dtype fp64: expected one of fp32, fp16, bf16"),
])
def test_refused_before_launch(argv, expected, files):
    argv = [a.format(empty=files / "empty", two=files / "two") for a in argv]
    with patch.dict(os.environ, {"CUDA_VISIBLE_DEVICES": ""}):   # as if no GPU were visible, on any host
        message = refusal(argv, files)
    assert expected in message, message


def test_more_gpus_than_visible_refused():
    "Only a host with GPUs can show it through train.py; the check itself, with the count given."
    with pytest.raises(ValueError, match="--num-gpus 8: only 2 GPUs visible here"):
        check_deployment("single_node", num_gpus=8, gpus=2)
    assert check_deployment("single_node", gpus=2) == 2 and check_deployment("single_gpu", gpus=2) == 1


@pytest.mark.parametrize("argv, expected", [
    (["--deployment-type", "single_gpu"], "train.py: error: --deployment-type single_gpu needs a GPU"),
    (["--data_split", "2,4"], "train.py: error: --data_split '2,4'"),
])
def test_refusal_as_a_user_sees_it(argv, expected, tmp_path):
    r = subprocess.run([sys.executable, "train.py", *argv, "--output-dir", str(tmp_path / "out")], cwd=ROOT, text=True,
                       capture_output=True, timeout=300, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1].startswith(expected), r.stderr[-2000:]
    assert "Traceback" not in r.stderr and not (tmp_path / "out").exists()


# ---------------------------------------------------------------- the CPU run on a host with GPUs

def test_cpu_plan_launches_torchrun_with_gpus_hidden(tmp_path):
    args, extra = pipeline_parser().parse_known_args(["--deployment-type", "cpu", "--output-dir", str(tmp_path)])
    plan = make_plan(args, extra)
    assert plan.launcher == [*TORCHRUN, "--nproc_per_node", "1"] and plan.dtype == "fp32"
    with patch.dict(os.environ, {"CUDA_VISIBLE_DEVICES": "0", "MASTER_PORT": "29500"}):   # a GPU server's shell, a kernel's port
        env = step_env("cpu")
    assert env["CUDA_VISIBLE_DEVICES"] == "" and env["DS_ACCELERATOR"] == "cpu" and "MASTER_PORT" not in env


PROBE = """
import os, sys
before = os.environ.get("CUDA_VISIBLE_DEVICES")
import torch
import rlhf_course.ds_utils as d
print("PROBE", repr(before), repr(os.environ.get("CUDA_VISIBLE_DEVICES")), os.environ.get("MASTER_PORT"),
      torch.cuda.is_available(), d.default_backend(), torch.cuda.is_initialized())
"""


def probe(cmd, env, tmp_path):
    (tmp_path / "probe_mod.py").write_text(PROBE)
    r = subprocess.run(cmd, cwd=tmp_path, text=True, capture_output=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": f"{tmp_path}:{ROOT}", **env})
    lines = [l.split()[1:] for l in r.stdout.splitlines() if l.startswith("PROBE ")]
    assert r.returncode == 0 and len(lines) == 1, r.stdout[-2000:] + r.stderr[-2000:]
    return lines[0]


def test_torchrun_keeps_the_hidden_gpus_and_binds_its_own_port(tmp_path):
    "train.py's cpu launch: the caller's CUDA_VISIBLE_DEVICES= reaches the rank; the port comes from the agent's store."
    before, after, port, cuda, backend, initialized = probe(
        [*TORCHRUN, "--nproc_per_node", "1", "--module", "probe_mod"], CPU_ONLY_ENV, tmp_path)
    assert (before, after, cuda, backend, initialized) == ("''", "''", "False", "gloo", "False")
    assert int(port) > 0


def test_deepspeed_launcher_sets_a_gpu_and_ds_accelerator_cpu_hides_it(tmp_path):
    "Why train.py does not use `deepspeed` for cpu: its launch.py sets CUDA_VISIBLE_DEVICES=0 even over an empty one;"
    "a step run by hand under it stays on the CPU with DS_ACCELERATOR=cpu, which importing rlhf_course.ds_utils honours."
    before, after, _, cuda, backend, _ = probe(["deepspeed", "--num_gpus", "1", "--module", "probe_mod"], CPU_ONLY_ENV, tmp_path)
    assert before == "'0'" and after == "''" and (cuda, backend) == ("False", "gloo")


# ---------------------------------------------------------------- two runs on one host, Ctrl-C

def start(out: Path, cache: Path, *extra) -> subprocess.Popen:
    env = {**os.environ, "RLHF_COURSE_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "train.py", *TINY_STEP1, "--output-dir", str(out), *extra], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_runs_side_by_side(tmp_path):
    "Same data options, a fresh shared data cache, two output folders: both finish, each with its own step-1 results."
    cache = tmp_path / "cache"
    runs = {name: start(tmp_path / name, cache) for name in ("a", "b")}
    outs = {name: p.communicate(timeout=600) for name, p in runs.items()}
    for name, p in runs.items():
        assert p.returncode == 0, outs[name][0][-3000:] + outs[name][1][-3000:]
        sft = tmp_path / name / "sft"
        assert (sft / "config.json").is_file() and (sft / "results.json").is_file()
        results = json.loads((tmp_path / name / "results.json").read_text())
        assert list(results["steps"]) == ["1"] and results["config"]["launcher"][:len(TORCHRUN)] == TORCHRUN
        assert json.loads((sft / "results.json").read_text())["final_eval"]["eval_loss"] > 0
    built = [name for name, (stdout, _) in outs.items() if "step 1 train: " in stdout]
    assert len(built) == 1, built   # the data cache was built once: the other run waited for it, then loaded it
    assert [p.name for p in (cache / "data").iterdir() if not p.name.endswith(".lock")] == \
           [p.name for p in (cache / "data").glob("phase1-*") if p.is_dir()]   # no half-written copy left


def test_ctrl_c_says_what_was_kept(tmp_path):
    out = tmp_path / "out"
    # epochs enough that the interrupt lands in training on any machine (one epoch is under 0.1 s; the one-epoch step's
    # first output came about 5 s before train.py ended, so "2 s after the first output" once came after it had ended)
    p = start(out, tmp_path / "cache", "--num_train_epochs", "2000")
    log = out / "logs" / "step1.log"
    deadline = time.time() + 300
    while "sft epoch 2" not in (log.read_text() if log.is_file() else "") and time.time() < deadline and p.poll() is None:
        time.sleep(0.2)
    assert p.poll() is None, "step 1 ended before it could be interrupted"
    p.send_signal(signal.SIGINT)   # to train.py only, as `kill -INT` would (a terminal's Ctrl-C reaches the step too)
    _, stderr = p.communicate(timeout=120)
    last = stderr.strip().splitlines()[-1]
    assert p.returncode == 130 and "Traceback" not in stderr, stderr[-3000:]
    assert last.startswith("train.py: interrupted in step 1; kept: no finished step; step 1 did not finish. Continue with: "
                           "python train.py --deployment-type cpu --step 1"), last
    time.sleep(1)
    left = subprocess.run(["pgrep", "-f", str(out)], capture_output=True, text=True).stdout.split()
    assert not left, f"processes of the interrupted run still alive: {left}"
