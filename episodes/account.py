"""The account rules the recording was made under (shared README §5): declared once, here."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AccountRules", "RECORDED_ACCOUNT"]


@dataclass(frozen=True, kw_only=True, slots=True)
class AccountRules:
    """Costs and limits of an account: what the books need besides cash and positions.

    Examples
    --------
    >>> RECORDED_ACCOUNT
    AccountRules(fee_rate=0.0005, margin_rate=0.0, max_positions=30)
    """

    fee_rate: float  # fee on the notional of every fill, both sides
    margin_rate: float  # short margin requirement, as a fraction of the short's proceeds
    max_positions: int  # open stock positions (SHY/TLT outside the cap); §5.4 replacement above

    def kwargs(self) -> dict[str, float | int]:
        """The rules as the keyword arguments of ``Books`` and ``ref_execute_day``."""
        return {"fee_rate": self.fee_rate, "margin_rate": self.margin_rate,
                "max_positions": self.max_positions}  # fmt: skip


RECORDED_ACCOUNT = AccountRules(fee_rate=0.0005, margin_rate=0.0, max_positions=30)
"""The recorded run's rules (§5): 5 bp on notional, no short margin, at most 30 stock positions.
Reconciling with the recording is only meaningful under these; every default derives from here."""
