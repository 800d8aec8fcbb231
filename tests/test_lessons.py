"""The book's prose: markdown that renders (no control characters, balanced math), and claims that match the files."""
import functools
import json
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "nbs").glob("*.ipynb"))


@functools.lru_cache(maxsize=None)
def read(nb_path):
    return nbformat.read(nb_path, as_version=4)


def markdown_cells(nb_path):
    return [c.source for c in read(nb_path).cells if c.cell_type == "markdown"]


def without_code(text: str) -> str:
    "Markdown with fenced blocks and inline code spans removed (a `$` there is not math)."
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.sub(r"`[^`\n]*`", "", text)


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_markdown_renders(nb_path):
    for src in markdown_cells(nb_path):
        bad = sorted({hex(ord(ch)) for ch in src if ord(ch) < 32 and ch != "\n"})
        assert not bad, f"{nb_path.name}: control characters {bad} in: {src[:80]!r}"
        text = without_code(src).replace(r"\$", "")
        assert text.count("$$") % 2 == 0, f"{nb_path.name}: unbalanced $$ in: {src[:80]!r}"
        assert text.replace("$$", "").count("$") % 2 == 0, f"{nb_path.name}: unbalanced $ in: {src[:80]!r}"
        # what a Python string does to LaTeX: "\frac" loses "\f" (a form feed), "\text" loses "\t" (a tab)
        eaten = re.findall(r"(?m)(?<![\\\w])(rac|ext|imes|heta|ho)\{", text)
        assert not eaten, f"{nb_path.name}: LaTeX commands without their backslash {eaten} in: {src[:80]!r}"


def test_label_noise_claim_matches_the_manifest():
    recap = next(s for s in markdown_cells(ROOT / "nbs" / "00_toyworld.ipynb") if s.startswith("## Recap"))
    claimed = int(re.search(r"(\d+)% of the committed training labels", recap).group(1))
    manifest = json.loads((ROOT / "data" / "toyworld" / "manifest.json").read_text())
    assert claimed == round(100 * manifest["preferences"]["train"]["label_disagrees_with_gold"])


CHAPTERS = [p for p in NOTEBOOKS if re.match(r"^\d\d[a-z]?_", p.name)]


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=[p.name for p in CHAPTERS])
def test_chapter_opens_with_track_and_prerequisites_and_ends_with_a_recap(nb_path):
    from rlhf_course.coursemap import TRACKS
    cells = markdown_cells(nb_path)
    track = re.search(r"<!-- track: (\w+) -->", cells[0])
    assert track, f"{nb_path.name}: the first cell has no `<!-- track: core|systems -->` line"
    assert track.group(1) == TRACKS[re.match(r"^(\d\d[a-z]?)_", nb_path.name).group(1)], nb_path.name
    meta = read(nb_path).metadata.get("rlhf_course", {})
    assert meta.get("track") == track.group(1), f"{nb_path.name}: notebook metadata rlhf_course.track (the site reads it)"
    text = "\n".join(cells)
    for must in ("What you will learn", "What you need first", "## Recap", "## Exercises", "glossary.md"):
        assert must in text, f"{nb_path.name}: no {must!r}"


def test_front_page_map_is_the_codes_drawing(tmp_path):
    from matplotlib.testing.compare import compare_images
    from rlhf_course.coursemap import FRONT_PAGE_MAP, save_map
    fresh = save_map(tmp_path / "map.png")
    assert compare_images(str(ROOT / FRONT_PAGE_MAP), str(fresh), tol=1) is None, "run `python -m rlhf_course.coursemap`"
    assert f"]({FRONT_PAGE_MAP})" in (ROOT / "README.md").read_text(), "the front page shows the map"


def test_glossary_defines_the_course_terms():
    text = (ROOT / "nbs" / "glossary.md").read_text()
    terms = re.findall(r"(?m)^\*\*(.+?)\*\* —", text)
    for must in ("actor", "critic", "reference", "rollout", "action", "advantage", "return", "KL penalty", "ptx",
                 "EMA", "ZeRO stage", "GAE", "reward model", "ratio"):
        assert must in terms, f"glossary: no entry for {must!r}"
    assert terms == sorted(terms, key=str.lower), "glossary entries in alphabetical order"
    manifest = json.loads((ROOT / "data" / "toyworld" / "manifest.json").read_text())
    noise = round(100 * manifest["preferences"]["train"]["label_disagrees_with_gold"])
    assert f"({noise}% in the committed data)" in text


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=[p.name for p in CHAPTERS])
def test_every_exercise_has_a_hint_and_an_executed_solution(nb_path):
    cells = read(nb_path).cells
    recap = next(c.source for c in cells if c.cell_type == "markdown" and "## Exercises" in c.source)
    exercises = re.split(r"\n### ", recap.split("## Exercises")[1])[0]
    n = len(re.findall(r"(?m)^\d+\. ", exercises))
    assert 2 <= n <= 4, f"{nb_path.name}: {n} exercises"
    solutions = [i for i, c in enumerate(cells) if "solution" in c.metadata.get("tags", [])]
    assert len(solutions) == n, f"{nb_path.name}: {n} exercises, {len(solutions)} solution cells"
    for k, i in enumerate(solutions, 1):
        assert cells[i].cell_type == "code" and "#| eval: false" not in cells[i].source, f"{nb_path.name}: solution {k} must run"
        before = cells[i - 1].source
        assert f"Exercise {k}: hint" in before and f"Exercise {k}: solution" in before, f"{nb_path.name}: solution {k}"


PAPERS = {"PPO": "1707.06347", "GAE": "1506.02438", "InstructGPT": "2203.02155", "Ziegler": "1909.08593",
          "DeepSpeed-Chat": "2308.01320", "ZeRO": "1910.02054", "LoRA": "2106.09685"}
CITED_IN = {"05_ppo": ("PPO", "GAE", "Ziegler", "InstructGPT"), "07_ppo_trainer": ("PPO", "InstructGPT"),
            "04_reward": ("InstructGPT", "Ziegler"), "02_deepspeed": ("ZeRO",), "02a_checkpoints": ("LoRA", "ZeRO"), "06_rlhf_engine": ("LoRA", "ZeRO"),
            "08_step3": ("InstructGPT", "Ziegler"), "03_sft": ("InstructGPT",)}


@pytest.mark.parametrize("name", sorted(CITED_IN))
def test_chapters_link_the_papers_they_use(name):
    body = "\n".join(s for s in markdown_cells(ROOT / "nbs" / f"{name}.ipynb") if not s.startswith("**Track:**"))
    for paper in CITED_IN[name]:
        assert f"https://arxiv.org/abs/{PAPERS[paper]}" in body, f"{name}: {paper} not linked where it is used"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_code_cell_parses(nb_path):
    import ast
    for i, c in enumerate(read(nb_path).cells):
        if c.cell_type == "code":
            ast.parse("\n".join(l for l in c.source.splitlines() if not l.lstrip().startswith(("%", "!"))))
