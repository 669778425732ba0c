"""Family lstm-portfolio: determinism, no look-ahead after retraining, saved = live, the replay
through PortfolioDecisionMaker and the books, and the planted-signal test."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from models.pretrain import pretrain
from models.registry import Registry
from simulator.config import load_config
from simulator.loop import run_replay
from simulator.strategies import make_strategy, model_predictor
from tests.unit.models.panel_factory import make_panel
from tests.unit.models.test_families import FIELDS, digests
from tests.unit.simulator.test_loop import perturb

PANEL = make_panel(n_days=70, n_stocks=30, seed=2)  # w000 serves 40..54, w001 55..69
SMALL = {
    "windows.initial": 40, "windows.step": 15, "features.seq_len": 5, "train.max_epochs": 2,
    "model.family": "lstm-portfolio", "model.portfolio.hidden": 8,
    "model.portfolio.batch_days": 8, "model.portfolio.top_k": 5,
    "model.portfolio.max_weight": 0.3, "model.portfolio.max_turnover": 0.8,
    "decision.max_positions": 8,
}  # fmt: skip


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def cfg_of(**extra):
    return load_config(overrides={**SMALL, **extra})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("pf")
    pretrain(PANEL, root, cfg_of())
    return root


def test_same_seed_gives_identical_artifacts_and_another_seed_other_weights(trained, tmp_path):
    pretrain(PANEL, tmp_path / "b", cfg_of())
    a = digests(trained)
    assert a == digests(tmp_path / "b") and len(a) == 6  # with verified.json (the stamp)
    pretrain(PANEL, tmp_path / "c", dataclasses.replace(cfg_of(), seed=7))
    assert digests(tmp_path / "c")["w000/model.pt"] != a["w000/model.pt"]


def test_weights_obey_the_constraints_on_every_served_day(trained):
    p = pd.concat([pd.read_parquet(trained / w / "predictions.parquet") for w in ("w000", "w001")])
    day = p.groupby("t")["pred"]
    assert (p.pred >= 0).all() and (p.pred <= 0.3 + 1e-6).all()
    assert (day.apply(lambda s: (s != 0).sum()) <= 5).all()
    # the day's candidates only: held names that left the consensus keep the rest
    assert (day.sum() <= 1 + 1e-6).all() and day.sum()[40] > 0.99  # first serve day: free


@pytest.mark.parametrize("p", [55, 60])
def test_inputs_at_or_after_day_p_leave_earlier_models_and_weights_unchanged(trained, tmp_path, p):
    moved = perturb(PANEL, p, FIELDS)
    pretrain(moved, tmp_path, cfg_of())
    old_reg, new_reg = Registry.load(trained), Registry.load(tmp_path)
    for w in ("w000", "w001"):
        assert old_reg.entry(w).weights_hash == new_reg.entry(w).weights_hash
        old = pd.read_parquet(trained / w / "predictions.parquet")
        new = pd.read_parquet(tmp_path / w / "predictions.parquet")
        cols = ["t", "ticker", "pred"]
        np.testing.assert_array_equal(old[old.t <= p][cols], new[new.t <= p][cols])
    old = pd.read_parquet(trained / "w001" / "predictions.parquet")
    new = pd.read_parquet(tmp_path / "w001" / "predictions.parquet")
    assert not np.array_equal(old[old.t > p].pred, new[new.t > p].pred)


def test_replay_serves_saved_and_live_weights_alike_through_the_books(trained):
    base = cfg_of()
    out, fills = {}, {}
    for mode in ("saved", "live"):
        cfg = dataclasses.replace(base, replay=dataclasses.replace(base.replay, predictions=mode))
        pred = model_predictor(PANEL, trained, cfg)
        out[mode] = [pred(t) for t in range(40, 70)]
        res = run_replay(PANEL, make_strategy("lstm-portfolio", cfg), cfg, predictor=pred)
        fills[mode] = res.fills
        assert (res.n_long <= 8).all() and (res.fills["qty"] > 0).sum() > 10
    for (ks, ps), (kl, pl) in zip(out["saved"], out["live"], strict=True):
        np.testing.assert_array_equal(ks, kl)
        np.testing.assert_array_equal(ps, pl)  # each day's forward sees its own points alone
    np.testing.assert_array_equal(fills["saved"]["qty"], fills["live"]["qty"])


def _served(models, fs, days, fresh: bool) -> list[np.ndarray]:
    """Each day's weights: in order from one predictor, or each from a newly loaded one."""
    from models.manager import WalkForwardModelManager

    mgr = WalkForwardModelManager(models)
    out = []
    for d in days:
        m = WalkForwardModelManager(models) if fresh else mgr
        out.append(m.predict(int(d), fs)[1])
    return out


def test_a_days_weights_do_not_depend_on_which_days_were_asked_before(trained):
    from models.pretrain import prepare

    fs = prepare(PANEL, cfg_of().pretrain_config()).fs
    days = np.arange(40, 70)
    in_order, cold = _served(trained, fs, days, False), _served(trained, fs, days, True)
    backwards = _served(trained, fs, days[::-1], False)[::-1]
    for a, b, c in zip(in_order, cold, backwards, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    # the saved predictions (pretrain asks a window's days in one call) are the same bits
    saved = pd.read_parquet(trained / "w001" / "predictions.parquet")
    for d, w in zip(days[15:], in_order[15:], strict=True):
        np.testing.assert_array_equal(saved[saved.t == d].pred.to_numpy(), w)


def test_another_feature_set_starts_a_new_path_and_a_copy_starts_empty(trained):
    import pickle

    from models.manager import WalkForwardModelManager
    from models.pretrain import prepare

    fs = prepare(PANEL, cfg_of().pretrain_config()).fs
    moved = prepare(perturb(PANEL, 58, FIELDS), cfg_of().pretrain_config()).fs
    mgr = WalkForwardModelManager(trained)
    first = [mgr.predict(d, fs)[1] for d in range(55, 62)]
    again = [mgr.predict(d, moved)[1] for d in range(55, 62)]  # same days, other data from 58
    fresh = [WalkForwardModelManager(trained).predict(d, moved)[1] for d in range(55, 62)]
    for b, c in zip(again, fresh, strict=True):
        np.testing.assert_array_equal(b, c)  # not yesterday's path of the other data
    same = [np.array_equal(a, b) for a, b in zip(first, again, strict=True)]
    assert all(same[:3]) and not all(same[3:])  # days 55..57 cannot see day 58's data
    pred, pts = mgr.model_for(61), (np.full(4, 61), np.flatnonzero(fs.sample[61])[:4])
    copy = pickle.loads(pickle.dumps(pred))
    assert len(pred._memo.rows(moved)) == 61 - 55 + 1 and copy._memo.rows(moved) == []
    np.testing.assert_array_equal(copy.predict(moved, *pts, []), pred.predict(moved, *pts, []))


def test_a_day_that_holds_forwards_nothing(tmp_path):
    from models.manager import WalkForwardModelManager
    from models.pretrain import prepare

    cfg = cfg_of(**{"model.portfolio.rebalance": 5})
    pretrain(PANEL, tmp_path, cfg)
    fs = prepare(PANEL, cfg.pretrain_config()).fs
    mgr = WalkForwardModelManager(tmp_path)
    net = mgr.model_for(55).net
    calls = []
    net.register_forward_hook(lambda *a: calls.append(1))
    for d in range(55, 70):  # w001's serve days: 55 (first), 60 and 65 rebalance
        before = len(calls)
        mgr.predict(d, fs)
        assert len(calls) - before == (d in (55, 60, 65)), d
    rows = mgr.model_for(55)._memo.rows(fs)  # the path's [K] weights, serve start on
    assert len(rows) == 15 and all(float(r.abs().sum()) > 0.1 for r in rows)
    for i, d in enumerate(range(55, 70)):
        assert torch.equal(rows[i], rows[i - 1]) == (d not in (55, 60, 65)), d


def test_the_fused_kernel_gives_the_torch_kernels_outputs_and_gradients():
    from models.config import PortfolioConfig
    from models.families.lstm_portfolio import PortfolioNet

    pc = PortfolioConfig(hidden=8)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(20, 5, 7, generator=gen)  # 20 sequences: past MIN_ROWS, no padding
    mask = torch.rand(20, 5, generator=gen) > 0.3
    mask[:, -1] = True
    nets = [PortfolioNet(7, pc, seed=3, kernel=k).train() for k in ("torch", "fused")]
    grads = []
    for net in nets:
        torch.manual_seed(1)  # the attention's dropout draws the same masks
        out = net(x, mask)
        out.square().sum().backward()
        grads.append((out.detach(), [p.grad.clone() for p in net.lstm.parameters()]))
    (oa, ga), (ob, gb) = grads
    torch.testing.assert_close(ob, oa, rtol=1e-4, atol=1e-6)
    for a, b in zip(ga, gb, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-6)
    assert not any(torch.equal(a, b) for a, b in zip(ga, gb, strict=True))  # another kernel ran


def test_the_fused_kernel_is_hashed_deterministic_and_thread_count_free(trained, tmp_path):
    fused = cfg_of(**{"train.lstm_kernel": "fused"})
    pretrain(PANEL, tmp_path / "a", fused)
    torch.set_num_threads(2)
    pretrain(PANEL, tmp_path / "b", dataclasses.replace(
        fused, train=dataclasses.replace(fused.train, torch_threads=2)))  # fmt: skip
    a = digests(tmp_path / "a")
    assert a == digests(tmp_path / "b")  # the same bytes at 1 and 2 threads
    reg, base = Registry.load(tmp_path / "a"), Registry.load(trained)
    assert reg.info["config_hash"] != base.info["config_hash"]  # set, so hashed
    assert a["w000/model.pt"] != digests(trained)["w000/model.pt"]
