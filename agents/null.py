"""Null strategies: random picks with the LSTM's exact mechanics, and flat (cash only)."""

from __future__ import annotations

import dataclasses

import numpy as np

from agents.base import DayView, empty_orders
from agents.config import DecisionConfig
from agents.lstm import LSTMDecisionMaker
from simulator.kernels.records import Orders

__all__ = ["RandomDecisionMaker", "FlatDecisionMaker", "RANDOM_PRED_SCALE"]

RANDOM_PRED_SCALE = 0.01  # std of the random "prediction": a daily-return-sized draw


class RandomDecisionMaker:
    """LSTMDecisionMaker's rule fed with random predictions for the day's consensus tickers.

    For day t, ticker k's "prediction" is ``N(0, RANDOM_PRED_SCALE)[k]`` from
    ``np.random.default_rng(seed + t)`` drawn over all K tickers, so a ticker's draw does not depend
    on which others are candidates. Only ``view.candidates`` receive one; the cap, sizing,
    hysteresis, risk limit and costs are literally the LSTM's (same code path).
    """

    name = "random"
    needs_predictions = False
    trades_bonds = True

    def __init__(
        self,
        cfg: DecisionConfig,
        seed: int,
        *,
        fee_rate: float,
        margin_rate: float,
    ) -> None:
        self.seed = int(seed)
        self.rule = LSTMDecisionMaker(cfg, fee_rate=fee_rate, margin_rate=margin_rate)

    def draw(self, t: int, n_tickers: int) -> np.ndarray:
        """The K random predictions of day ``t``."""
        return np.random.default_rng(self.seed + t).normal(0.0, RANDOM_PRED_SCALE, n_tickers)

    def decide(self, view: DayView) -> Orders:
        """The LSTM rule on random predictions for ``view.candidates``."""
        k = np.asarray(view.candidates, np.int32)
        pred = self.draw(view.t, len(view.long))[k]
        return self.rule.decide(dataclasses.replace(view, k_idx=k, pred=pred))


class FlatDecisionMaker:
    """Does nothing: the account stays in cash (no stocks, no bond sleeve)."""

    name = "flat"
    needs_predictions = False
    trades_bonds = False

    def decide(self, view: DayView) -> Orders:
        """No orders."""
        return empty_orders()
