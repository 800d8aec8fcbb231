#!/usr/bin/env python
"""Make the notebooks' code read as a lesson: lines of at most 100 characters, one statement a line.

Run it from the repository root, then export, clean and check:

    python tools/fmt100.py; nbdev_export && nbdev_clean && python -m pytest tests/test_code_style.py

It edits the code cells of `nbs/*.ipynb` (the source of the package), and only the statements that
break the rule (by default only in exported cells; `--all-cells` extends it to every code cell):

1. long lines and lines holding several statements (`a; b`, `if x: y`) are formatted by black
   (its stable style plus its string-splitting feature, on those statements only; the quotes the
   author chose and the cell's blank lines are kept); nbdev's `#| ...` directives stay as they are;
   a long `from x import a, b, ...` is refilled in parentheses instead (black's form would stop
   nbdev from making the import relative in the module);
2. one-line docstrings longer than the limit become triple-quoted docstrings of several even lines
   (the words are kept, only the spaces where a line breaks become line breaks); long lines inside
   triple-quoted docstrings are broken the same way;
3. an own-line comment longer than the limit is broken into several `#` lines at the same indent
   (the words it pushes out start the next comment line when that one goes on with the same prose);
   a trailing comment that makes its line too long moves onto its own line(s) above the statement;
4. string literals black leaves long (f-strings without spaces, dictionary keys, the words of a
   triple-quoted `'''...'''.split()`) are cut where the value stays the same;
5. whatever is still too long, or still holds several statements, is printed as
   `notebook cell_id line: text` for a human to fix (the exit status is then 1).

Every changed cell must parse to the same syntax tree as before (docstrings and `.split()` texts
compared by their words); a cell that would not is left as it was and reported.

Cell ids, cell order, metadata (papermill's `parameters` tag), outputs and markdown cells are left
alone; a cell's `source` keeps its form (one string, or a list of lines); the notebooks are written
as nbdev_clean writes them. Cells black cannot parse (IPython cell magics, syntax errors) are
skipped and reported. Lines are checked with ruff (E501, E701, E702, E703), as the test does.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import io
import json
import re
import subprocess
import sys
import tempfile
import tokenize
from pathlib import Path

try:
    import black
    from black.handle_ipynb_magics import (
        mask_cell,
        put_trailing_semicolon_back,
        remove_trailing_semicolon,
        unmask_cell,
    )
except ImportError as err:  # pragma: no cover
    sys.exit(f"fmt100 needs black with its jupyter extra: pip install 'black[jupyter]' ({err})")

RULES = "E501,E701,E702,E703"
EXPORT_RE = re.compile(r"^#\|\s*export[is]?\b", re.M)
# comments that tools read: never moved nor rewrapped
PRAGMA_RE = re.compile(r"#\s*(noqa|type:|fmt:|pragma|pyright:|mypy:)")


def nb_dumps(nb: dict) -> str:
    "The notebook as nbdev_clean (execnb's `nb2str`) writes it."
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def cell_text(cell: dict) -> str:
    "The cell's source as one string, whichever form it is stored in."
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def set_cell_text(cell: dict, text: str) -> None:
    "Store `text` in the form the cell had: one string, or a list of lines."
    if isinstance(cell["source"], str):
        cell["source"] = text
    else:
        cell["source"] = re.findall(r"[^\n]*\n|[^\n]+$", text)


def is_exported(text: str) -> bool:
    "Whether nbdev exports the cell (`#| export`, `#| exporti`, `#| exports`)."
    return bool(EXPORT_RE.search(text))


# ----------------------------------------------------------------------------- checking with ruff
def hide_magics(text: str) -> str:
    "IPython's `%magic` and `!shell` lines as comments of the same length, for Python's parsers."
    return re.sub(r"(?m)^(\s*)[%!]", r"\1#", text)


def ruff_offences(texts: dict, limit: int, keep_last_semicolon: set) -> dict:
    """Ruff's E501/E701/E702/E703 findings for each text, as {key: [(line, code), ...]}.

    One ruff process checks every cell (each written to a file of a temporary folder). A trailing
    semicolon on a cell's last line (E703) is allowed for the keys in `keep_last_semicolon`: in a
    notebook it hides the cell's output, and nbdev does not export those cells."""
    found = {key: [] for key in texts}
    if not texts:
        return found
    with tempfile.TemporaryDirectory() as tmp:
        names = {}
        for i, (key, text) in enumerate(texts.items()):
            name = f"cell{i}.py"
            names[name] = key
            Path(tmp, name).write_text(hide_magics(text), encoding="utf-8")
        cmd = [sys.executable, "-m", "ruff", "check", "--isolated", "--select", RULES,
               "--line-length", str(limit), "--output-format", "json", "--exit-zero", "--no-cache",
               "."]
        res = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
        if res.returncode != 0:
            sys.exit(f"fmt100: ruff did not run (pip install ruff): {res.stderr.strip()}")
        for item in json.loads(res.stdout):
            key = names[Path(item["filename"]).name]
            line = item["location"]["row"]
            if item["code"] not in RULES.split(","):
                found[key].append((line, "syntax"))  # ruff cannot parse the cell
                continue
            if item["code"] == "E703" and key in keep_last_semicolon:
                if line == len(texts[key].rstrip("\n").splitlines()):
                    continue
            found[key].append((line, item["code"]))
    return found


# ----------------------------------------------------------------------------- 1. black
def black_mode(limit: int) -> black.Mode:
    "Black's stable style with its string-splitting feature, keeping the author's quotes."
    return black.Mode(
        line_length=limit,
        string_normalization=False,
        enabled_features={black.Preview.string_processing},
    )


def restore_directives(before: str, after: str) -> str:
    "Black writes `#| export` as `# | export`; nbdev then no longer sees it. Put them back."
    kept = {line.strip() for line in before.splitlines() if line.lstrip().startswith("#|")}

    def fix(m: re.Match) -> str:
        fixed = m.group(1) + "#|" + m.group(2)
        return fixed if fixed.strip() in kept else m.group(0)

    return re.sub(r"(?m)^(\s*)# \|(.*)$", fix, after)


def run_black(text: str, lines: list, mode: black.Mode, keep_semicolon: bool) -> str:
    """Format the statements of `text` that cover `lines` (1-based), as black formats a cell.

    Raises `ValueError` for a cell black cannot parse (a cell magic, a syntax error)."""
    if text.lstrip().startswith("%%"):
        raise ValueError("a cell magic")
    try:
        src, had_semicolon = remove_trailing_semicolon(text) if keep_semicolon else (text, False)
        masked, replacements = mask_cell(src)
    except (SyntaxError, tokenize.TokenError) as err:
        raise ValueError(f"black cannot parse it ({err.args[0]})") from None
    ranges = [(n, n) for n in sorted(set(lines))]
    try:
        out = black.format_str(masked, mode=mode, lines=ranges)
        black.check_stability_and_equivalence(masked, out, mode=mode, lines=ranges)
    except black.parsing.InvalidInput as err:
        raise ValueError(f"black cannot parse it ({err})") from None
    out = unmask_cell(out, replacements)
    out = put_trailing_semicolon_back(out, had_semicolon)
    out = out.rstrip("\n") + ("\n" if text.endswith("\n") else "")
    return restore_directives(text, drop_added_blank_lines(text, out))


def drop_added_blank_lines(before: str, after: str) -> str:
    """`after` without the blank lines black added (around definitions, between methods): the
    notebooks keep their own spacing. Lines black did not touch are compared as they are."""
    old, new = before.split("\n"), after.split("\n")
    out = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        chunk = new[j1:j2]
        if op == "insert" and not any(line.strip() for line in chunk):
            continue
        if op == "replace" and not any(not line.strip() for line in old[i1:i2]):
            chunk = [line for line in chunk if line.strip()]
        elif op == "replace":
            while chunk and not chunk[0].strip() and old[i1].strip():
                chunk = chunk[1:]
            while chunk and not chunk[-1].strip() and old[i2 - 1].strip():
                chunk = chunk[:-1]
        out += chunk
    return "\n".join(out)


def wrap_imports(text: str, limit: int) -> str:
    """Refill a long `from X import a, b, ...` as `from X import (a, b,` / aligned `c, d)`.

    Black would put one name a line and the closing parenthesis alone on the last line; nbdev then
    no longer turns `from rlhf_course.x import` into `from .x import` in the module (it reads the
    module name through the end column of the statement's last line)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    lines = text.split("\n")
    commented = {row for row, *_ in comment_tokens(text)}
    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    for node in sorted(nodes, key=lambda n: -n.lineno):
        first, last = node.lineno - 1, node.end_lineno - 1
        if all(len(lines[i]) <= limit for i in range(first, last + 1)):
            continue
        if commented & set(range(first + 1, last + 2)):
            continue
        if lines[last][node.end_col_offset :].strip():
            continue
        indent = lines[first][: node.col_offset]
        if indent.strip():
            continue
        names = [a.name + (f" as {a.asname}" if a.asname else "") for a in node.names]
        head = f"{indent}from {'.' * node.level}{node.module or ''} import ("
        out, current = [], head
        for k, name in enumerate(names):
            piece = name + (")" if k == len(names) - 1 else ",")
            gap = "" if current.endswith("(") or not current.strip() else " "
            if len(current) + len(gap) + len(piece) > limit and current.strip() != head.strip():
                out.append(current)
                current = " " * len(head) + piece
            else:
                current += gap + piece
        out.append(current)
        candidate = lines[:first] + out + lines[last + 1 :]
        if same_program("\n".join(lines), "\n".join(candidate)):
            lines = candidate
    return "\n".join(lines)


# ----------------------------------------------------------------------------- 2. docstrings
def split_words(body: str, first: int, rest: int) -> list | None:
    """Break `body` at single spaces into pieces: the first at most `first` characters, the others
    at most `rest`. A space after a backslash is never a break (the backslash would then escape
    the line break). None when a word alone is too long."""
    pieces, current = [], ""
    for word in re.split(r"(?<!\\) ", body):
        width = first if not pieces else rest
        candidate = word if not current else current + " " + word
        if len(candidate) <= width or not current:
            current = candidate
        else:
            pieces.append(current)
            current = word
    pieces.append(current)
    widths = [first] + [rest] * (len(pieces) - 1)
    if any(len(p) > w for p, w in zip(pieces, widths)):
        return None
    return pieces


def balanced_words(body: str, first: int, rest: int) -> list | None:
    "`split_words` into as few lines as the widths allow, the lines as even as they can be."
    best = split_words(body, first, rest)
    if best is None:
        return None
    for shorter in range(1, min(first, rest)):
        pieces = split_words(body, first - shorter, rest - shorter)
        if pieces is None or len(pieces) != len(best):
            break
        best = pieces
    return best


def docstring_nodes(tree: ast.AST) -> list:
    "The string statements that open a module, a class or a function."
    found = []
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            if isinstance(body[0].value.value, str):
                found.append(body[0].value)
    return found


def same_words(a: str, b: str) -> bool:
    return a.split() == b.split()


def wrap_docstrings(text: str, limit: int) -> str:
    "Wrap the docstrings that hold a line longer than `limit` (see the module's docstring)."
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    lines = text.split("\n")
    # from the bottom up, so that earlier line numbers stay valid
    for node in sorted(docstring_nodes(tree), key=lambda n: -n.lineno):
        first, last = node.lineno - 1, node.end_lineno - 1
        if all(len(lines[i]) <= limit for i in range(first, last + 1)):
            continue
        indent = lines[first][: node.col_offset]
        if first == last:
            new = wrap_one_line_docstring(lines[first], node, indent, limit)
        else:
            new = wrap_long_lines_in(lines[first : last + 1], indent, limit)
        if new is None:
            continue
        candidate = lines[:first] + new + lines[last + 1 :]
        try:
            check = ast.parse("\n".join(candidate))
        except SyntaxError:
            continue
        same_place = [n for n in docstring_nodes(check) if n.lineno == node.lineno]
        if same_place and same_words(same_place[0].value, node.value):
            lines = candidate
    return "\n".join(lines)


def wrap_one_line_docstring(line: str, node: ast.Constant, indent: str, limit: int):
    "`'''Summary ... text.'''` over several lines, or None when it cannot be done safely."
    literal = line[node.col_offset : node.end_col_offset]
    tail = line[node.end_col_offset :]
    m = re.fullmatch(r"([rRuU]?)('''|\"\"\"|'|\")(.*)\2", literal, re.S)
    if not m or tail.strip():
        return None
    prefix, quote, body = m.groups()
    if len(quote) == 1:
        for q in ('"""', "'''"):
            if q not in body and not body.endswith(q[0]):
                quote = q
                break
        else:
            return None
    first = limit - len(indent) - len(prefix) - len(quote)
    rest = limit - len(indent)
    pieces = balanced_words(body, first, rest)
    if pieces is None:
        return None
    if len(pieces[-1]) + len(quote) > (first if len(pieces) == 1 else rest):
        pieces.append("")
    out = [indent + prefix + quote + pieces[0]]
    out += [indent + p if p else indent for p in pieces[1:]]
    out[-1] += quote
    return out


def wrap_long_lines_in(block: list, indent: str, limit: int):
    "Break the long lines of a triple-quoted docstring, each at its own indent."
    out = []
    for i, line in enumerate(block):
        if len(line) <= limit:
            out.append(line)
            continue
        own = indent if i == 0 else re.match(r"\s*", line).group(0)
        lead = line[: len(own)] if i == 0 else own
        body = line[len(lead) :]
        pieces = split_words(body, limit - len(lead), limit - len(own))
        if pieces is None:
            return None
        out += [lead + pieces[0]] + [own + p for p in pieces[1:]]
    return out


# ----------------------------------------------------------------------------- 3. comments
def comment_tokens(text: str) -> list:
    """(row, column, comment, statement_row) of every comment, or [] when the text does not
    tokenize. `statement_row` is the first line of the statement a trailing comment ends, or the
    comment's own row when the comment sits inside brackets before the statement's end."""
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []
    skip = (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE)
    found, start = [], None
    for i, tok in enumerate(toks):
        if tok.type == tokenize.NEWLINE:
            start = None
        elif tok.type not in skip and start is None:
            start = tok.start[0]
        if tok.type == tokenize.COMMENT:
            ends_statement = i + 1 < len(toks) and toks[i + 1].type == tokenize.NEWLINE
            row = start if ends_statement and start is not None else tok.start[0]
            found.append((tok.start[0], tok.start[1], tok.string, row))
    return found


def wrap_comment(comment: str, indent: str, limit: int, balance: bool = True) -> list | None:
    """`# words ...` as several `#` lines of at most `limit` characters at `indent`, as even as
    they can be (`balance`), or each as full as it can be."""
    m = re.match(r"#+\s*", comment)
    lead = m.group(0) if m.group(0).endswith(" ") else m.group(0) + " "
    body = comment[m.end() :].rstrip()
    width = limit - len(indent) - len(lead)
    if width <= 20:
        return None
    pieces = (balanced_words if balance else split_words)(body, width, width)
    if pieces is None:
        return None
    return [indent + lead + p for p in pieces]


CONTINUES_PROSE = re.compile(r"[a-z][a-z'-]*[,;.]?(\s|$)")


def wrap_comments(text: str, limit: int) -> str:
    """Break long own-line comments; move a trailing comment that makes its line too long onto its
    own line(s) above the statement it ends (or above its line, inside brackets).

    The words a long own-line comment pushes out go to the start of the next comment line when that
    line goes on with the same prose (same indent, starts with a lower-case word), else onto a line
    of their own."""
    lines = text.split("\n")
    above, replace = {}, {}
    found = comment_tokens(text)
    own = {r - 1: (col, c) for r, col, c, _ in found if not lines[r - 1][:col].strip()}
    carry = None  # (row, words): words pushed out of the line above, for row's start
    for row, col, comment, statement_row in found:
        i = row - 1
        line = lines[i]
        if comment.startswith("#|") or PRAGMA_RE.match(comment):
            continue
        if i in own:
            lead = re.match(r"#+ ?", comment).group(0)
            body = comment[len(lead) :].rstrip()
            if carry and carry[0] == i:
                body = carry[1] + " " + body
            carry = None
            if len(line[:col] + lead + body) <= limit:
                if body != comment[len(lead) :].rstrip():
                    replace[i] = [line[:col] + lead + body]
                continue
            new = wrap_comment(lead + body, line[:col], limit, balance=False)
            if not new:
                continue
            nxt = own.get(i + 1)
            if (len(new) > 1 and nxt and nxt[0] == col and lines[i + 1][col:].startswith(lead)
                    and CONTINUES_PROSE.match(lines[i + 1][col + len(lead) :])):
                carry = (i + 1, new.pop()[col + len(lead) :])
            else:
                new = wrap_comment(lead + body, line[:col], limit)
            replace[i] = new
            continue
        if len(line) <= limit:
            continue
        code = line[:col].rstrip()
        target = statement_row - 1
        if target > 0 and lines[target - 1].rstrip().endswith("\\"):
            continue  # a comment line cannot sit inside a backslash continuation
        new = wrap_comment(comment, re.match(r"\s*", lines[target]).group(0), limit)
        if new:
            above.setdefault(target, []).extend(new)
            replace[i] = [code]
    out = []
    for i, line in enumerate(lines):
        out += above.get(i, []) + replace.get(i, [line])
    return "\n".join(out)


# ----------------------------------------------------------------------------- 4. long strings
class _JoinSplitStrings(ast.NodeTransformer):
    "Replace each `'...'.split()` receiver by its words joined with single spaces."

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if (isinstance(f, ast.Attribute) and f.attr == "split" and not node.args
                and not node.keywords and isinstance(f.value, ast.Constant)
                and isinstance(f.value.value, str)):
            f.value = ast.Constant(" ".join(f.value.value.split()))
        return node


def same_program(a: str, b: str, split_words_only: bool = False, docstrings: bool = False) -> bool:
    """Whether two texts parse to the same syntax tree; `split_words_only` compares the receivers
    of `'...'.split()` by their words, `docstrings` the docstrings by their words."""
    try:
        ta, tb = ast.parse(a), ast.parse(b)
    except SyntaxError:
        return False
    if split_words_only:
        ta, tb = _JoinSplitStrings().visit(ta), _JoinSplitStrings().visit(tb)
    if docstrings:
        for doc in docstring_nodes(ta) + docstring_nodes(tb):
            doc.value = " ".join(doc.value.split())
    return ast.dump(ta) == ast.dump(tb)


# a string literal first on its line; after it only closing brackets and commas, or `: ...` (a key)
LONE_STRING = re.compile(r"""(\s*)([rRuUfFbB]{0,2})("|')(.*)\3(\s*[,)\]}]*\s*|: [^"'#]*)""")


def string_cuts(body: str, is_f: bool) -> list:
    """Places where a string literal's source can be cut into two literals with the same value:
    never inside an escape sequence nor, in an f-string, inside a `{...}` field; each with a rank
    (after a space 0, after `/` or punctuation 1, at a field's edge 2)."""
    cuts, depth, i = [], 0, 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            i += 2
            continue
        if is_f and ch in "{}" and body[i : i + 2] in ("{{", "}}") and depth == 0:
            i += 2
            continue
        if is_f and ch == "{":
            if depth == 0 and i > 0:
                cuts.append((i, 2))
            depth += 1
        elif is_f and ch == "}":
            depth -= 1
            if depth == 0:
                cuts.append((i + 1, 2))
        elif depth == 0 and i > 0:
            prev = body[i - 1]
            if prev == " ":
                cuts.append((i, 0))
            elif prev in "/,;:" and body[i - 2 : i] != "\\" + prev:
                cuts.append((i, 1))
        i += 1
    return cuts


def split_lone_strings(text: str, limit: int) -> str:
    """Cut a long string literal that stands alone on its line inside brackets (black's string
    splitting leaves f-strings without spaces) into literals on several lines."""
    lines = text.split("\n")
    changed = False
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        m = LONE_STRING.fullmatch(line)
        if len(line) <= limit or not m:
            continue
        indent, prefix, quote, body, tail = m.groups()
        if body.startswith(quote * 2):
            continue  # a triple-quoted string: its line breaks are part of its value
        pieces, rest = [], body
        head = len(indent) + len(prefix) + 2
        while head + len(rest) + len(tail) > limit:
            cuts = string_cuts(rest, "f" in prefix.lower())
            cuts = [(k, r) for k, r in cuts if head + k <= limit]
            if not cuts:
                break
            best = min(r for _, r in cuts)
            k = max(c for c, r in cuts if r == best)
            pieces.append(rest[:k])
            rest = rest[k:]
        if not pieces:
            continue
        pieces.append(rest)
        new = [indent + prefix + quote + p + quote for p in pieces]
        new[-1] += tail
        candidate = lines[:i] + new + lines[i + 1 :]
        if same_program("\n".join(lines), "\n".join(candidate)):
            lines, changed = candidate, True
    return "\n".join(lines) if changed else text


def wrap_split_strings(text: str, limit: int) -> str:
    """Break the long lines of a triple-quoted `'''word word ...'''.split()` at spaces: its
    value is only ever split on whitespace."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    lines = text.split("\n")
    rows = set()
    for node in ast.walk(tree):
        f = getattr(node, "func", None)
        if (isinstance(node, ast.Call) and isinstance(f, ast.Attribute) and f.attr == "split"
                and not node.args and not node.keywords and isinstance(f.value, ast.Constant)
                and isinstance(f.value.value, str) and f.value.lineno != f.value.end_lineno):
            rows |= set(range(f.value.lineno - 1, f.value.end_lineno))
    candidate = list(lines)
    for i in sorted(rows, reverse=True):
        if len(candidate[i]) > limit:
            pieces = split_words(candidate[i], limit, limit)
            if pieces:
                candidate[i : i + 1] = pieces
    if candidate != lines and same_program(text, "\n".join(candidate), split_words_only=True):
        return "\n".join(candidate)
    return text


# ----------------------------------------------------------------------------- driver
def format_cells(cells: dict, limit: int, all_cells: bool):
    """Format every cell of `cells` ({key: text}) that breaks the rules; return the new texts and
    the list of cells skipped, with the reason."""
    mode = black_mode(limit)
    keep_semicolon = {k for k, t in cells.items() if not is_exported(t)}
    todo = {k: t for k, t in cells.items() if all_cells or is_exported(t)}
    out, skipped = dict(cells), []
    # comments, docstrings and imports first: black would otherwise split code to make room for
    # the first two, and write the imports in a form nbdev no longer makes relative
    for key, text in todo.items():
        out[key] = wrap_imports(wrap_docstrings(wrap_comments(text, limit), limit), limit)
    offences = ruff_offences({k: out[k] for k in todo}, limit, keep_semicolon)
    for key, found in offences.items():
        if not found:
            continue
        if cells[key].lstrip().startswith("%%"):
            skipped.append((key, "a cell magic (black cannot format it)"))
            out[key] = cells[key]
            continue
        if any(code == "syntax" for _, code in found):
            skipped.append((key, "Python cannot parse it"))
            out[key] = cells[key]
            continue
        try:
            text = run_black(out[key], [n for n, _ in found], mode, key in keep_semicolon)
        except (ValueError, AssertionError) as err:
            skipped.append((key, str(err).splitlines()[0]))
            continue
        out[key] = after_black(text, limit)
    # the safety net: every change keeps the program (docstrings and `.split()` texts: their words)
    for key in todo:
        old, new = hide_magics(cells[key]), hide_magics(out[key])
        if out[key] != cells[key] and not same_program(old, new, True, True):
            skipped.append((key, "the result would change the program; left as it was"))
            out[key] = cells[key]
    return out, skipped


def after_black(text: str, limit: int) -> str:
    "Steps 2-4 again on black's output: comments, docstrings, strings black leaves long."
    text = wrap_docstrings(wrap_comments(text, limit), limit)
    return wrap_split_strings(split_lone_strings(text, limit), limit)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to format (default: nbs/*.ipynb)")
    parser.add_argument("--line-length", type=int, default=100, help="the longest line allowed")
    parser.add_argument(
        "--all-cells", action="store_true", help="every code cell, not only the exported ones"
    )
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    args = parser.parse_args(argv)
    paths = [Path(p) for p in args.notebooks] or sorted(Path("nbs").glob("*.ipynb"))
    if not paths:
        parser.error("no notebooks: run it from the repository root, or name them")
    for p in paths:
        if not p.is_file():
            parser.error(f"no such notebook: {p}")
    limit = args.line_length

    notebooks, cells = {}, {}
    for path in paths:
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
            nb["cells"]
        except (ValueError, KeyError, TypeError) as err:
            parser.error(f"{path} is not a notebook ({err})")
        notebooks[path] = nb
        for index, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "code":
                cells[(path, index)] = cell_text(cell)

    if args.check:
        new, skipped = cells, []
    else:
        new, skipped = format_cells(cells, limit, args.all_cells)

    changed_cells, changed_nbs = 0, 0
    for path, nb in notebooks.items():
        before = nb_dumps(nb)
        for index, cell in enumerate(nb["cells"]):
            key = (path, index)
            if key in new and new[key] != cells[key]:
                set_cell_text(cell, new[key])
                changed_cells += 1
        after = nb_dumps(nb)
        if after != before:
            path.write_text(after, encoding="utf-8")
            changed_nbs += 1

    def where(key):
        path, index = key
        return f"{path} {notebooks[path]['cells'][index].get('id', index)}"

    for key, why in skipped:
        print(f"{where(key)}: skipped, {why}")
    scope = {k: t for k, t in new.items() if args.all_cells or is_exported(t)}
    keep_semicolon = {k for k, t in new.items() if not is_exported(t)}
    left = 0
    for key, found in ruff_offences(scope, limit, keep_semicolon).items():
        lines = new[key].split("\n")
        if any(code == "syntax" for _, code in found):
            print(f"{where(key)}: Python cannot parse this cell; check its lines by hand")
            left += 1
            continue
        for line, code in sorted(set(found)):
            print(f"{where(key)} {line}: {lines[line - 1]}  [{code}]")
            left += 1
    what = "all code cells" if args.all_cells else "exported cells"
    print(f"fmt100: {changed_cells} cells changed in {changed_nbs} notebooks; "
          f"{left} lines left to fix by hand in {what}; {len(skipped)} cells skipped",
          file=sys.stderr)
    return 1 if left or skipped else 0


if __name__ == "__main__":
    sys.exit(main())
