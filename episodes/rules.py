"""The episode rules: per-day (``check_episode``) and cross-day (``check_sequence``).

Every problem is an ``EpisodeError`` located ``FILE: DATE: field.path``. Quirks of the real
recording that are NOT errors (shared README §3, §5.2, §7): hold with quantity != 0, any order
with quantity <= 0 (a no-op by the dispatch rule of §5.2; recorded: buy -1 and quantity 0),
negative cash, 31 positions, negative or NaN analyst confidences, risk-list tickers without a
decision (they act as hold).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from episodes.decode import where
from episodes.schema import ACTIONS, ANALYSTS, BONDS, RISK, SIGNALS, Episode, Portfolio
from simulator.core.errors import EpisodeError

__all__ = ["DayRef", "check_episode", "check_sequence", "check_values", "key_diff"]

_PORT_FIELDS = (
    ("long", "positions.{}.long"),
    ("short", "positions.{}.short"),
    ("long_cost_basis", "positions.{}.long_cost_basis"),
    ("short_cost_basis", "positions.{}.short_cost_basis"),
    ("short_margin_used", "positions.{}.short_margin_used"),
    ("rg_long", "realized_gains.{}.long"),
    ("rg_short", "realized_gains.{}.short"),
)


def _err(ep: Episode | DayRef, path: str, what: str, **values: object) -> EpisodeError:
    return EpisodeError(where(ep.source, ep.date, path), what, **values)


def key_diff(keys: Sequence[str], expected: Sequence[str]) -> dict[str, object]:
    """How portfolio keys differ from the expected ones, for an error's values: the keys added
    and missing (the first 5 of each), or, for the same set, the first position out of order."""
    extra, missing = sorted(set(keys) - set(expected)), sorted(set(expected) - set(keys))
    if extra or missing:
        return {"n": len(keys), "added": extra[:5], "missing": missing[:5]}
    if len(keys) != len(expected):  # a key twice
        return {"n": len(keys), "expected_n": len(expected)}
    i = next(i for i, (a, b) in enumerate(zip(keys, expected, strict=True)) if a != b)
    return {"position": i, "got": keys[i], "expected_key": expected[i], "order": "differs"}


def check_episode(ep: Episode) -> list[EpisodeError]:
    """Per-day rules: known actions and signals, prices finite and > 0 (§4.2), the execution order
    is ``eligible_tickers + [SHY, TLT]``, ``portfolio_after`` has ``portfolio_before``'s keys in its
    order, every held ticker is priced, and a non-hold decision names a ticker of the day's
    universe (eligible + SHY/TLT)."""
    out: list[EpisodeError] = []
    p = ep.prices
    for name, col in (("execution_prices", p.open), ("evaluation_prices", p.close)):
        if not (all(map(math.isfinite, col)) and min(col, default=1.0) > 0):
            for tk, x in zip(p.tickers, col, strict=False):
                if not (math.isfinite(x) and x > 0):
                    out.append(
                        _err(ep, f"market_data.{name}.{tk}", "price is not finite > 0", price=x)
                    )
    order = ep.order()
    if p.tickers != order:
        i = next(
            (i for i, (a, b) in enumerate(zip(p.tickers, order, strict=False)) if a != b),
            len(order),
        )
        out.append(
            _err(
                ep,
                "market_data.execution_prices",
                "tickers differ from metadata.eligible_tickers + SHY, TLT",
                position=i,
                got=p.tickers[i] if i < len(p.tickers) else None,
                expected=order[i] if i < len(order) else None,
            )
        )
    if ep.after.tickers != ep.before.tickers:
        out.append(
            _err(
                ep,
                "portfolio_after.positions",
                "tickers differ from the day's portfolio_before",
                **key_diff(ep.after.tickers, ep.before.tickers),
            )
        )
    priced = set(p.tickers)
    for side, port in (("portfolio_before", ep.before), ("portfolio_after", ep.after)):
        for tk, lo, sh in zip(port.tickers, port.long, port.short, strict=False):
            if (lo > 0 or sh > 0) and tk not in priced:
                out.append(
                    _err(
                        ep, f"{side}.positions.{tk}", "held ticker has no price", long=lo, short=sh
                    )
                )
    out += _check_decisions(ep, set(order))
    out += _check_signals(ep)
    out += check_values(ep)
    return out


_MONEY_COLS = ("long_cost_basis", "short_cost_basis", "short_margin_used", "rg_long", "rg_short")
_PATHS = dict(_PORT_FIELDS)


def check_values(ep: Episode) -> list[EpisodeError]:
    """Numbers a replay reads must be sane: money finite (cash, margin, cost bases, realized
    gains, ``portfolio_return``, exposures), shares >= 0, and ``remaining_position_limit`` finite
    and >= 0, or equal to a negative ``portfolio_before.cash`` (it is ``min(limit, cash)``,
    README §2.2). An order quantity <= 0 is not checked: README §5.2 makes it a no-op, and the
    books run it as one (``simulator.kernels.books``)."""
    out = []
    for name in ("portfolio_return", "long_exposure", "short_exposure", "gross_exposure"):
        x = getattr(ep, name)
        if not math.isfinite(x):
            out.append(_err(ep, name, "not a finite number", value=x))
    for side, port in (("portfolio_before", ep.before), ("portfolio_after", ep.after)):
        for name in ("cash", "margin_requirement"):
            x = getattr(port, name)
            if not math.isfinite(x):
                out.append(_err(ep, f"{side}.{name}", "not a finite number", value=x))
        for name in _MONEY_COLS:
            col = getattr(port, name)
            if not math.isfinite(sum(col)):
                out += [
                    _err(ep, f"{side}.{_PATHS[name].format(tk)}", "not a finite number", value=x)
                    for tk, x in zip(port.tickers, col, strict=False)
                    if not math.isfinite(x)
                ]
        for name in ("long", "short"):
            if min(getattr(port, name), default=0) < 0:
                out += [
                    _err(ep, f"{side}.positions.{tk}.{name}", "negative shares", shares=q)
                    for tk, q in zip(port.tickers, getattr(port, name), strict=False)
                    if q < 0
                ]
    cash = ep.before.cash
    for tk, lim in zip(ep.risk.tickers, ep.risk.remaining_position_limit, strict=False):
        if not (math.isfinite(lim) and (lim >= 0 or lim == cash)):
            out.append(
                _err(
                    ep,
                    f"agent_signals.{RISK}.{tk}.remaining_position_limit",
                    "not a finite number >= 0",
                    value=lim,
                    cash=cash,
                    expected=">= 0, or == portfolio_before.cash when that is negative",
                )
            )
    return out


def _check_decisions(ep: Episode, universe: set[str]) -> list[EpisodeError]:
    out = []
    d = ep.decisions
    known = set(ACTIONS)
    for tk, act in zip(d.tickers, d.action, strict=False):
        if act not in known:
            out.append(
                _err(
                    ep,
                    f"llm_decisions.{tk}.action",
                    "unknown action",
                    action=act,
                    expected="|".join(ACTIONS),
                )
            )
        elif act != "hold" and tk not in universe:
            out.append(
                _err(
                    ep,
                    f"llm_decisions.{tk}",
                    "decision for a ticker outside the day's universe",
                    action=act,
                    expected="eligible_tickers + SHY, TLT",
                )
            )
    fi = ep.fixed_income
    for tk, dec in zip(BONDS, (fi.shy, fi.tlt), strict=False):
        if dec.action not in known:
            path = f"agent_signals.fixed_income_agent._portfolio_data.{tk}.action"
            out.append(_err(ep, path, "unknown action", action=dec.action))
    return out


def _check_signals(ep: Episode) -> list[EpisodeError]:
    out = []
    for agent, s in zip(ANALYSTS, ep.analysts, strict=False):
        if not set(s.signal) <= SIGNALS.keys():
            for tk, sig in zip(s.tickers, s.signal, strict=False):
                if sig not in SIGNALS:
                    out.append(
                        _err(
                            ep,
                            f"agent_signals.{agent}.{tk}.signal",
                            "unknown signal",
                            signal=sig,
                            expected="|".join(SIGNALS),
                        )
                    )
    cp = ep.risk.current_price
    if not (all(map(math.isfinite, cp)) and min(cp, default=1.0) > 0):
        for tk, x in zip(ep.risk.tickers, ep.risk.current_price, strict=False):
            if not (math.isfinite(x) and x > 0):
                out.append(
                    _err(
                        ep,
                        f"agent_signals.{RISK}.{tk}.current_price",
                        "price is not finite > 0",
                        price=x,
                    )
                )
    return out


class DayRef(NamedTuple):
    """A day known only by file and date (unchanged in the store, so not parsed again)."""

    source: str
    date: str


def check_sequence(eps: Sequence[Episode | DayRef | None]) -> list[EpisodeError]:
    """Cross-day rules: dates strictly increase (no duplicates) and the books chain,
    ``portfolio_after[t] == portfolio_before[t+1]`` (§0): cash, margin, shares, cost bases, margin
    used and realized gains; the first differing field is reported per ticker.

    ``None`` stands for an unreadable day and a ``DayRef`` for a day not parsed: the chain is only
    checked between two adjacent episodes.
    """
    out = []
    last: Episode | DayRef | None = None
    for i, ep in enumerate(eps):
        if ep is None:
            continue
        if last is not None and ep.date <= last.date:
            what = "duplicate date" if ep.date == last.date else "out of order"
            out.append(_err(ep, "date", what, previous=f"{last.source}: {last.date}"))
            continue
        both = isinstance(ep, Episode) and isinstance(last, Episode)
        if both and eps[i - 1] is last and ep.before != last.after:
            out += _chain_diff(last, ep)
        last = ep
    return out


def _chain_diff(prev: Episode, ep: Episode) -> list[EpisodeError]:
    a, b = prev.after, ep.before
    out = []
    rule = f"== portfolio_after of {prev.date}"
    for name in ("cash", "margin_requirement"):
        x, y = getattr(a, name), getattr(b, name)
        if x != y:
            out.append(
                _err(
                    ep,
                    f"portfolio_before.{name}",
                    "breaks the chain",
                    got=y,
                    previous_after=x,
                    expected=rule,
                )
            )
    if a.tickers != b.tickers:
        out.append(
            _err(
                ep,
                "portfolio_before.positions",
                "tickers differ from the previous portfolio_after",
                **key_diff(b.tickers, a.tickers),
            )
        )
        return out
    out += _ticker_diff(ep, a, b, rule)
    return out


def _ticker_diff(ep: Episode, a: Portfolio, b: Portfolio, rule: str) -> list[EpisodeError]:
    out = []
    cols = [(getattr(a, f), getattr(b, f), path) for f, path in _PORT_FIELDS]
    bad = set()
    for ca, cb, _ in cols:
        if ca != cb:
            bad.update(i for i, (x, y) in enumerate(zip(ca, cb, strict=False)) if x != y)
    for i in sorted(bad):
        for ca, cb, path in cols:
            if ca[i] != cb[i]:
                tk = a.tickers[i]
                out.append(
                    _err(
                        ep,
                        f"portfolio_before.{path.format(tk)}",
                        "breaks the chain",
                        got=cb[i],
                        previous_after=ca[i],
                        expected=rule,
                    )
                )
                break
    return out
