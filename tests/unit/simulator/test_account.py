"""Account rules: the recording's declared once and passed down; the counterfactual LLM replay."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from agents.config import DecisionConfig
from episodes.account import RECORDED_ACCOUNT, AccountRules
from episodes.config import SynthConfig
from episodes.store import ingest, load_panel
from episodes.synth import write_episodes
from simulator.config import DEFAULT_YAML, RunConfig, load_config
from simulator.kernels.records import HOLD, R_CAP_REJECTED, R_REPLACEMENT
from simulator.reconcile import replay_decisions, replay_recorded
from simulator.results.compare import compare_runs, format_table, load_run
from tests.rundirs import make_run_dir

ROOT = Path(__file__).resolve().parents[3]
PRODUCT = ("simulator", "agents", "models", "episodes")
RULE_NAMES = {"fee_rate", "margin_rate", "max_positions"}
DECLARED_IN = "episodes/account.py"
NOT_ACCOUNT_RULES: set[str] = set()  # reviewed exceptions, "file:line: what"


def repeated_rules(rel: str, source: str) -> list[str]:
    """``rel:line: what`` for every parameter named like an account rule that has a default, every
    class field of that name set to a literal, and every float literal equal to the recorded fee."""
    out = []
    tree = ast.parse(source, filename=rel)
    # a learning rate that happens to equal 5e-4 is not the fee: its field names it (``lr``)
    not_fees = {
        id(n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name) and "lr" in n.target.id
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            a = node.args
            pos = a.posonlyargs + a.args
            pairs = list(zip(pos[len(pos) - len(a.defaults) :], a.defaults, strict=True))
            pairs += [(k, d) for k, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d]
            out += [
                f"{rel}:{node.lineno}: default {p.arg}" for p, _ in pairs if p.arg in RULE_NAMES
            ]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            value = node.value
            if (
                node.target.id in RULE_NAMES
                and isinstance(value, ast.Constant)
                and value.value is not None
            ):
                out.append(f"{rel}:{node.lineno}: field {node.target.id} = {node.value.value!r}")
        elif (
            isinstance(node, ast.Constant)
            and type(node.value) is float
            and id(node) not in not_fees
        ):
            if node.value == RECORDED_ACCOUNT.fee_rate:
                out.append(f"{rel}:{node.lineno}: literal {node.value!r}")
    return out


def test_the_recorded_rules_are_declared_once():
    bad = []
    for pkg in PRODUCT:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel != DECLARED_IN:
                bad += repeated_rules(rel, path.read_text(encoding="utf-8"))
    bad = [b for b in bad if b not in NOT_ACCOUNT_RULES]
    assert not bad, "account rules repeated outside episodes/account.py:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    ("planted", "found"),
    [
        ("def f(x, *, fee_rate=0.001):\n    pass", "1: default fee_rate"),
        ("def f(x, max_positions=30):\n    pass", "1: default max_positions"),
        ("class C:\n    margin_rate: float = 0.0", "2: field margin_rate = 0.0"),
        (
            "class C:\n    max_positions: int | None = None\n    fee_rate: float = 1.0",
            "3: field fee_rate = 1.0",
        ),
        ("FEE = 0.0005", "1: literal 0.0005"),
        ("class C:\n    lr: float = 5e-4\n    cost: float = 5e-4", "3: literal 0.0005"),
    ],
)
def test_a_planted_repetition_is_caught(planted, found):
    assert repeated_rules("x.py", planted) == [f"x.py:{found}"]


def test_every_default_derives_from_the_declaration():
    assert RunConfig().replay.account == RECORDED_ACCOUNT
    assert load_config(DEFAULT_YAML).replay.account == RECORDED_ACCOUNT  # the YAML says the same
    assert DecisionConfig().max_positions is None  # unset: follows the books' cap
    assert RunConfig().decision_config().max_positions == RECORDED_ACCOUNT.max_positions
    cfg = load_config(overrides={"replay.fee_rate": 0.001, "replay.margin_rate": 0.5})
    assert cfg.replay.account == AccountRules(fee_rate=0.001, margin_rate=0.5, max_positions=30)


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    root = tmp_path_factory.mktemp("account")
    write_episodes(root / "eps", SynthConfig(days=40, tickers=30), seed=3)
    ingest(root / "eps", root / "store", workers=1)
    return load_panel(root / "store")


def test_the_recorded_rules_replay_the_llm_run_exactly(panel):
    rec, cf = replay_recorded(panel), replay_decisions(panel, RECORDED_ACCOUNT)
    assert rec.mismatches == []
    assert cf.fills.dtype == rec.fills.dtype  # field by field: padding bytes are not data
    for name in rec.fills.dtype.names:
        np.testing.assert_array_equal(cf.fills[name], rec.fills[name], err_msg=name)
    for a, b in zip((*cf.marks, *cf.after), (*rec.marks, *rec.after), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_higher_fee_is_charged_on_every_fill(panel):
    rec = replay_recorded(panel)
    cf = replay_decisions(panel, AccountRules(fee_rate=0.001, margin_rate=0.0, max_positions=30))
    f = cf.fills[cf.fills["qty"] > 0]
    np.testing.assert_allclose(f["fee"], f["qty"] * f["price"] * 0.001, rtol=1e-12)
    assert cf.fills["fee"].sum() > 1.9 * rec.fills["fee"].sum()
    assert cf.marks.nav[-1] < rec.marks.nav[-1]


def test_a_lower_cap_is_enforced_with_reason_codes(panel):
    rec = replay_recorded(panel)
    cap = int((rec.n_long + rec.n_short).max()) - 3
    cf = replay_decisions(panel, AccountRules(fee_rate=0.0005, margin_rate=0.0, max_positions=cap))
    assert (cf.n_long + cf.n_short).max() <= cap < (rec.n_long + rec.n_short).max()
    f = cf.fills[cf.fills["action"] != HOLD]
    assert np.isin([R_CAP_REJECTED, R_REPLACEMENT], f["reason"]).any()
    assert (cf.after.long >= 0).all() and (cf.after.short >= 0).all()


def test_compare_labels_a_counterfactual_run(tmp_path):
    d = make_run_dir(tmp_path, "cf", strategy="llm[counterfactual]", seed=None)
    summary = json.loads((d / "summary.json").read_text())
    summary["counterfactual"] = {
        "account": {"fee_rate": 0.001, "margin_rate": 0.0, "max_positions": 20},
        "recorded_account": {"fee_rate": 0.0005, "margin_rate": 0.0, "max_positions": 30},
    }
    (d / "summary.json").write_text(json.dumps(summary))
    run = load_run(d)
    assert run.strategy == "llm[counterfactual]"
    text = format_table(compare_runs([run]))
    assert "\ncf [counterfactual] " in text
    assert (
        "note: cf: counterfactual, the recorded LLM decisions executed under (fee_rate=0.001, "
        "margin_rate=0.0, max_positions=20) instead of the recording's (fee_rate=0.0005, "
        "margin_rate=0.0, max_positions=30); not the recording, never reconciled"
    ) in text
