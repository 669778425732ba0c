"""The names `wfsim replay --strategy` accepts, declared without importing the engine (so that
`wfsim --help` stays fast); ``simulator.strategies.STRATEGIES`` maps each to its runner."""

from __future__ import annotations

from episodes.account import AccountRules

__all__ = ["STRATEGY_NAMES", "ALL_STRATEGIES", "rules_text"]

STRATEGY_NAMES = ("lstm", "random", "flat", "lstm-portfolio")
"""The event-loop strategies (``simulator.loop``)."""
ALL_STRATEGIES = ("llm", "llm-counterfactual", *STRATEGY_NAMES)
"""Every strategy: the recorded baseline, its counterfactual, the event-loop strategies."""


def rules_text(rules: AccountRules) -> str:
    """``fee_rate=…, margin_rate=…, max_positions=…`` of an account (help texts, run lines)."""
    return (f"fee_rate={rules.fee_rate}, margin_rate={rules.margin_rate}, "
            f"max_positions={rules.max_positions}")  # fmt: skip
