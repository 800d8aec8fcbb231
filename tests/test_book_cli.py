"""The book runner as users call it: `python -m rlhf_course.book ...`."""
import json
import subprocess
import sys

import nbformat


def _book(*args, cwd):
    return subprocess.run([sys.executable, "-m", "rlhf_course.book", *args], cwd=cwd, capture_output=True, text=True)


def test_cli_runs_chapters_in_order_and_skips_flagged_cells(tmp_path):
    nbs = tmp_path / "nbs"; nbs.mkdir()
    (tmp_path / "settings.ini").write_text("[DEFAULT]\ntst_flags = gpu|multigpu\n")
    for name, src in (("01_a.ipynb", "open('order.txt', 'a').write('a')"), ("02_b.ipynb", "open('order.txt', 'a').write('b')")):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src),
                                             nbformat.v4.new_code_cell("#| gpu\nraise SystemError('gpu cell ran')")])
        nbformat.write(nb, nbs / name)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("raise SystemError('not a chapter')")]),
                   nbs / "index.ipynb")
    (tmp_path / "p.yaml").write_text("flags: []\n")
    r = _book("--params", "p.yaml", "--out", "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (nbs / "order.txt").read_text() == "ab"          # in order, with cwd = nbs/
    assert (tmp_path / "out" / "02_b.ipynb").is_file() and (tmp_path / "out" / "timings.json").is_file()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())   # written before the first chapter
    assert (manifest["params"], manifest["chapters"], manifest["flags"]) == ("p.yaml", ["01_a.ipynb", "02_b.ipynb"], [])
    assert set(manifest["provenance"]) == {"git", "command", "run_by", "versions", "hardware", "utc"}, manifest
    r = _book("--params", "p.yaml", "--out", "out", "--flags", "gpu", cwd=tmp_path)
    assert r.returncode != 0 and "01_a.ipynb: cell 2" in r.stderr and "gpu cell ran" in r.stderr


def test_cli_leaves_the_site_to_chapter_91(tmp_path):
    r = _book("--out", "out", "--site", "site", cwd=tmp_path)
    assert r.returncode == 2 and "unrecognized arguments: --site" in r.stderr, r.stderr


def test_cli_names_a_missing_parameter_file(tmp_path):
    r = _book("--params", "nope.yaml", cwd=tmp_path)
    assert r.returncode != 0 and "parameter file not found: nope.yaml" in r.stderr
