"""The episode model: one recorded day as a frozen, comparable ``Episode`` (shared README §1-§4).

Mappings whose key order matters (signals, decisions, prices, trades, replacements, portfolios) are
kept as parallel tuples in recorded order. A recorded ``NaN`` is the one object ``NAN`` so that two
episodes are equal when their NaNs sit in the same places (tuple equality tests identity first).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from episodes.panel import ANALYSTS, BONDS

__all__ = [
    "NAN",
    "ANALYSTS",
    "BONDS",
    "SECTIONS",
    "RISK_REASONING",
    "SIGNALS",
    "ACTIONS",
    "Signals",
    "RiskEntries",
    "Decision",
    "Decisions",
    "Portfolio",
    "Macro",
    "Forward",
    "FixedIncome",
    "Prices",
    "Episode",
    "canon_nan",
]


NAN = float("nan")  # the one NaN object every reader and loader uses (see module docstring)

SECTIONS = (
    "date",
    "agent_signals",
    "llm_decisions",
    "portfolio_before",
    "portfolio_after",
    "portfolio_return",
    "market_data",
    "metadata",
)
RISK = "risk_management_agent"
PORTFOLIO_AGENTS = ("macro_agent", "forward_looking_agent", "fixed_income_agent")
RISK_REASONING = (
    "portfolio_value",
    "current_position",
    "cvar_adjusted_limit",
    "remaining_limit",
    "available_cash",
    "combined_stock_allocation",
    "max_expected_positions",
    "target_leverage",
    "base_individual_limit_pct",
)
SIGNALS = {"bullish": 1, "bearish": -1, "neutral": 0}
ACTIONS = ("hold", "buy", "sell", "short", "cover")  # = simulator.kernels.records.ACTION_NAMES


def canon_nan(x: float) -> float:
    """Return ``NAN`` for any NaN, else ``x`` unchanged."""
    return NAN if x != x else x


def _restore(cls: type, *fields: object) -> object:
    """Rebuild a pickled ``cls`` with every NaN (scalar or in a float tuple) mapped to ``NAN``."""
    out = []
    for f in fields:
        if type(f) is float:
            f = canon_nan(f)
        elif type(f) is tuple and f and type(f[0]) in (int, float):
            f = tuple([NAN if x != x else x for x in f])
        out.append(f)
    return cls(*out)


@dataclass(frozen=True, slots=True)
class Signals:
    """One analyst's ``{ticker: {signal, confidence}}`` in recorded key order (raw confidences)."""

    tickers: tuple[str, ...]
    signal: tuple[str, ...]  # bullish | bearish | neutral
    confidence: tuple[float, ...]  # as recorded: 0-100, may be NaN or negative

    def __reduce__(self):  # unpickled NaNs become NAN again (equality across processes)
        return (_restore, (type(self), self.tickers, self.signal, self.confidence))


@dataclass(frozen=True, slots=True)
class RiskEntries:
    """``risk_management_agent`` entries; ``reasoning[j]`` is the column ``RISK_REASONING[j]``."""

    tickers: tuple[str, ...]
    remaining_position_limit: tuple[float, ...]
    current_price: tuple[float, ...]
    reasoning: tuple[tuple[float, ...], ...]


@dataclass(frozen=True, slots=True)
class Decision:
    """One ``{action, quantity, confidence, reasoning}`` decision (the fixed-income SHY/TLT)."""

    action: str
    quantity: int
    confidence: float
    reasoning: str

    def __reduce__(self):
        return (_restore, (type(self), self.action, self.quantity, self.confidence, self.reasoning))


@dataclass(frozen=True, slots=True)
class Decisions:
    """``llm_decisions`` in recorded key order; a ticker not listed acts as hold 0 (§3)."""

    tickers: tuple[str, ...]
    action: tuple[str, ...]
    quantity: tuple[int, ...]
    confidence: tuple[float, ...]
    reasoning: tuple[str, ...]  # "" everywhere when the reasoning was dropped

    def __reduce__(self):
        fields = (self.tickers, self.action, self.quantity, self.confidence, self.reasoning)
        return (_restore, (type(self), *fields))


@dataclass(frozen=True, slots=True)
class Portfolio:
    """A book (§4.1); positions and realized gains share ``tickers`` (the backtester's universe)."""

    cash: float
    margin_requirement: float
    tickers: tuple[str, ...]
    long: tuple[int, ...]
    short: tuple[int, ...]
    long_cost_basis: tuple[float, ...]
    short_cost_basis: tuple[float, ...]
    short_margin_used: tuple[float, ...]
    rg_long: tuple[float, ...]
    rg_short: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Macro:
    """``macro_agent._portfolio_data``; ``reasoning`` rows are ``(topic, signal, details)``."""

    stock_allocation: float
    bond_allocation: float
    stock_signals: int
    bond_signals: int
    neutral_signals: int
    reasoning: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True, slots=True)
class Forward:
    """``forward_looking_agent._portfolio_data``."""

    stock_allocation: float
    bond_allocation: float
    current_vix: float
    reasoning: str


@dataclass(frozen=True, slots=True)
class FixedIncome:
    """``fixed_income_agent._portfolio_data`` (bond_analysis and yield_curve_analysis flattened)."""

    shy: Decision
    tlt: Decision
    bond_allocation_percentage: float
    total_bond_capital: float
    current_bond_value: float
    target_bond_value: float
    curve_shape: str
    yield_spread: float
    treasury_2y: float
    treasury_10y: float
    curve_reasoning: str


@dataclass(frozen=True, slots=True)
class Prices:
    """``execution_prices`` (open of t) and ``evaluation_prices`` (close of t), same key order."""

    tickers: tuple[str, ...]
    open: tuple[float, ...]
    close: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Episode:
    """One recorded day. ``source`` (the file it came from) does not take part in equality."""

    date: str
    agent_order: tuple[str, ...]  # agent_signals keys as recorded (six orders occur)
    analysts: tuple[Signals, ...]  # in ANALYSTS order
    risk: RiskEntries
    macro: Macro
    forward: Forward
    fixed_income: FixedIncome
    decisions: Decisions
    before: Portfolio
    after: Portfolio
    portfolio_return: float
    prices: Prices
    long_exposure: float
    short_exposure: float
    gross_exposure: float
    net_exposure: float
    model_name: str
    model_provider: str
    selected_analysts: tuple[str, ...]
    screen_mode: bool
    eligible: tuple[str, ...]  # metadata.eligible_tickers in recorded (= execution) order
    trade_tickers: tuple[str, ...]  # metadata.executed_trades keys in recorded order (§5.5)
    trade_qty: tuple[int, ...]
    repl_new: tuple[str, ...]  # metadata.position_replacements in event order (§5.4)
    repl_victim: tuple[str, ...]
    source: str = field(default="", compare=False)

    def drop_reasoning(self) -> Episode:
        """The same episode with every ``llm_decisions`` reasoning set to "" (what a store without
        ``--with-reasoning`` keeps); agent-level reasoning strings are kept."""
        d = self.decisions
        if not any(d.reasoning):
            return self
        return replace(self, decisions=replace(d, reasoning=("",) * len(d.tickers)))

    def order(self) -> tuple[str, ...]:
        """Execution order: the eligible tickers as recorded, then SHY, TLT (§5.1)."""
        return self.eligible + BONDS
