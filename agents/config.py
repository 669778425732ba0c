"""Decision-maker config (stdlib and the recording's account rules only)."""

from __future__ import annotations

from dataclasses import dataclass

from episodes.account import RECORDED_ACCOUNT

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
    max_positions: int = _CAP  # stock positions; SHY/TLT are outside the cap
    sizing: str = "equal"  # "equal" (NAV / max_positions) or "proportional" (to |predicted return|)

    def __post_init__(self) -> None:
        if self.threshold < 0:
            raise ValueError(f"threshold={self.threshold}, expected >= 0")
        if not 1 <= self.max_positions <= _CAP:
            raise ValueError(f"max_positions={self.max_positions}, expected in [1, {_CAP}]")
        if self.sizing not in ("equal", "proportional"):
            raise ValueError(f"sizing={self.sizing!r}, expected 'equal' or 'proportional'")
