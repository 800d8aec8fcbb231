"""Every chapter runs top to bottom with papermill, from a fresh kernel, with the CI parameters.

Chapters run in order, in two chains (tests/conftest.py: a chapter may use what an earlier one of its chain built);
the executed notebooks stay in
runs/pytest/ for inspection. The chapters' own cells carry their tests (fastcore's test_eq and friends).
"""
from pathlib import Path

import pytest

from rlhf_course.book import chapter_notebooks, known_flags, load_params, notebook_parameters, run_notebook, write_run_manifest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = chapter_notebooks(ROOT / "nbs")


@pytest.fixture(scope="module", autouse=True)
def run_manifest(request):
    "runs/pytest/manifest.json: the run these chapters make (the site built from it names it on every page)."
    selected = [i.callspec.params["nb_path"] for i in request.session.items if i.originalname == "test_chapter_runs"]
    write_run_manifest(ROOT / "runs" / "pytest", "params/ci.yaml", selected, load_params(ROOT / "params" / "ci.yaml")["flags"],
                       root=ROOT, command="python -m pytest (tests/test_notebooks.py)")


def test_every_chapter_has_one_parameters_cell():
    import nbformat
    for nb_path in CHAPTERS:
        nb = nbformat.read(nb_path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{nb_path.name}: {len(tagged)} parameters cells"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=[p.name for p in CHAPTERS])
def test_chapter_runs(nb_path, chapter_status, request):
    cfg = load_params(ROOT / "params" / "ci.yaml")
    chapter_status.needs(nb_path.name, {i.callspec.params["nb_path"].name for i in request.session.items
                                        if i.originalname == "test_chapter_runs"})
    chapter_status.mark(nb_path.name, "running")   # the site test (another worker, maybe) waits for the chapters
    try:
        run_notebook(nb_path, ROOT / "runs" / "pytest" / nb_path.name, notebook_parameters(cfg, nb_path),
                     flags=cfg["flags"], cwd=ROOT / "nbs", known=known_flags(ROOT / "settings.ini"), progress=False)
    except BaseException:
        chapter_status.mark(nb_path.name, "failed")
        raise
    chapter_status.mark(nb_path.name, "passed")
