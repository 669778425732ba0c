"""House layering rules, enforced by an AST walk over every source file."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STDLIB = set(sys.stdlib_module_names)

# package (or module prefix) -> allowed top-level imports besides the stdlib
RULES: list[tuple[str, set[str]]] = [
    ("simulator/kernels/", {"numpy", "numba", "simulator.kernels"}),
    ("simulator/errors.py", set()),
    ("simulator/atomic.py", set()),
    ("episodes/config.py", set()),
    ("models/config.py", set()),
    ("agents/config.py", set()),
    (
        "episodes/",
        {
            "numpy",
            "pandas",
            "pyarrow",
            "orjson",
            "simulator.errors",
            "simulator.atomic",
            "simulator.kernels",
            "episodes",
            "structlog",
        },
    ),
    (
        "models/",
        {
            "numpy",
            "pandas",
            "pyarrow",
            "torch",
            "orjson",
            "episodes",
            "models",
            "simulator.errors",
            "simulator.atomic",
            "structlog",
            "ray",
            "lightgbm",
        },
    ),
    (
        "agents/",
        {
            "numpy",
            "pandas",
            "episodes",
            "agents",
            "simulator.kernels",
            "simulator.errors",
            "structlog",
        },
    ),
]


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def _allowed(name: str, allowed: set[str]) -> bool:
    top = name.split(".")[0]
    if top in STDLIB or top == "__future__":
        return True
    return any(name == a or name.startswith(a + ".") for a in allowed)


def _rule_for(rel: str) -> set[str] | None:
    for prefix, allowed in RULES:
        if rel == prefix or (prefix.endswith("/") and rel.startswith(prefix)):
            return allowed
    return None


def test_imports_follow_the_layering_rules():
    bad = []
    for pkg in ("simulator", "episodes", "models", "agents"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            allowed = _rule_for(rel)
            if allowed is None:
                continue
            for lineno, name in _imports(path):
                if not _allowed(name, allowed):
                    bad.append(f"{rel}:{lineno}: imports {name}")
    assert not bad, "layering violations:\n" + "\n".join(bad)


@pytest.mark.parametrize("rel", ["models/features.py", "agents/lstm.py"])
def test_rule_table_covers_core_modules(rel):
    assert _rule_for(rel) is not None


def test_quiet_packages_do_not_import_torch():
    code = (
        "import sys, episodes, agents, simulator.kernels, simulator.errors;"
        "import episodes.panel, simulator.kernels.records;"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_init_files_are_docstring_only():
    for pkg in ("simulator", "simulator/kernels", "episodes", "models", "agents"):
        tree = ast.parse((ROOT / pkg / "__init__.py").read_text())
        body = [n for n in tree.body if not isinstance(n, (ast.Expr, ast.ImportFrom))]
        assert not body, f"{pkg}/__init__.py has side effects: {ast.dump(body[0])[:80]}"


DOCTESTED = ["simulator.errors", "simulator.config", "models.windows", "simulator.kernels.records"]


@pytest.mark.parametrize("module", DOCTESTED)
def test_docstring_examples(module):
    import doctest
    import importlib

    res = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert res.failed == 0
