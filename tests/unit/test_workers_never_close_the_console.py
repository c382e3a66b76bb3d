"""A background task that fails must not close the console (Textual's workers exit the app on
an error unless told otherwise): every worker in console/ is started with
``exit_on_error=False``, and the App says the failure in one line instead."""

from __future__ import annotations

import ast
from pathlib import Path

CONSOLE = Path(__file__).resolve().parents[2] / "console"


def _worker_calls() -> list[tuple[str, int, ast.Call]]:
    """Every ``….run_worker(…)`` call and ``@work(…)`` decorator in console/."""
    found = []
    for path in sorted(CONSOLE.rglob("*.py")):
        where = str(path.relative_to(CONSOLE.parent))
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr == "run_worker":
                    found.append((where, node.lineno, node))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for deco in node.decorator_list:
                    if isinstance(deco, ast.Call) and getattr(deco.func, "id", "") == "work":
                        found.append((where, deco.lineno, deco))
    return found


def test_every_worker_is_started_with_exit_on_error_false() -> None:
    calls = _worker_calls()
    assert len(calls) >= 20  # the scan finds them (a rename would otherwise pass vacuously)
    fatal = [
        f"{path}:{line}"
        for path, line, call in calls
        if not any(
            k.arg == "exit_on_error"
            and isinstance(k.value, ast.Constant)
            and k.value.value is False
            for k in call.keywords
        )
    ]
    assert fatal == []
