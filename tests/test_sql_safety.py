"""RELIABILITY D6: hostile titles and arguments are data, and every SQL string is bound.

The lint walks every module under src/paperfeed and flags `.execute(` / `.executemany(` /
`.sql(` calls whose SQL argument is built with an f-string, `%`, `.format` or `+` with a
non-literal part, following a variable name to its assignments in the same function or module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from paperfeed.errors import NotFound
from paperfeed.records import Item
from paperfeed.store import Store

SRC = Path(__file__).resolve().parents[1] / "src" / "paperfeed"
SQL_METHODS = {"execute", "executemany", "sql", "query"}
HOSTILE = ["'); DROP TABLE papers; --", "'); DROP TABLE items; --", "x' OR '1'='1"]


def table_count(store: Store) -> int:
    row = store.conn.execute("SELECT count(*) FROM information_schema.tables").fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_title_and_resolve_argument_are_plain_data(hostile: str) -> None:
    store = Store.memory()
    tables = table_count(store)
    item = Item(
        title=hostile,
        summary=hostile,
        url=f"https://b.example/?q={hostile}",
        guid=hostile,
        authors=(hostile,),
    )
    new_id = store.items.upsert([item], hostile).new_ids[0]
    stored = store.items.get(new_id)
    assert stored is not None and stored.title == hostile and stored.sources == (hostile,)
    with pytest.raises(NotFound):
        store.items.resolve(hostile)
    store.sources.record_failure(hostile, kind=hostile, message=hostile, now=stored.first_seen_at)
    assert store.sources.get(hostile).last_error == hostile
    assert table_count(store) == tables
    assert store.items.count() == 1


# ---------------------------------------------------------------- the lint


def _assignments(scope: ast.AST, name: str) -> list[ast.expr]:
    """Every value bound to `name` inside `scope`; `x += v` counts as the concatenation '' + v."""
    values: list[ast.expr] = []
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                values.append(node.value)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            target, value = node.target, node.value
            if not (isinstance(target, ast.Name) and target.id == name) or value is None:
                continue
            if isinstance(node, ast.AugAssign):
                value = ast.BinOp(left=ast.Constant(""), op=node.op, right=value)
            values.append(value)
    return values


def _is_literal(node: ast.expr, scopes: list[ast.AST], seen: frozenset[str]) -> bool:
    """Built only from constants and names bound only to such constants (no runtime values)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str | int | float)
    if isinstance(node, ast.BinOp):
        return _is_literal(node.left, scopes, seen) and _is_literal(node.right, scopes, seen)
    if isinstance(node, ast.IfExp):
        return _is_literal(node.body, scopes, seen) and _is_literal(node.orelse, scopes, seen)
    if isinstance(node, ast.JoinedStr):
        return all(_is_literal(part, scopes, seen) for part in node.values)
    if isinstance(node, ast.FormattedValue):
        return _is_literal(node.value, scopes, seen)
    if isinstance(node, ast.Name) and node.id not in seen:
        values = [v for scope in scopes for v in _assignments(scope, node.id)]
        return bool(values) and all(_is_literal(v, scopes, seen | {node.id}) for v in values)
    return False


def _is_built(node: ast.expr, scopes: list[ast.AST], seen: frozenset[str] = frozenset()) -> bool:
    """Is this SQL argument (or what its variable is bound to) an f-string, `%`, `.format` or
    `+` that takes in a runtime value? Module constants spliced into fixed SQL are fine."""
    if isinstance(node, ast.JoinedStr | ast.BinOp):
        return not _is_literal(node, scopes, seen)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    ):
        return True
    if isinstance(node, ast.Name) and node.id not in seen:
        values = [v for scope in scopes for v in _assignments(scope, node.id)]
        return any(_is_built(v, scopes, seen | {node.id}) for v in values)
    return False


def offenders(source: str, filename: str = "<src>") -> list[str]:
    tree = ast.parse(source)
    found = []
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for call in ast.walk(tree):
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr in SQL_METHODS
            and call.args
        ):
            continue
        enclosing = [f for f in functions if call in ast.walk(f)]
        scopes: list[ast.AST] = [
            *enclosing[-1:],
            *[n for n in tree.body if not isinstance(n, ast.FunctionDef | ast.ClassDef)],
        ]
        if _is_built(call.args[0], scopes):
            found.append(f"{filename}:{call.lineno}")
    return found


@pytest.mark.parametrize(
    "snippet",
    [
        "def f(c, t):\n    c.execute(f\"SELECT * FROM items WHERE title = '{t}'\")",
        "def f(c, t):\n    c.execute(\"SELECT * FROM items WHERE title = '%s'\" % t)",
        'def f(c, t):\n    c.execute("SELECT * FROM {}".format(t))',
        'def f(c, t):\n    c.execute("SELECT * FROM items WHERE title = \'" + t + "\'")',
        'def f(c, t):\n    sql = f"DELETE FROM {t}"\n    c.execute(sql, [])',
        'def f(c, t):\n    sql = "SELECT 1"\n    sql += t\n    c.sql(sql)',
        'T = "items"\ndef f(c, t):\n    c.execute(f"SELECT * FROM {T} WHERE a = {t}")',
    ],
)
def test_lint_flags_built_sql(snippet: str) -> None:
    assert offenders(snippet) == ["<src>:" + str(snippet.count("\n") + 1)]


@pytest.mark.parametrize(
    "snippet",
    [
        'def f(c, t):\n    c.execute("SELECT * FROM items WHERE title = ?", [t])',
        'Q = "SELECT 1"\ndef f(c):\n    c.execute(Q + " LIMIT 1")',
        'def f(c, n):\n    sql = "SELECT 1"\n    if n:\n        sql += " LIMIT ?"\n'
        "    c.execute(sql, [n])",
        "def f(c, migrations):\n    for name, sql in migrations:\n        c.execute(sql)",
        'K = 2**32\nT = "FROM t"\ndef f(c):\n    c.execute(f"SELECT x % {K} {T}")',
    ],
)
def test_lint_accepts_bound_sql(snippet: str) -> None:
    assert offenders(snippet) == []


def test_all_sql_in_paperfeed_uses_parameter_binding() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert any(f.name == "items.py" for f in files)  # really scanning the package
    found = [
        hit
        for f in files
        for hit in offenders(f.read_text(encoding="utf-8"), str(f.relative_to(SRC)))
    ]
    assert found == [], f"SQL built from strings instead of bound parameters: {found}"
