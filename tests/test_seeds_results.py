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
