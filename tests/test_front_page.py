"""The front page: README.md is nbs/index.ipynb rendered (with the committed results), and its commands exist."""
import subprocess
import sys
from pathlib import Path

from rlhf_course.book import render_readme

ROOT = Path(__file__).resolve().parent.parent


def test_readme_is_the_rendered_index():
    expected = render_readme(ROOT / "nbs" / "index.ipynb", ROOT)
    assert (ROOT / "README.md").read_text() == expected, "README.md is stale: run `python -m rlhf_course.book --readme`"


def test_readme_results_come_from_committed_runs():
    readme = (ROOT / "README.md").read_text()
    for path in ("results/cpu/train_results.json", "results/gpu/step3_h200.json"):
        assert path in readme and (ROOT / path).is_file(), path


def test_front_scripts_answer_help():
    for script in ("train.py", "chat.py"):
        r = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and "usage:" in r.stdout, r.stderr[-1000:]
