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
# any chapter not named below, then the site test. "book-side": the chapters that need none of it, then those that
# need only the steps-1-2 checkpoints (NEEDS: each waits for chapter 04, which is done by then). Every other test goes
# to whichever worker is free. Each worker (and what it launches) uses one thread: two workers on two cores.
BOOK_SIDE = {"00_map.ipynb", "00_toyworld.ipynb", "00b_toymodels.ipynb", "01_data.ipynb", "02_deepspeed.ipynb",
             "02a_checkpoints.ipynb", "02b_harness.ipynb", "05_ppo.ipynb", "09b_seeds.ipynb", "11_multi_gpu.ipynb",
             "90_book.ipynb", "91_site.ipynb"}
NEEDS = {nb: "04_reward.ipynb" for nb in ("06_rlhf_engine.ipynb", "06b_rollout.ipynb", "07_ppo_trainer.ipynb",
                                         "12_dpo.ipynb", "13_grpo.ipynb", "14_compare.ipynb")}
# Tests tied to neither chain that run in the "book" chain all the same (after its chapters), to even the two workers'
# loads: xdist gives the worker of the book's long chain almost none of the other tests, so without these the other
# worker ran about two minutes longer (a fresh clone of e054b5e: 1055 s of tests on the book's worker, 1183 s on the
# other). Run first, they delayed chapter 04 and the other chain waited for it (876bff1: 1226 s in all).
BOOK_CHAIN_TESTS = {"test_two_runs_side_by_side", "test_refusal_as_a_user_sees_it"}


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
    # the chapters of NEEDS after the others, BOOK_CHAIN_TESTS after the book's chapters (so chapter 04, which the other
    # chain waits for, is not delayed), the site test last (a stable sort: each chain keeps the book's order)
    def order(item):
        if item.path.name == "test_site.py": return 3
        return 2 if item.originalname in BOOK_CHAIN_TESTS else int(chapter_of(item) in NEEDS)
    items.sort(key=order)
    for item in items:
        if item.path.name == "test_site.py":
            item.add_marker(pytest.mark.xdist_group("book"))
        elif item.path.name == "test_notebooks.py":
            side = chapter_of(item) in BOOK_SIDE or chapter_of(item) in NEEDS
            item.add_marker(pytest.mark.xdist_group("book-side" if side else "book"))
        elif item.originalname in BOOK_CHAIN_TESTS:
            item.add_marker(pytest.mark.xdist_group("book"))


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
