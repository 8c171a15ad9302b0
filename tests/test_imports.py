"""The rule for imports inside functions (docs/architecture.md, "Rules").

An import inside a function is there for one of two reasons, and a comment
on its line, or alone on the line just above it, says which:

* ``# start-up cost: <what is heavy>`` -- a heavy package the server may
  never need, kept off the start-up path;
* ``# cycle: <module a> <-> <module b>`` -- an import cycle, the two modules
  named by their dotted path inside the package (``cli <-> serverapp``).

Every other import belongs at the top of its module.  An ``if TYPE_CHECKING:``
block at the top level is at module level, not in a function.
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
from pathlib import Path

import jupyter_server_lite

PACKAGE = Path(jupyter_server_lite.__file__).parent
ROOT = PACKAGE.parent

START_UP_COST = re.compile(r"# start-up cost: \S")
CYCLE = re.compile(r"# cycle: ([\w.]+) <-> ([\w.]+)")


def package_modules() -> set[str]:
    """Every module of the package by its dotted path inside it (``cli``, ``extension.mount``)."""
    names = set()
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def function_level_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """The import statements inside a function or lambda, at any depth."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, ast.Import | ast.ImportFrom):
                found.append(child)
            visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))

    visit(tree, False)
    return found


def comments_by_line(source: str) -> tuple[dict[int, str], set[int]]:
    """``(line -> its comment, the lines that hold only a comment)``."""
    comments: dict[int, str] = {}
    alone: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            line = token.start[0]
            comments[line] = token.string
            if not token.line[: token.start[1]].strip():
                alone.add(line)
    return comments, alone


def offenders(source: str, path: str, modules: set[str]) -> list[str]:
    """``path:line: import ...`` for each function-level import of ``source`` without a valid reason."""
    comments, alone = comments_by_line(source)
    found = []
    for node in function_level_imports(ast.parse(source)):
        reasons = [comments.get(node.lineno, "")]
        if node.lineno - 1 in alone:
            reasons.append(comments[node.lineno - 1])
        valid = False
        for comment in reasons:
            cycle = CYCLE.search(comment)
            if START_UP_COST.search(comment) or (cycle and set(cycle.groups()) <= modules):
                valid = True
        if not valid:
            found.append(f"{path}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_every_import_inside_a_function_says_why():
    modules = package_modules()
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 50  # the whole package is scanned, not an empty folder
    problems = []
    for path in files:
        problems += offenders(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix(), modules)
    assert not problems, (
        "imports inside a function need '# start-up cost: <what is heavy>' or "
        "'# cycle: <module a> <-> <module b>' on their line or the line above "
        "(docs/architecture.md); else move them to the top of the module:\n" + "\n".join(problems)
    )


def test_the_check_tells_a_reason_from_none():
    source = textwrap.dedent(
        """
        import os
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from .serverapp import ServerApp

        def a():
            import json

        def b():
            import nbformat  # start-up cost: nbformat and jsonschema

        def c():
            # cycle: cli <-> serverapp
            from .serverapp import ServerApp

        def d():
            from .serverapp import ServerApp  # cycle: cli <-> nowhere

        class E:
            async def f(self):
                def g():
                    from . import bundled  # imported late

        def h():
            # start-up cost: nbformat

            import nbformat

        def i():
            import re  # noqa: F401  # start-up cost: re
        """
    )
    assert offenders(source, "x.py", {"cli", "serverapp"}) == [
        "x.py:9: import json",
        "x.py:19: from .serverapp import ServerApp",
        "x.py:24: from . import bundled",
        "x.py:29: import nbformat",
    ]
