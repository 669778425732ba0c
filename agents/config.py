"""Decision-maker config (stdlib and the recording's account rules only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from episodes.account import RECORDED_ACCOUNT
from simulator.core.choices import check_choices

_CAP = (
    RECORDED_ACCOUNT.max_positions
)  # the decision cap defaults to, and stays within, the recorded one

__all__ = ["DecisionConfig"]


@dataclass(frozen=True, kw_only=True, slots=True)
class DecisionConfig:
    """How LSTMDecisionMaker (and the random null strategy) turn predictions into orders."""

    threshold: float = (
        0.0  # open a long above +threshold, a short below -threshold (predicted return)
    )
    allow_short: bool = True
    # target stock positions (SHY/TLT outside); None: the books' cap, replay.max_positions
    max_positions: int | None = None
    sizing: Literal["equal", "proportional"] = "equal"  # NAV / max_positions, or ∝ |prediction|
    # equal gross long and short, ranked relative to the day's median prediction (agents.neutral)
    neutral: bool = False

    def __post_init__(self) -> None:
        if self.threshold < 0:
            raise ValueError(f"threshold={self.threshold}, expected >= 0")
        if self.max_positions is not None and not 1 <= self.max_positions <= _CAP:
            raise ValueError(f"max_positions={self.max_positions}, expected in [1, {_CAP}]")
        check_choices(self)
        if self.neutral and not self.allow_short:
            raise ValueError("neutral=True needs allow_short=True (a neutral book shorts)")

    def resolved_cap(self) -> int:
        """``max_positions``, resolved (see ``RunConfig.decision_config``); ValueError if unset."""
        if self.max_positions is None:
            raise ValueError("max_positions is unset: resolve it with RunConfig.decision_config()")
        return self.max_positions
