import os
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATUS = ROOT / "runs" / "pytest" / "status"   # one file per chapter: this run's id and running/passed/failed


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


# pytest-xdist (`-n 2 --dist loadgroup` in pyproject.toml) runs the chapters in two chains, one per worker. "book":
# steps 1-3 (chapters 03, 04, 08, 09), chapter 10 (it chats with the step-3 run; params/ci.yaml wires them together),
# any chapter not named below, then the site tests. "book-side": the chapters that need none of it, then those that
# need only the steps-1-2 checkpoints (NEEDS: each waits for chapter 04, which is done by then). Every other test goes
# to whichever worker is free. Each worker (and what it launches) uses one thread: two workers on two cores.
BOOK_SIDE = {"00_map.ipynb", "00_toyworld.ipynb", "00b_toymodels.ipynb", "01_data.ipynb", "02_deepspeed.ipynb",
             "02a_checkpoints.ipynb", "02b_harness.ipynb", "05_ppo.ipynb", "09b_seeds.ipynb", "11_multi_gpu.ipynb",
             "90_book.ipynb", "91_site.ipynb"}
NEEDS = {nb: "04_reward.ipynb" for nb in ("06_rlhf_engine.ipynb", "06b_rollout.ipynb", "07_ppo_trainer.ipynb",
                                         "12_dpo.ipynb", "13_grpo.ipynb", "14_compare.ipynb")}
# The tests outside both chains go to whichever worker has fewer than three tests waiting: the "book-side" worker once
# its chapters are nearly done, the "book" worker only after the site test. Sent shortest-last, they balance the two
# workers to within the last few seconds; in file order the two-rank tests came last and ran at the same time on both
# workers (four processes on two cores), and the run ended 250 s after the book chain (a fresh clone of caa6534: the
# book worker done at about 1000 s, the other at 1247 s; with this order, at 87a1451, the book worker finished its chain
# at about 950 s and then took tests for the last 200 s of 1166). LONGEST_FIRST: the tests that launch processes,
# longest first, from `python -m pytest -n 1 --durations=80` at caa6534 (seconds alone on this
# 2-core machine: 52, 52, 52, 44 with one more train.py call since, 44, 35, 31, 27 with one more chat.py call since,
# 23, 18, 17, 15, 14, 14, 13, 10); the rest follow in file order.
LONGEST_FIRST = ["test_multi_node_with_a_one_host_hostfile_and_the_rollout_engine",
                 "test_step3_two_ranks_zero3_actor_zero2_critic", "test_two_runs_side_by_side",
                 "test_train_py_names_a_step_that_failed_after_launch_in_one_line", "test_two_ranks_follow_one",
                 "test_step3_interrupted_and_resumed_matches_uninterrupted", "test_ctrl_c_says_what_was_kept",
                 "test_chat_refuses_a_config_only_folder",
                 "test_deepspeed_launcher_sets_a_gpu_and_ds_accelerator_cpu_hides_it",
                 "test_cli_runs_chapters_in_order_and_skips_flagged_cells", "test_front_scripts_answer_help",
                 "test_torchrun_keeps_the_hidden_gpus_and_binds_its_own_port", "test_refusal_as_a_user_sees_it",
                 "test_steps_1_and_2_refuse_bad_data_and_stop_on_ctrl_c_in_one_line",
                 "test_importing_trl_losses_touches_no_network",
                 "test_rank0_builds_the_cache_while_rank1_waits"]


def pytest_configure(config):
    config._rlhf_run_id = uuid.uuid4().hex
    if hasattr(config, "workerinput"):   # an xdist worker
        os.environ["OMP_NUM_THREADS"] = "1"
        os.environ["MKL_NUM_THREADS"] = "1"
        if "torch" in sys.modules:   # imported already (a plugin): its threads are set
            sys.modules["torch"].set_num_threads(1)


def run_id(config) -> str:
    "One id for this pytest run, shared by its xdist workers."
    worker = getattr(config, "workerinput", None)
    return worker["testrunuid"] if worker else config._rlhf_run_id


def chapter_of(item) -> str | None:
    nb = getattr(item, "callspec", None) and item.callspec.params.get("nb_path")
    return nb.name if nb else None


@pytest.hookimpl(tryfirst=True)   # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    # the chapters of NEEDS after the others (each chain keeps the book's order: the sort is stable), the site test
    # last; the other tests in LONGEST_FIRST's order. xdist queues the two groups first (the most tests each).
    def order(item):
        if item.path.name == "test_site.py": return (3, 0)
        if item.path.name == "test_notebooks.py": return (int(chapter_of(item) in NEEDS), 0)
        name = item.originalname
        return (2, LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST))
    items.sort(key=order)
    for item in items:
        if item.path.name == "test_site.py":
            item.add_marker(pytest.mark.xdist_group("book"))
        elif item.path.name == "test_notebooks.py":
            side = chapter_of(item) in BOOK_SIDE or chapter_of(item) in NEEDS
            item.add_marker(pytest.mark.xdist_group("book-side" if side else "book"))


class ChapterStatus:
    "Which chapters ran in this pytest run and how, across xdist workers (a file per chapter under runs/pytest/status)."
    def __init__(self, config):
        self.run = run_id(config)

    def mark(self, chapter: str, state: str):
        STATUS.mkdir(parents=True, exist_ok=True)
        (STATUS / chapter).write_text(f"{self.run} {state}")

    def state(self, chapter: str) -> str | None:
        p = STATUS / chapter
        run, _, state = p.read_text().partition(" ") if p.is_file() else ("", "", "")
        return state if run == self.run else None

    def wait(self, chapters, timeout: float = 1800) -> dict:
        "Each chapter's state once all have passed or failed in this pytest run (or the timeout passed)."
        deadline = time.time() + timeout
        while any(self.state(c) not in ("passed", "failed") for c in chapters) and time.time() < deadline:
            time.sleep(5)
        return {c: self.state(c) for c in chapters}

    def needs(self, chapter: str, selected: set):
        "Wait for the chapter this one builds on, when this pytest run runs it too; fail if it failed."
        need = NEEDS.get(chapter)
        if need in selected and self.wait([need])[need] != "passed":
            pytest.fail(f"{chapter} needs {need}, which did not pass in this run")


@pytest.fixture(scope="session")
def chapter_status(request) -> ChapterStatus:
    return ChapterStatus(request.config)


@pytest.fixture(scope="session")
def untrained_steps12(tmp_path_factory):
    """(actor, reward) for tests of step 3's mechanics, in seconds instead of a minute of steps 1-2: the toy world's
    base actor as the SFT actor, its reward base with a seeded random value head (a zero head would score every
    answer 0) as the reward model. Trained ones are not needed to test how step 3 runs."""
    import torch
    from rlhf_course.ds_utils import load_hf_tokenizer
    from rlhf_course.reward import create_reward_model, save_reward_model
    from rlhf_course.toyworld import load_toyworld
    world = load_toyworld()
    tokenizer = load_hf_tokenizer(str(world.reward))
    model = create_reward_model(str(world.reward), tokenizer)
    torch.manual_seed(0); torch.nn.init.normal_(model.v_head.weight, std=0.5)
    out = tmp_path_factory.mktemp("untrained_steps12") / "reward"
    save_reward_model(model, tokenizer, out, rank=0)
    return world.actor, out
