"""Features built in day blocks (``features.memory_mb``) are byte-identical to one block.

The price sums, shifts and forward fills run across block borders (``_PriceStream`` carries them);
any block size, including 1 day and sizes that split a 20-day window or a long price gap, must give
the same bytes for every output array, under both information sets, with and without ranks.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.config import FeatureConfig
from models.features import block_days, build_features
from tests.unit.models.panel_factory import make_panel, replace


def _gapped(seed: int, n_days: int, gap: tuple[int, int]):
    """A panel whose stock 1 has no price on days ``gap`` (ffill must bridge blocks)."""
    p = make_panel(n_days=n_days, n_stocks=6, seed=seed)
    o, c = p.open.copy(), p.close.copy()
    o[gap[0] : gap[1], 1] = np.nan
    c[gap[0] : gap[1], 1] = np.nan
    return replace(p, open=o, close=c)


def _bytes(fs) -> list[bytes]:
    arrays = (fs.x, fs.has_data, fs.sample, fs.y, fs.label_end)
    return [a.tobytes() for a in arrays] + [repr((fs.names, fs.x.shape, fs.horizon)).encode()]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 5),
    n_days=st.integers(1, 70),
    block=st.integers(1, 80),
    gap=st.tuples(st.integers(0, 70), st.integers(0, 40)),
    info_set=st.sampled_from(["strict", "recorded"]),
    ranks=st.booleans(),
)
def test_blocks_identical_to_one_pass(seed, n_days, block, gap, info_set, ranks):
    panel = _gapped(seed, n_days, (gap[0], gap[0] + gap[1]))
    cfg = FeatureConfig(info_set=info_set, ranks=ranks)
    whole = build_features(panel, cfg)
    blocked = build_features(panel, cfg, block=block)
    assert _bytes(blocked) == _bytes(whole)


def test_budget_blocks_and_changes_nothing():
    """A budget small enough to split 60 days into 1-day blocks gives the same bytes."""
    panel = _gapped(3, 60, (5, 40))
    assert block_days(1, 5000, 51, 60) == 1 and block_days(0, 5000, 51, 60) == 60
    cfg = FeatureConfig()
    budget = dataclasses.replace(cfg, memory_mb=1)
    assert _bytes(build_features(panel, budget, block=1)) == _bytes(build_features(panel, cfg))


def test_budget_is_not_hashed():
    """``memory_mb`` is a resource: it changes no config hash and no recorded config."""
    from simulator.config import config_hash, config_to_dict, load_config

    a, b = load_config(), load_config(overrides={"features.memory_mb": 64})
    assert b.features.memory_mb == 64 != a.features.memory_mb
    assert config_hash(a) == config_hash(b)
    assert "memory_mb" not in config_to_dict(b)["features"]
    with pytest.raises(Exception, match="memory_mb"):
        load_config(overrides={"features.memory_mb": -1})


def test_the_blocks_get_what_the_panel_and_x_leave_of_the_budget(monkeypatch):
    """Blocks are sized to ``memory_mb`` minus the Panel and ``x`` held throughout the build."""
    import models.features as feat

    panel = make_panel(n_days=400, n_stocks=600, seed=1)  # Panel ~46 MB, x ~50 MB
    x_bytes = 400 * panel.n_tickers * len(feat.feature_names(FeatureConfig())) * 4
    arrays = [a for a in vars(panel).values() if isinstance(a, np.ndarray) and a.dtype != object]
    held = (sum(a.nbytes for a in arrays) + x_bytes) >> 20
    asked = []
    real = feat.block_days
    monkeypatch.setattr(feat, "block_days", lambda mb, *a: asked.append(mb) or real(mb, *a))
    for budget in (held + 20, 10_000, 0):
        build_features(panel, FeatureConfig(memory_mb=budget))
    assert asked == [20, 10_000 - held, 0] and held > 80
    build_features(panel, FeatureConfig(memory_mb=5))  # less than is held: the 1 MB floor
    assert asked[-1] == 1
