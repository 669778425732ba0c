"""Defend decision.neutral, replay.universe and seed ensembles on synthetic episodes (never real
days): book sign flips, gross balance, breadth, IC and return of each variant.

Run: PYTHONPATH=. OMP_NUM_THREADS=1 python scripts/measure_neutral_universe.py [--out DIR]

Synthetic store: ``episodes synth`` (planted signal_ic 0.2, 250 days, 60 tickers, seed 3); ridge
models (windows 130/30) with seeds 1 and 2 (ridge is closed-form, so the ensemble row uses two tiny
LSTM registries instead). A "common level" variant adds a strong day-level term (sd 3x the
cross-sectional sd of the day's predictions, seeded) to every prediction: a market call.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import tempfile
from pathlib import Path

import numpy as np
import structlog

from agents.lstm import LSTMDecisionMaker
from episodes.store import load_panel
from models.ic import mean_t
from simulator import pipeline
from simulator.config import load_config
from simulator.loop import run_replay
from simulator.strategies import model_predictor

BASE = {"seed": 3, "synth.signal_ic": 0.2, "synth.days": 250, "synth.tickers": 60,
        "windows.initial": 130, "windows.step": 30, "model.gbm.num_threads": 1}  # fmt: skip
TINY_LSTM = {"model.family": "lstm", "features.seq_len": 5, "model.hidden": 8, "model.layers": 1,
             "model.embed_dim": 2, "model.dropout": 0.0, "train.max_epochs": 2,
             "train.warm_epochs": 1, "train.max_samples_per_epoch": 1024}  # fmt: skip


class Level:
    """A predictor plus a seeded day-level term (sd ``scale`` x the day's cross-sectional sd)."""

    def __init__(self, inner, n_days: int, scale: float = 3.0) -> None:
        self.inner, self.scale = inner, scale
        self.z = np.random.default_rng(7).standard_normal(n_days)

    def __call__(self, t):
        k, p = self.inner(t)
        return k, p + self.scale * self.z[t] * (float(np.std(p)) if len(p) > 1 else 0.0)

    def window_of(self, t):
        return self.inner.window_of(t)


def stats(res, panel, slot: float) -> dict[str, float]:
    """Book sign flips (|net| > one position on both days), gross gap, breadth, IC, return."""
    n, k_n = len(res.days), panel.n_tickers
    lo, sh = np.zeros((n, k_n)), np.zeros((n, k_n))
    cur_l, cur_s = np.zeros(k_n), np.zeros(k_n)
    for i, t in enumerate(res.days):
        f = res.fills[res.fills["day"] == t]
        cur_l[f["k"]], cur_s[f["k"]] = f["long_after"], f["short_after"]
        lo[i], sh[i] = cur_l, cur_s
    stock = ~panel.is_bond
    p = np.nan_to_num(panel.close[res.days])[:, stock]
    gl, gs = (lo[:, stock] * p).sum(1), (sh[:, stock] * p).sum(1)
    net = gl - gs
    big = np.abs(net) > slot
    flips = int(np.sum(big[1:] & big[:-1] & (np.sign(net[1:]) != np.sign(net[:-1]))))
    nav = res.marks.nav
    return {
        "flips": flips,
        "one_sided_days": int(np.sum((gl == 0) ^ (gs == 0))),
        "gap/slot_med": float(np.median(np.abs(net)) / slot),
        "gap/slot_max": float(np.max(np.abs(net)) / slot),
        "preds/day": float(res.n_pred.mean()),
        "positions/day": float((res.n_long + res.n_short).mean()),
        "mean_ic": mean_t(res.ic)[0],
        "return": float(nav[-1] / res.initial_nav - 1),
    }


def replay(panel, cfg, models, level=False):
    maker = LSTMDecisionMaker(cfg.decision_config(), fee_rate=cfg.replay.fee_rate,
                              margin_rate=cfg.replay.margin_rate)  # fmt: skip
    pred = model_predictor(panel, models, cfg)
    return run_replay(panel, maker, cfg, predictor=Level(pred, panel.n_days) if level else pred)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    root = args.out or Path(tempfile.mkdtemp(prefix="wfsim-synthdec-"))
    cfg = load_config(overrides=BASE)
    pipeline.synth(root / "eps", cfg)
    pipeline.ingest(root / "eps", root / "store", workers=1)
    panel = load_panel(root / "store")
    ridge = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, family="ridge"))
    pipeline.pretrain(root / "store", root / "ridge", ridge)
    slot = cfg.replay.initial_cash / cfg.replay.max_positions
    rows = {}
    for universe in ("consensus", "eligible"):
        for neutral in (False, True):
            for level in (False, True):
                c = load_config(overrides={**BASE, "model.family": "ridge",
                                           "decision.neutral": neutral,
                                           "replay.universe": universe})  # fmt: skip
                name = f"{universe:9s} neutral={neutral!s:5s} level={level!s:5s}"
                rows[name] = stats(replay(panel, c, root / "ridge", level), panel, slot)
    lstm = []
    for s in (1, 2):
        c = load_config(overrides={**BASE, **TINY_LSTM, "seed": s})
        pipeline.pretrain(root / "store", root / f"lstm{s}", c)
        lstm.append(root / f"lstm{s}")
    c = load_config(overrides={**BASE, **TINY_LSTM})
    rows["lstm seed 1"] = stats(replay(panel, c, lstm[0]), panel, slot)
    rows["lstm seed 2"] = stats(replay(panel, c, lstm[1]), panel, slot)
    rows["lstm ensemble 1+2"] = stats(replay(panel, c, lstm), panel, slot)
    cols = list(next(iter(rows.values())))
    print(f"{'variant':40s}" + "".join(f"{c:>15s}" for c in cols))
    for name, r in rows.items():
        print(f"{name:40s}" + "".join(f"{r[c]:15.4g}" for c in cols))


if __name__ == "__main__":
    main()
