"""Bugs that once passed the whole non-golden suite, each pinned here without the real data:
the books' cap default, the manager's look-ahead guard at its boundary, the loop's ``has_data``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from models.manager import WalkForwardModelManager
from models.pretrain import pretrain
from models.registry import Registry
from simulator.books import Books
from simulator.config import DEFAULT_YAML, RunConfig, load_config
from simulator.core.errors import LookaheadError
from simulator.kernels.records import BUY, R_CAP_REJECTED, R_DECISION, Orders
from simulator.loop import has_data
from tests.stub_panel import make_panel
from tests.unit.models.planted import planted
from tests.unit.models.test_pretrain import tiny

RECORDED_CAP = 30  # shared README §5.4: at most 30 stock positions (see tests/golden for the pin)


@pytest.mark.parametrize("cfg", [RunConfig(), load_config(DEFAULT_YAML)], ids=["class", "yaml"])
def test_the_default_books_hold_at_most_30_stocks(cfg):
    """31 buys with cash for all: the default books fill 30 and cap-reject the 31st."""
    n = 31
    is_bond = np.zeros(n, bool)
    r = cfg.replay
    books = Books(n, is_bond, 1e9, fee_rate=r.fee_rate, margin_rate=r.margin_rate,
                  max_positions=r.max_positions)  # fmt: skip
    k = np.arange(n, dtype=np.int32)
    orders = Orders(k, np.full(n, BUY, np.int8), np.ones(n, np.int64),
                    np.full(n, R_DECISION, np.int8), np.full(n, -1, np.int32))  # fmt: skip
    fills = books.execute(0, orders, np.full(n, 10.0), np.full(n, 0.5))
    assert int((books.long > 0).sum()) == RECORDED_CAP
    assert fills["reason"].tolist() == [R_DECISION] * RECORDED_CAP + [R_CAP_REJECTED]
    assert cfg.decision_config().max_positions <= r.max_positions == RECORDED_CAP


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("models")
    pretrain(planted(), root, tiny(**{"train.max_epochs": 1, "train.warm_epochs": 1}))
    return root


def _with_label_end(root, tmp_path, window: int, label_end_max: int):
    reg = Registry.load(root)
    reg.replace(dataclasses.replace(reg.entries[window], label_end_max=label_end_max))
    reg.root = tmp_path
    reg.save()
    return WalkForwardModelManager(tmp_path)


def test_manager_guard_at_its_boundary(registry, tmp_path):
    """A label ending on day d is known only at the open of d: serving d is look-ahead, d+1 not."""
    e = Registry.load(registry).entries[1]
    d = e.serve[0] + 5
    mgr = _with_label_end(registry, tmp_path, 1, d)
    with pytest.raises(LookaheadError, match=f"label_end_max={d}, expected label_end_max < day"):
        mgr.window_for(d)
    assert mgr.window_for(d + 1).id == e.id  # one day later the label is known
    mgr = _with_label_end(registry, tmp_path / "b", 1, d - 1)
    assert mgr.window_for(d).id == e.id


def test_the_loops_has_data_reads_day_t_minus_1_only():
    """A ticker priced on t−1 but not on t is data on t; priced on t but not on t−1 is not."""
    p = make_panel(n_days=6, n_stocks=4, seed=0)
    op, cl = p.open.copy(), p.close.copy()
    op[:, :4], cl[:, :4] = 10.0, 10.0
    op[3, 0] = cl[3, 0] = np.nan  # stock 0: no price on day 3
    op[2, 1] = cl[2, 1] = np.nan  # stock 1: no price on day 2
    cl[2, 2] = np.nan  # stock 2: an open but no close on day 2
    hd = has_data(dataclasses.replace(p, open=op, close=cl))
    assert hd[3].tolist() == [True, False, False, True, False, False]  # bonds never
    assert hd[4].tolist() == [False, True, True, True, False, False]
    assert not hd[0].any()
