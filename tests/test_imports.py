"""The package's import graph follows the chapters: no cycle, and no module imports a later chapter's module.

A module's chapter is the notebook that exports it (`#| default_exp NAME`), in the notebooks' order in nbs/.
Imports are read with `ast`, at the top of a module and inside functions alike. `python tests/test_imports.py`
prints the graph. Every import sits at the top of its module, but for deliberate lazy ones marked `# lazy: reason`
on their line (issue 15).
"""
import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rlhf_course"


def marked_lazy(lines: list, lineno: int) -> bool:
    "A `# lazy:` comment on the import's line, or alone on the line above it."
    above = lines[lineno - 2].strip() if lineno >= 2 else ""
    return "# lazy:" in lines[lineno - 1] or above.startswith("# lazy:")


def chapters() -> dict:
    "module -> (position, notebook name), in the order of the notebooks in nbs/."
    out = {}
    for i, nb in enumerate(sorted((ROOT / "nbs").glob("*.ipynb"))):
        m = re.search(r"#\|\s*default_exp\s+(\w+)", nb.read_text(encoding="utf-8"))
        if m: out[m[1]] = (i, nb.name)
    return out


def package_modules() -> list:
    return sorted(p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_"))


def imports_of(module: str, modules) -> list:
    "(imported package module, line, inside a function, marked `# lazy:`) for every import of a package module."
    path = PACKAGE / f"{module}.py"
    source = path.read_text(encoding="utf-8")
    lines, tree, found = source.splitlines(), ast.parse(source), []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            targets = []
            if isinstance(child, ast.Import):
                targets = [a.name.split(".")[1] for a in child.names if a.name.startswith("rlhf_course.")]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level or base == "rlhf_course" or base.startswith("rlhf_course."):
                    sub = base.split(".", 1)[1] if base.startswith("rlhf_course.") else (base if child.level else "")
                    sub = sub.split(".")[0]
                    targets = [sub] if sub else [a.name for a in child.names if a.name in modules]
            for t in targets:
                if t != module: found.append((t, child.lineno, in_function, marked_lazy(lines, child.lineno)))
            visit(child, inner)
    visit(tree, False)
    return found


def import_graph() -> dict:
    "module -> {imported module: True if only imported inside functions}."
    modules = package_modules()
    graph = {}
    for m in modules:
        edges = {}
        for target, _, inner, _ in imports_of(m, modules): edges[target] = edges.get(target, True) and inner
        graph[m] = edges
    return graph


def format_graph(graph: dict, order: dict) -> str:
    rows = []
    for m in sorted(graph, key=lambda m: order.get(m, (999, ""))):
        nb = order[m][1].split("_")[0] if m in order else "??"
        deps = sorted(graph[m], key=lambda t: order.get(t, (999, "")))
        rows.append(f"{nb:>4} {m:12s} -> " + (", ".join(t + ("*" if graph[m][t] else "") for t in deps) or "(nothing)"))
    return "\n".join(rows + ["(* imported only inside functions)"])


def find_cycle(graph: dict):
    "One cycle as a list of modules, or None."
    state, stack = {}, []
    def dfs(m):
        state[m] = "open"; stack.append(m)
        for t in graph.get(m, {}):
            if state.get(t) == "open": return stack[stack.index(t):] + [t]
            if t not in state and (c := dfs(t)): return c
        state[m] = "done"; stack.pop()
        return None
    for m in graph:
        if m not in state and (c := dfs(m)): return c
    return None


def test_every_module_has_a_chapter():
    order = chapters()
    missing = [m for m in package_modules() if m not in order]
    assert not missing, f"modules exported by no notebook in nbs/: {missing}"


def test_no_cycle_and_no_back_edge():
    graph, order = import_graph(), chapters()
    text = format_graph(graph, order)
    print(text)
    back = [f"{m} ({order[m][1]}) imports {t} ({order[t][1]})"
            for m, edges in graph.items() for t in edges if m in order and t in order and order[t][0] > order[m][0]]
    assert not back, "imports of a later chapter's module:\n  " + "\n  ".join(back) + "\n" + text
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle) + "\n" + text


def late_imports(source: str) -> list:
    """(line, statement) of every import inside a function (of any module) without a `# lazy: reason` comment on its
    line (or on the line above it, where a long line's comment goes)."""
    lines, found = source.splitlines(), []
    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, (ast.Import, ast.ImportFrom)) and not marked_lazy(lines, child.lineno):
                found.append((child.lineno, " ".join(ast.get_source_segment(source, child).split())))
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))
    visit(ast.parse(source), False)
    return found


def test_imports_at_the_top():
    late = [f"rlhf_course/{m}.py:{line}: {stmt}" for m in package_modules()
            for line, stmt in late_imports((PACKAGE / f"{m}.py").read_text(encoding="utf-8"))]
    print("\n".join(late))
    assert not late, "imports inside functions without a `# lazy: reason` comment on their line:\n" + "\n".join(late)


def test_the_checks_can_fail():
    "A made-up back-edge and cycle are caught (the checks above are not vacuous)."
    order = {"a": (0, "00_a.ipynb"), "b": (1, "01_b.ipynb")}
    graph = {"a": {"b": True}, "b": {"a": False}}
    assert find_cycle(graph) in (["a", "b", "a"], ["b", "a", "b"])
    assert [m for m, e in graph.items() for t in e if order[t][0] > order[m][0]] == ["a"]
    assert "00 a            -> b*" in format_graph(graph, order)
    src = ("import os\ndef f():\n    import torch\n    from rlhf_course.data import x   # lazy: a reason\n"
           "    def g():\n        from . import sft\n    return lambda: __import__('json')\nclass C:\n    def m(self): import json\n")
    assert late_imports(src) == [(3, "import torch"), (6, "from . import sft"), (9, "import json")]


if __name__ == "__main__":
    print(format_graph(import_graph(), chapters()))
    for m in package_modules():
        source = (PACKAGE / f"{m}.py").read_text(encoding="utf-8")
        for i, line in enumerate(source.splitlines()):
            if "# lazy:" in line: print(f"lazy: rlhf_course/{m}.py:{i + 1}: {line.strip()}")
    sys.exit(0)
