"""The committed seeds study (results/cpu/seeds.json, chapter 09b): it records where it came from, and its summaries are
what its rows give (recomputed here with the package's own functions), so no figure in it was edited by hand."""
import json
from pathlib import Path

import numpy as np

from rlhf_course.study import summarize_rows

SEEDS = Path(__file__).resolve().parent.parent / "results" / "cpu" / "seeds.json"


def test_seeds_json_records_its_run():
    study = json.loads(SEEDS.read_text())
    for key in ("commit", "command", "versions", "hardware"):
        assert study[key], f"{SEEDS.name} records no {key}"
    assert "GPUs hidden" in study["hardware"]
    assert study["variants"] or study["note"], "a study without step-3 rows must say why"


def test_seeds_summaries_are_their_rows():
    study = json.loads(SEEDS.read_text())
    rows12 = study["steps12"]["rows"]
    assert len({r["seed"] for r in rows12}) >= 5
    for key in ("accuracy", "gold_accuracy"):
        diffs = [r["rm_kept"][key] - r["rm_last"][key] for r in rows12]
        assert np.isclose(study["steps12"]["summary"][f"kept_minus_last_{key}"]["mean"], np.mean(diffs))
    for variant, table in study["variants"].items():
        again = summarize_rows(table["rows"])
        for key, fig in table["summary"].items():
            if isinstance(fig, dict) and "mean" in fig: assert np.isclose(again[key]["mean"], fig["mean"]), (variant, key)
        assert again["targets_met"] == table["summary"]["targets_met"], variant


def test_readme_claims_about_the_seeds_study_hold():
    "What README.md (nbs/index.ipynb) says in words about the study, checked against the committed file."
    from rlhf_course.pipeline import TOY_STEP_ARGS
    study = json.loads(SEEDS.read_text())
    v, shipped = study["variants"], study["shipped"]
    n = len(v[shipped]["rows"])
    # "train.py ships the shipped row's step-3 flags for the toy world"
    assert " ".join(study["variant_flags"][shipped]) in " ".join(TOY_STEP_ARGS[3])
    # "DeepSpeed-Chat's plain step 3 (the first row)": no flags, listed first
    assert next(iter(v)) == "default" and study["variant_flags"]["default"] == []
    # "...PPO's greedy answers trade correctness for politeness"
    split = [r["gain_split"]["greedy"] for r in v["default"]["rows"]]
    assert np.mean([s["correct"] for s in split]) < 0 < np.mean([s["polite"] for s in split])
    # "ptx and normalisation keep greedy answers within the target on more seeds, but not on every one"
    met = v[shipped]["summary"]["targets_met"]
    assert v["default"]["summary"]["targets_met"]["greedy"] < met["greedy"] < n
    # "no variant tried meets all three targets on every seed"
    assert not any(t["summary"]["all_targets_every_seed"] for t in v.values())
