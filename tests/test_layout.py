"""The runtime stands alone: nothing under service/ imports the eval suite or the tests, except the CLI's
`train` and `eval` commands, which load the eval suite when they run."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[1] / "service"
FORBIDDEN = {"evals", "tests"}
# Maintainers' commands: they score and retrain, and load the eval suite only when called.
LAZY_ALLOWED = ("cmd_train", "cmd_eval")


def _imported_roots(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name.split(".")[0] for alias in node.names}
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return {node.module.split(".")[0]}
    return set()


def forbidden_imports(path: Path, *, root: Path = SERVICE.parent) -> list[str]:
    """`file:line module` for each import of the eval suite or the tests that `path` may not make."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    allowed: set[int] = set()
    if path.name == "cli.py":
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef) and function.name.startswith(LAZY_ALLOWED):
                allowed |= {id(node) for node in ast.walk(function)}
    return [
        f"{path.relative_to(root)}:{node.lineno} imports {', '.join(sorted(roots))}"
        for node in ast.walk(tree)
        if (roots := _imported_roots(node) & FORBIDDEN) and id(node) not in allowed
    ]


def test_nothing_under_service_imports_evals_or_tests() -> None:
    found = [line for path in sorted(SERVICE.rglob("*.py")) for line in forbidden_imports(path)]
    assert found == []


def test_the_check_finds_an_import_of_the_eval_suite_or_the_tests(tmp_path: Path) -> None:
    module = tmp_path / "service" / "examples.py"
    module.parent.mkdir()
    module.write_text(
        "import json\nimport tests.serving\n\ndef f():\n    from evals.dataset import load_goals\n",
        encoding="utf-8",
    )
    assert forbidden_imports(module, root=tmp_path) == [
        "service/examples.py:2 imports tests",
        "service/examples.py:5 imports evals",
    ]


def test_the_cli_may_load_the_eval_suite_only_inside_its_maintainer_commands() -> None:
    tree = ast.parse((SERVICE / "cli.py").read_text(encoding="utf-8"))
    lazy = [
        function.name
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef)
        and any(_imported_roots(node) & FORBIDDEN for node in ast.walk(function))
    ]
    assert lazy, "the CLI's train and eval commands load the eval suite"
    assert all(name.startswith(LAZY_ALLOWED) for name in lazy)
