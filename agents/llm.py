"""RecordedDecisions: the LLM baseline's recorded decisions of a day as executable Orders."""

from __future__ import annotations

import numpy as np

from agents.base import DayView
from episodes.panel import Panel
from simulator.kernels.records import R_DECISION, Orders

__all__ = ["RecordedDecisions"]


class RecordedDecisions:
    """The recorded ``llm_decisions`` of day t, in the recorded execution order.

    The order is ``panel.order(t)``: the eligible tickers as recorded, then SHY and TLT (shared
    README §5.1). A ticker without a decision holds (``action = hold``, ``qty = 0``). Each
    newcomer in ``position_replacements`` carries its recorded victim as the tie-break hint
    (§5.4): the books use it only when that victim is among the tied weakest positions.

    These decisions saw the close of t (§6): use them to replay the baseline, never as features.
    """

    name = "llm"
    needs_predictions = False
    trades_bonds = False  # the recorded SHY/TLT decisions are part of the orders

    def __init__(self, panel: Panel) -> None:
        self.panel = panel

    def decide(self, view: DayView) -> Orders:
        """The DecisionMaker entry point: the recorded orders of ``view.t``."""
        return self.orders(view.t)

    def orders(self, t: int) -> Orders:
        """Orders of day ``t``: one per ticker in the execution order, holds included."""
        p = self.panel
        k = p.order(t).astype(np.int32)
        action = np.where(p.has_decision[t, k], p.action[t, k], 0).astype(np.int8)
        qty = np.where(p.has_decision[t, k], p.quantity[t, k], 0).astype(np.int64)
        hint = np.full(p.n_tickers, -1, np.int32)
        lo, hi = p.repl_ptr[t], p.repl_ptr[t + 1]
        hint[p.repl_new_k[lo:hi]] = p.repl_victim_k[lo:hi]
        reason = np.full(len(k), R_DECISION, np.int8)
        return Orders(k, action, qty, reason, hint[k])
