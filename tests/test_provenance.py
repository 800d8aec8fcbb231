"""Every results JSON the project writes records where it came from (chapter 00's `provenance`): steps 1-3
(`save_run_outputs`), train.py (`pipeline_results`), the benchmarks (`bench/common.py`); the book's timings are
checked in chapter 90. Benchmarks write under runs/ unless told otherwise."""
import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def head_commit() -> str:
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()


def check_provenance(p: dict):
    assert set(p) == {"git", "command", "run_by", "versions", "hardware", "utc"}, p
    if (ROOT / ".git").exists(): assert p["git"]["commit"] == head_commit() and isinstance(p["git"]["dirty"], bool)
    else: assert p["git"] == {"commit": None, "dirty": None}       # a copy without git history says so
    # this very process: pytest, or one of pytest-xdist's workers (started as `python -c ...`)
    assert p["command"].startswith("python") and ("pytest" in p["command"] or os.environ.get("PYTEST_XDIST_WORKER"))
    for lib in ("python", "torch", "transformers", "deepspeed", "datasets"): assert p["versions"][lib], lib
    assert p["hardware"]["cpu"] and p["hardware"]["cpu_cores"] >= 1 and isinstance(p["hardware"]["gpus"], list)


def test_step_results_record_provenance(tmp_path):
    from rlhf_course.sft import parse_args
    from rlhf_course.harness import MetricsLog, save_run_outputs
    args = parse_args(["--model_name_or_path", str(ROOT / "data" / "toyworld" / "models" / "actor"),
                       "--output_dir", str(tmp_path), "--learning_rate", "0.002"])
    save_run_outputs(args, MetricsLog(), {"final_eval": {"loss": 1.0}}, rank=0)
    written = json.loads((tmp_path / "results.json").read_text())
    assert written["final_eval"] == {"loss": 1.0}
    check_provenance({k: v for k, v in written["provenance"].items() if k != "options"})
    options = written["provenance"]["options"]                                       # what the run was asked to do
    assert options["learning_rate"] == 0.002 and options["data_split"] == "2,4,4"
    assert options["model_name_or_path"] == str((ROOT / "data" / "toyworld" / "models" / "actor").resolve())
    args.output_dir = tmp_path / "rank1"
    save_run_outputs(args, MetricsLog(), {}, rank=1)                                 # other ranks write nothing
    assert not (tmp_path / "rank1").exists()


def test_pipeline_results_record_provenance(tmp_path):
    from rlhf_course.pipeline import make_plan, pipeline_parser, pipeline_results
    args, extra = pipeline_parser().parse_known_args(["--output-dir", str(tmp_path)])
    check_provenance(pipeline_results(make_plan(args, extra), {}, 0.0)["provenance"])


def test_bench_results_record_provenance_and_default_under_runs(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))                                 # the benchmarks import `common`
    import common, rollout, step3
    common.write_results(tmp_path / "b.json", {"rows": []})
    written = json.loads((tmp_path / "b.json").read_text())
    assert written["rows"] == [] and written["card"]["name"]
    # the benches' own field: the code that ran, as bench/check_commit.py recomputes it at a commit
    assert written["provenance"].pop("code_fingerprint") == common.tree_fingerprint()
    check_provenance(written["provenance"])
    for bench in (rollout, step3):
        out = Path(bench.parse_args([]).out)
        assert out.parts[:2] == ("runs", "bench"), out                               # not results/gpu


def test_code_fingerprint_of_a_tree_matches_its_commit_and_only_its_commit(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import common
    git = lambda *a: subprocess.run(["git", "-C", str(tmp_path), *a], check=True, capture_output=True)
    for rel, text in (("rlhf_course/a.py", "A = 1\n"), ("bench/b.py", "B = 2\n"), ("train.py", "T = 3\n"),
                      ("bench/stack_sampler/c.py", "not fingerprinted\n"), ("nbs/x.py", "nor this\n")):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    git("init", "-q"); git("add", "."); git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    first = common.tree_fingerprint(tmp_path)
    assert first == common.commit_fingerprint("HEAD", tmp_path)                # the tree is its commit
    (tmp_path / "nbs/x.py").write_text("changed, not code a bench runs\n")
    assert common.tree_fingerprint(tmp_path) == first
    (tmp_path / "bench/b.py").write_text("B = 4\n")                             # the code that runs changed
    assert common.tree_fingerprint(tmp_path) != common.commit_fingerprint("HEAD", tmp_path)
    git("commit", "-qam", "two")
    assert common.tree_fingerprint(tmp_path) == common.commit_fingerprint("HEAD", tmp_path) != first

