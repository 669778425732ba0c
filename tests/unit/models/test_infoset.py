"""InfoSet: one source for the agent lag, the prediction points and the risk-fraction episode."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from models.config import INFO_SET_LAGS, FeatureConfig
from models.features import build_features
from models.infoset import RECORDED, STRICT, InfoSet
from simulator.core.errors import ConfigError
from simulator.loop import consensus_tickers, risk_fractions
from tests.unit.models.panel_factory import make_panel, replace

ROOT = Path(__file__).resolve().parents[3]


def test_resolve_names_lags_and_errors():
    assert InfoSet.resolve("strict") == STRICT == InfoSet("strict", 1)
    assert InfoSet.resolve("recorded") == RECORDED == InfoSet("recorded", 0)
    assert InfoSet.resolve(STRICT) is STRICT
    assert {InfoSet.resolve(n).name for n in INFO_SET_LAGS} == set(INFO_SET_LAGS)
    with pytest.raises(ConfigError, match=r"features.info_set: unknown information set"):
        InfoSet.resolve("Strict")
    with pytest.raises(ValueError, match="expected one of"):
        FeatureConfig(info_set="oracle")


@pytest.mark.parametrize(
    ("info", "t", "episode"),
    [(STRICT, 0, None), (STRICT, 1, 0), (STRICT, 10, 9), (RECORDED, 0, 0), (RECORDED, 10, 10)],
)
def test_agent_and_risk_episode_table(info, t, episode):
    assert info.agent_episode(t) == episode
    assert info.risk_episode(t) == episode


def test_agent_rows_lag():
    a = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(STRICT.agent_rows(a), [[np.nan, np.nan], [0, 1], [2, 3]])
    assert RECORDED.agent_rows(a) is a


# a hand-made 4-day, 3-ticker case: on_risk, eligible, has_data
ON_RISK = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]], bool)
ELIGIBLE = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]], bool)
HAS = np.array([[0, 0, 0], [1, 1, 1], [1, 1, 0], [1, 1, 1]], bool)


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        # strict: on_risk[t-1] & eligible[t] & has_data[t]
        (STRICT, [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]),
        # recorded: on_risk[t] & has_data[t]
        (RECORDED, [[0, 0, 0], [0, 1, 1], [1, 0, 0], [1, 1, 1]]),
    ],
)
def test_prediction_points_by_hand(info, expected):
    panel = type("P", (), {"on_risk": ON_RISK, "eligible": ELIGIBLE})()
    assert info.prediction_points(panel, HAS).astype(int).tolist() == expected


def _coded_panel():
    """Agent outputs that name their episode: strength = s + 1, risk fraction = (s + 1) / 1000."""
    p = make_panel(n_days=12, n_stocks=6, seed=2)
    t_n, k_n = p.on_risk.shape
    s = np.arange(t_n, dtype=np.float64)[:, None]
    return replace(
        p,
        strength=np.broadcast_to(s + 1.0, (t_n, k_n)).copy(),
        risk_base=np.full(t_n, 1000.0),
        risk_limit=np.where(p.on_risk, np.broadcast_to(s + 1.0, (t_n, k_n)), np.nan),
    )


@pytest.mark.parametrize("name", list(INFO_SET_LAGS))
def test_features_points_and_risk_fractions_use_the_same_episode(name):
    """Day t's strength feature, risk_limit_frac feature, consensus tickers and risk fractions all
    come from episode ``info.agent_episode(t)``."""
    panel, info = _coded_panel(), InfoSet.resolve(name)
    fs = build_features(panel, FeatureConfig(info_set=name))
    col = {n: fs.x[:, :, fs.names.index(n)] for n in ("strength", "risk_limit_frac")}
    cands = consensus_tickers(panel, info)
    np.testing.assert_array_equal(fs.sample, cands)
    for t in range(1, panel.n_days):
        s = info.agent_episode(t)
        has = fs.has_data[t]
        np.testing.assert_array_equal(col["strength"][t][has], np.float32(s + 1))
        on = panel.on_risk[s] & has
        np.testing.assert_allclose(col["risk_limit_frac"][t][on], (s + 1) / 1000, rtol=1e-6)
        frac = risk_fractions(panel, t, info)
        np.testing.assert_array_equal(frac, np.where(panel.on_risk[s], (s + 1) / 1000, np.nan))
        expected = panel.on_risk[s] & has & (panel.eligible[t] if s != t else True)
        np.testing.assert_array_equal(cands[t], expected)


# ---- no module decides by the information set's name --------------------------------------------


def name_comparisons(source: str, filename: str = "<planted>") -> list[int]:
    """Lines that compare a value with an information-set name literal (``== "strict"``,
    ``in ("strict", "recorded")``, ``case "recorded":``)."""
    names = set(INFO_SET_LAGS)

    def is_name_literal(node: ast.AST) -> bool:
        if isinstance(node, ast.Constant):
            return node.value in names
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return any(is_name_literal(e) for e in node.elts)
        return False

    hits = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Compare) and any(
            map(is_name_literal, [node.left, *node.comparators])
        ):
            hits.append(node.lineno)
        elif isinstance(node, ast.MatchValue) and is_name_literal(node.value):
            hits.append(node.lineno)
    return hits


def test_no_module_compares_the_info_set_name():
    bad = []
    for pkg in ("simulator", "models", "agents", "episodes"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel == "models/infoset.py":
                continue
            bad += [f"{rel}:{n}" for n in name_comparisons(path.read_text(encoding="utf-8"), rel)]
    assert not bad, "decide through models.infoset.InfoSet, not by name:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    "planted",
    [
        'if cfg.info_set == "strict":\n    pass',
        's = t - 1 if info_set == "strict" else t',
        'ok = name in ("strict", "recorded")',
        'x = "recorded" != cfg.features.info_set',
        'match name:\n    case "recorded":\n        pass',
    ],
)
def test_a_planted_name_comparison_is_caught(planted):
    assert name_comparisons(planted) == [1 + planted.startswith("match")]


def test_other_string_comparisons_pass():
    ok = 'if source == "feature":\n    pass\nok = info_set in SETS\nb = info_set == "both"'
    assert name_comparisons(ok) == []
