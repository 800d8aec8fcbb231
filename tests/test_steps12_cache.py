"""Chapters that train steps 1-2 themselves (run alone, without the paths params/ci.yaml gives them) share one cache:
every chapter cell run on the CPU that calls `toyworld_steps12` (chapter 06's cache) asks for its default settings, so
all but the first call hit the cache instead of retraining (a few minutes on 2 cores). The multi-rank tests use a
one-epoch key of their own (they test mechanics, not quality). Cells flagged gpu or multigpu may ask for others."""
import ast
import inspect
import json
from pathlib import Path

from rlhf_course.book import cell_directives, chapter_notebooks, load_params, notebook_parameters
from rlhf_course.rlhf_engine import toyworld_steps12

ROOT = Path(__file__).resolve().parent.parent
KEY = ("seed", "sft_epochs", "rm_epochs", "dtype", "scale")


def parameters(nb) -> dict:
    "The literal defaults of a notebook's parameters cell."
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    out = {}
    for node in ast.parse("".join(cell["source"])).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try: out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError: pass
    return out


def cache_calls(nb_path: Path):
    "The settings of each toyworld_steps12(...) call in the cells CI runs, names resolved from the parameters."
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    values = {**parameters(nb), **notebook_parameters(load_params(ROOT / "params" / "ci.yaml"), nb_path)}
    defaults = {k: v.default for k, v in inspect.signature(toyworld_steps12).parameters.items() if k in KEY}
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or "toyworld_steps12(" not in source: continue
        if {"gpu", "multigpu", "export"} & set(cell_directives(source)): continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "toyworld_steps12":
                given = {kw.arg: (values[kw.value.id] if isinstance(kw.value, ast.Name) else ast.literal_eval(kw.value))
                         for kw in node.keywords if kw.arg in KEY}
                yield {**defaults, **given}


def test_chapters_share_one_steps12_cache():
    calls = {nb.name: list(cache_calls(nb)) for nb in chapter_notebooks(ROOT / "nbs")}
    calls = {k: v for k, v in calls.items() if v}
    assert {"06_rlhf_engine.ipynb", "08_step3.ipynb", "10_chat.ipynb"} <= set(calls), calls   # the users it guards
    defaults = {k: v.default for k, v in inspect.signature(toyworld_steps12).parameters.items() if k in KEY}
    for name, settings in calls.items():
        for s in settings: assert s == defaults, f"{name} trains steps 1-2 again with {s} (the shared settings: {defaults})"


def test_a_different_setting_is_caught(tmp_path):
    nb = json.loads((ROOT / "nbs" / "10_chat.ipynb").read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if "toyworld_steps12(" in "".join(c["source"]) and c["cell_type"] == "code")
    cell["source"] = "".join(cell["source"]).replace("toyworld_steps12(seed=seed", "toyworld_steps12(seed=7")
    (tmp_path / "10_chat.ipynb").write_text(json.dumps(nb))
    assert any(s["seed"] == 7 for s in cache_calls(tmp_path / "10_chat.ipynb"))


def guards(tree) -> dict:
    "toyworld_steps12 call -> the parameter whose value (None or not) decides whether it runs, or None if nothing does."
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and isinstance(node.test.left, ast.Name) \
                and isinstance(node.test.ops[0], ast.Is):
            name, body = node.test.left.id, node.body
        elif isinstance(node, ast.IfExp) and isinstance(node.test, ast.Name):
            name, body = node.test.id, [node.orelse]
        else: continue
        for part in body:
            for call in ast.walk(part):
                if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "toyworld_steps12": out[call] = name
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "toyworld_steps12": out.setdefault(node, None)
    return out


def test_ci_trains_steps_1_2_once():
    """With params/ci.yaml, no chapter trains steps 1-2 through the cache: each call in a cell CI runs sits under a
    path parameter that CI sets (chapters 03-04 trained them into runs/ci_train_py)."""
    cfg = load_params(ROOT / "params" / "ci.yaml")
    for nb_path in chapter_notebooks(ROOT / "nbs"):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        given = notebook_parameters(cfg, nb_path)
        for cell in nb["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] != "code" or "toyworld_steps12(" not in source: continue
            if {"gpu", "multigpu", "export"} & set(cell_directives(source)): continue
            for call, name in guards(ast.parse(source)).items():
                assert name and given.get(name), \
                    f"{nb_path.name} trains steps 1-2 in CI (line {call.lineno}: give {name or 'its path'} in params/ci.yaml)"
