"""House layering rules, enforced by an AST walk over every source file."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STDLIB = set(sys.stdlib_module_names)

# package (or module prefix) -> allowed top-level imports besides the stdlib; first match wins.
# The arrows run one way: episodes/models/agents see only simulator.core and simulator.kernels;
# models never import agents; agents never import torch; only simulator/cli imports the CLI
# (simulator/app, the web app, is a composition root like it: results + engine); the
# engine (simulator/*.py but pipeline.py and study.py) never imports results.
CORE = {"simulator.core"}
DATA = {"numpy", "pandas", "pyarrow", "orjson", "structlog"}
ENGINE = DATA | CORE | {"simulator", "episodes", "models", "agents", "yaml"}
RULES: list[tuple[str, set[str]]] = [
    ("simulator/core/logs.py", {"structlog"}),
    ("simulator/core/", CORE),
    ("simulator/kernels/", {"numpy", "numba", "simulator.kernels"}),
    ("episodes/config.py", CORE),  # config modules: stdlib + the stdlib-only core
    ("episodes/account.py", set()),  # the recording's account rules: a stdlib-only leaf
    ("models/config.py", CORE | {"models.config"}),
    ("agents/config.py", CORE | {"episodes.account"}),
    ("episodes/", DATA | CORE | {"simulator.kernels", "episodes"}),
    (
        "models/",
        DATA
        | CORE
        | {"simulator.kernels", "torch", "episodes", "models", "ray", "lightgbm", "optuna"},
    ),
    ("agents/", DATA | CORE | {"simulator.kernels", "episodes", "agents"}),
    ("simulator/cli/", ENGINE | {"click", "simulator.cli", "torch", "matplotlib", "tqdm"}),
    ("simulator/app/", ENGINE | {"simulator.results", "simulator.app", "streamlit"}),
    ("simulator/results/", DATA | CORE | {"simulator", "episodes", "matplotlib", "plotly"}),
    ("simulator/pipeline.py", ENGINE),
    ("simulator/study.py", ENGINE),
    ("simulator/tracking.py", ENGINE | {"mlflow"}),  # the optional extra, imported lazily
    ("simulator/", ENGINE),
]
FORBIDDEN: list[tuple[str, tuple[str, ...]]] = [  # (prefix, never imported) on top of RULES
    ("simulator/results/", ("simulator.cli",)),
    ("simulator/pipeline.py", ("simulator.cli",)),
    ("simulator/study.py", ("simulator.cli",)),
    ("simulator/", ("simulator.cli", "simulator.results")),
]


def _imports(source: str, filename: str = "<planted>"):
    tree = ast.parse(source, filename=filename)
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


def _forbidden(rel: str, name: str) -> bool:
    if rel.startswith(("simulator/cli/", "simulator/app/")):  # the composition roots
        return False
    for prefix, names in FORBIDDEN:
        if rel == prefix or (prefix.endswith("/") and rel.startswith(prefix)):
            return any(name == n or name.startswith(n + ".") for n in names)
    return False


def violations(rel: str, source: str) -> list[str]:
    """``rel:line: imports name`` for every import of ``source`` (at ``rel``) that breaks a rule."""
    allowed = _rule_for(rel)
    if allowed is None:
        return []
    return [
        f"{rel}:{lineno}: imports {name}"
        for lineno, name in _imports(source, rel)
        if not _allowed(name, allowed) or _forbidden(rel, name)
    ]


def test_imports_follow_the_layering_rules():
    bad = []
    for pkg in ("simulator", "episodes", "models", "agents"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            bad += violations(rel, path.read_text(encoding="utf-8"))
    assert not bad, "layering violations:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    ("rel", "planted"),
    [
        ("models/features.py", "from simulator.loop import run_replay"),
        ("models/serve.py", "from simulator.config import RunConfig"),
        ("models/train.py", "from agents.lstm import LSTMDecisionMaker"),
        ("agents/lstm.py", "import torch"),
        ("agents/base.py", "from models.lstm import TickerLSTMModel"),
        ("episodes/store.py", "from simulator.results.export import write_json"),
        ("episodes/panel.py", "from models.features import build_features"),
        ("simulator/core/errors.py", "import numpy"),
        ("simulator/core/atomic.py", "from simulator.config import RunConfig"),
        ("simulator/kernels/books.py", "from simulator.core.errors import WfsimError"),
        ("simulator/loop.py", "from simulator.results.export import export_run"),
        ("simulator/loop.py", "from simulator.cli.options import store_option"),
        ("simulator/results/compare.py", "from simulator.cli import main"),
        ("simulator/pipeline.py", "    from simulator.cli.replay import replay"),
        ("models/config.py", "import numpy"),
        ("agents/config.py", "from agents.lstm import LSTMDecisionMaker"),
    ],
)
def test_a_planted_upward_import_is_caught(rel, planted):
    source = planted.strip() if not planted.startswith(" ") else f"def f():\n{planted}\n"
    assert violations(rel, source) == [f"{rel}:{1 + planted.startswith(' ')}: imports "
                                       f"{planted.split()[1]}"]  # fmt: skip


@pytest.mark.parametrize("rel", ["models/features.py", "agents/lstm.py"])
def test_rule_table_covers_core_modules(rel):
    assert _rule_for(rel) is not None


def test_quiet_packages_do_not_import_torch():
    code = (
        "import sys, episodes, agents, simulator.kernels, simulator.core.errors;"
        "import episodes.panel, simulator.kernels.records;"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_init_files_are_docstring_only():
    pkgs = ("simulator", "simulator/core", "simulator/kernels", "simulator/results")
    for pkg in (*pkgs, "episodes", "models", "agents"):
        tree = ast.parse((ROOT / pkg / "__init__.py").read_text())
        body = [n for n in tree.body if not isinstance(n, (ast.Expr, ast.ImportFrom))]
        assert not body, f"{pkg}/__init__.py has side effects: {ast.dump(body[0])[:80]}"


DOCTESTED = sorted(
    p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
    for pkg in ("simulator", "episodes", "models", "agents")
    for p in (ROOT / pkg).rglob("*.py")
    if ">>> " in p.read_text(encoding="utf-8")
)  # every module with examples: they run, so they stay true


@pytest.mark.parametrize("module", DOCTESTED)
def test_docstring_examples(module):
    import doctest
    import importlib

    res = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert res.attempted > 0 and res.failed == 0
