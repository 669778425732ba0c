"""Episodes <-> the store's columnar tables (pandas frames), both directions, no I/O.

Every table has a day column ``t`` (row index of ``daily``) and rows grouped by ``t`` in recorded
order, so a day's mapping comes back with its recorded key order. Tickers are ``k`` indices into
the store's ticker list (manifest ``tickers``). Reasoning of ``llm_decisions`` is kept only with
``with_reasoning``; every other field round-trips exactly (see ``Episode.drop_reasoning``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import orjson
import pandas as pd

from episodes.schema import (
    ACTIONS,
    ANALYSTS,
    BONDS,
    NAN,
    RISK_REASONING,
    Decision,
    Decisions,
    Episode,
    FixedIncome,
    Forward,
    Macro,
    Portfolio,
    Prices,
    RiskEntries,
    Signals,
)

__all__ = ["TABLES", "SIGNAL_NAMES", "ticker_universe", "episodes_to_tables", "tables_to_episodes"]

TABLES = ("daily", "prices", "signals", "risk", "decisions", "positions", "trades", "replacements")
SIGNAL_NAMES = ("bearish", "neutral", "bullish")  # code + 1
_POS_FIELDS = ("long", "short", "long_cost_basis", "short_cost_basis", "short_margin_used")
_POS_FIELDS += ("rg_long", "rg_short")
_FI_NUMS = ("bond_allocation_percentage", "total_bond_capital", "current_bond_value")
_FI_NUMS += ("target_bond_value", "yield_spread", "treasury_2y", "treasury_10y")
_DEC_COLS = ("action", "quantity", "confidence", "reasoning")


def ticker_universe(eps: Sequence[Episode]) -> list[str]:
    """Stocks sorted, then SHY, TLT: every ticker named anywhere in ``eps``."""
    seen: set[str] = set()
    for ep in eps:
        seen.update(ep.before.tickers, ep.after.tickers, ep.prices.tickers, ep.eligible)
        seen.update(ep.risk.tickers, ep.decisions.tickers, ep.trade_tickers)
        seen.update(ep.repl_new, ep.repl_victim)
        for s in ep.analysts:
            seen.update(s.tickers)
    return sorted(seen - set(BONDS)) + list(BONDS)


def _codes(values: list, categories: Sequence[str]) -> np.ndarray:
    """Index of each value in ``categories`` (int32); KeyError for a value not in it."""
    index = {c: i for i, c in enumerate(categories)}
    return np.fromiter(map(index.__getitem__, values), np.int32, count=len(values))


def _flat(eps: Sequence[Episode], get, fields: Sequence[str]) -> tuple[np.ndarray, dict]:
    """Concatenate per-day column tuples: (t per row, {field: list})."""
    cols: dict[str, list] = {f: [] for f in fields}
    counts = []
    for ep in eps:
        obj = get(ep)
        counts.append(len(obj.tickers))
        for f in fields:
            cols[f].extend(getattr(obj, f))
    return np.repeat(np.arange(len(eps), dtype=np.int32), counts), cols


def episodes_to_tables(
    eps: Sequence[Episode], tickers: Sequence[str], *, with_reasoning: bool = False
) -> dict[str, pd.DataFrame]:
    """The store tables of ``eps`` (in the order given: day ``t`` = position in ``eps``)."""
    kt = list(tickers)
    out = {"daily": _daily(eps)}
    t, c = _flat(eps, lambda e: e.prices, ("tickers", "open", "close"))
    order = np.concatenate([np.arange(len(e.prices.tickers)) for e in eps]).astype(np.int32)
    out["prices"] = pd.DataFrame(
        {"t": t, "k": _codes(c["tickers"], kt), "order": order}
        | {"open": np.asarray(c["open"], np.float64)}
        | {"close": np.asarray(c["close"], np.float64)}
    )
    out["signals"] = _signals(eps, kt)
    t, c = _flat(eps, lambda e: e.risk, ("tickers", "remaining_position_limit", "current_price"))
    risk = {"t": t, "k": _codes(c["tickers"], kt)}
    risk |= {"remaining_position_limit": np.asarray(c["remaining_position_limit"], np.float64)}
    risk |= {"current_price": np.asarray(c["current_price"], np.float64)}
    for j, name in enumerate(RISK_REASONING):
        risk[name] = np.asarray([x for e in eps for x in e.risk.reasoning[j]], np.float64)
    out["risk"] = pd.DataFrame(risk)
    fields = ("tickers", *_DEC_COLS[: 4 if with_reasoning else 3])
    t, c = _flat(eps, lambda e: e.decisions, fields)
    dec = {"t": t, "k": _codes(c["tickers"], kt), "action": _codes(c["action"], ACTIONS)}
    dec |= {"quantity": np.asarray(c["quantity"], np.int64)}
    dec |= {"confidence": np.asarray(c["confidence"], np.float64)}
    if with_reasoning:
        dec["reasoning"] = np.asarray(c["reasoning"], dtype=object)  # text even when empty
    out["decisions"] = pd.DataFrame(dec).astype({"action": np.int8})
    out["positions"] = _positions(eps, kt)
    qty = [q for e in eps for q in e.trade_qty]
    t, c = _flat_pairs(eps, lambda e: (e.trade_tickers,))
    out["trades"] = pd.DataFrame(
        {"t": t, "seq": _seq(eps, lambda e: e.trade_tickers), "k": _codes(c[0], kt)}
        | {"qty": np.asarray(qty, np.int64)}
    )
    t, c = _flat_pairs(eps, lambda e: (e.repl_new, e.repl_victim))
    out["replacements"] = pd.DataFrame(
        {"t": t, "seq": _seq(eps, lambda e: e.repl_new), "new_k": _codes(c[0], kt)}
        | {"victim_k": _codes(c[1], kt)}
    )
    return out


def _flat_pairs(eps: Sequence[Episode], get) -> tuple[np.ndarray, list[list]]:
    cols: list[list] = []
    counts = []
    for ep in eps:
        tup = get(ep)
        if not cols:
            cols = [[] for _ in tup]
        counts.append(len(tup[0]))
        for c, x in zip(cols, tup, strict=False):
            c.extend(x)
    return np.repeat(np.arange(len(eps), dtype=np.int32), counts), cols or [[]]


def _seq(eps: Sequence[Episode], get) -> np.ndarray:
    parts = [np.arange(len(get(e)), dtype=np.int32) for e in eps]
    return np.concatenate(parts) if parts else np.zeros(0, np.int32)


def _signals(eps: Sequence[Episode], kt: list[str]) -> pd.DataFrame:
    tick, sig, conf, counts = [], [], [], []
    for ep in eps:
        for s in ep.analysts:
            counts.append(len(s.tickers))
            tick.extend(s.tickers)
            sig.extend(s.signal)
            conf.extend(s.confidence)
    n_a = len(ANALYSTS)
    return pd.DataFrame(
        {
            "t": np.repeat(np.repeat(np.arange(len(eps), dtype=np.int32), n_a), counts),
            "agent": np.repeat(np.tile(np.arange(n_a, dtype=np.int8), len(eps)), counts),
            "k": _codes(tick, kt),
            "signal": (_codes(sig, SIGNAL_NAMES) - 1).astype(np.int8),
            "confidence": np.asarray(conf, np.float64),
        }
    )


def _positions(eps: Sequence[Episode], kt: list[str]) -> pd.DataFrame:
    """Non-zero rows of every ``portfolio_after`` (state 0) and of the first ``portfolio_before``
    (state 1); the other before-states are the previous day's after-state (validated chain)."""
    if not eps:
        return pd.DataFrame({c: [] for c in ("t", "k", "state", *_POS_FIELDS)})
    kmap = _codes(list(eps[0].after.tickers), kt)
    frames = []  # rows sorted by t: the first day's before-state first
    for state, ports in ((1, [eps[0].before]), (0, [e.after for e in eps])):
        vals = {f: np.array([getattr(p, f) for p in ports]) for f in _POS_FIELDS}
        nz = np.zeros(vals["long"].shape, bool)
        for v in vals.values():
            nz |= v != 0
        tt, pp = np.nonzero(nz)
        cols = {"t": tt.astype(np.int32), "k": kmap[pp], "state": np.full(len(tt), state, np.int8)}
        cols |= {
            f: v[tt, pp].astype(np.int64 if f in ("long", "short") else np.float64)
            for f, v in vals.items()
        }
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)


def _daily(eps: Sequence[Episode]) -> pd.DataFrame:
    rows = []
    for ep in eps:
        m, f, fi = ep.macro, ep.forward, ep.fixed_income
        row = {"date": ep.date, "agent_order": orjson.dumps(ep.agent_order).decode()}
        row |= {"cash_before": ep.before.cash, "cash_after": ep.after.cash}
        row |= {"margin_before": ep.before.margin_requirement}
        row |= {"margin_after": ep.after.margin_requirement}
        row |= {"portfolio_return": ep.portfolio_return, "long_exposure": ep.long_exposure}
        row |= {"short_exposure": ep.short_exposure, "gross_exposure": ep.gross_exposure}
        row |= {"net_exposure": ep.net_exposure}
        row |= {"macro_stock_alloc": m.stock_allocation, "macro_bond_alloc": m.bond_allocation}
        row |= {"macro_stock_signals": m.stock_signals, "macro_bond_signals": m.bond_signals}
        row |= {"macro_neutral_signals": m.neutral_signals}
        row |= {"macro_reasoning": orjson.dumps(m.reasoning).decode()}
        row |= {"fwd_stock_alloc": f.stock_allocation, "fwd_bond_alloc": f.bond_allocation}
        row |= {"vix": f.current_vix, "fwd_reasoning": f.reasoning}
        row |= {f"fi_{n}": getattr(fi, n) for n in _FI_NUMS}
        row |= {"fi_curve_shape": fi.curve_shape, "fi_curve_reasoning": fi.curve_reasoning}
        for name, d in (("shy", fi.shy), ("tlt", fi.tlt)):
            row |= {f"{name}_{c}": getattr(d, c) for c in _DEC_COLS}
        row |= {"model_name": ep.model_name, "model_provider": ep.model_provider}
        row |= {"selected_analysts": orjson.dumps(ep.selected_analysts).decode()}
        row |= {"screen_mode": ep.screen_mode}
        rows.append(row)
    df = pd.DataFrame(rows)
    floats = [c for c in df.columns if df[c].dtype.kind in "if" and "signals" not in c]
    floats = [c for c in floats if not c.endswith("_quantity")]
    return df.astype({c: np.float64 for c in floats})


class _Day:
    """Row slices of one table by day: ``rows(t)`` is the recorded-order block of day t."""

    def __init__(self, df: pd.DataFrame, n_days: int) -> None:
        self.cols = {c: df[c].to_numpy() for c in df.columns}
        self.ptr = np.searchsorted(self.cols["t"], np.arange(n_days + 1)) if len(df) else None

    def arrays(self, t: int, names: Sequence[str]) -> list[np.ndarray]:
        if self.ptr is None:
            return [np.zeros(0, np.int64) for _ in names]
        a, b = self.ptr[t], self.ptr[t + 1]
        return [self.cols[c][a:b] for c in names]

    def rows(self, t: int, names: Sequence[str]) -> list[list]:
        return [a.tolist() for a in self.arrays(t, names)]


def _nan(xs: list) -> tuple:
    return tuple([NAN if x != x else x for x in xs])


def tables_to_episodes(
    tables: dict[str, pd.DataFrame],
    tickers: Sequence[str],
    portfolio_tickers: Sequence[str],
    days: Sequence[int] | None = None,
) -> list[Episode]:
    """Rebuild the ``Episode`` of each day index in ``days`` (default: all), inverse of
    ``episodes_to_tables`` (decision reasoning is "" when the table has none)."""
    daily = tables["daily"]
    n = len(daily)
    tk = np.asarray(list(tickers), dtype=object)
    view = {name: _Day(tables[name], n) for name in TABLES if name != "daily"}
    kp = np.full(len(tk), -1, np.int64)  # store ticker k -> position in the portfolio keys
    kp[_codes(list(portfolio_tickers), list(tickers))] = np.arange(len(portfolio_tickers))
    book = _Book(view["positions"], kp, tuple(portfolio_tickers))
    drows = daily.to_dict("records")
    return [_episode(t, drows[t], view, tk, book) for t in (range(n) if days is None else days)]


class _Book:
    """Dense portfolios from the sparse positions table (§4.1: zero rows are not stored)."""

    def __init__(self, view: _Day, kp: np.ndarray, keys: tuple[str, ...]) -> None:
        self.view, self.kp, self.keys = view, kp, keys

    def get(self, t: int, state: int, cash: float, margin: float) -> Portfolio:
        k, st, *vals = self.view.arrays(t, ("k", "state", *_POS_FIELDS))
        sel = st == state
        idx = self.kp[k[sel]]
        cols = []
        for j, v in enumerate(vals):
            full = np.zeros(len(self.keys), np.int64 if j < 2 else np.float64)
            full[idx] = v[sel]
            cols.append(tuple(full.tolist()))
        return Portfolio(cash, margin, self.keys, *cols)


def _analysts(view: _Day, t: int, tk: np.ndarray) -> tuple[Signals, ...]:
    k, agent, sig, conf = view.arrays(t, ("k", "agent", "signal", "confidence"))
    bounds = np.searchsorted(agent, np.arange(len(ANALYSTS) + 1))
    out = []
    for a in range(len(ANALYSTS)):
        s = slice(bounds[a], bounds[a + 1])
        names = tuple(SIGNAL_NAMES[x + 1] for x in sig[s].tolist())
        out.append(Signals(tuple(tk[k[s]].tolist()), names, _nan(conf[s].tolist())))
    return tuple(out)


def _portfolio_agents(d: dict) -> dict:
    fi = FixedIncome(
        *(Decision(*(d[f"{b}_{c}"] for c in _DEC_COLS)) for b in ("shy", "tlt")),
        *(d[f"fi_{n}"] for n in _FI_NUMS[:4]),
        d["fi_curve_shape"],
        *(d[f"fi_{n}"] for n in _FI_NUMS[4:]),
        d["fi_curve_reasoning"],
    )
    macro = Macro(
        d["macro_stock_alloc"],
        d["macro_bond_alloc"],
        d["macro_stock_signals"],
        d["macro_bond_signals"],
        d["macro_neutral_signals"],
        tuple(map(tuple, orjson.loads(d["macro_reasoning"]))),
    )
    fwd = Forward(d["fwd_stock_alloc"], d["fwd_bond_alloc"], d["vix"], d["fwd_reasoning"])
    return {"macro": macro, "forward": fwd, "fixed_income": fi}


def _episode(t: int, d: dict, view: dict, tk: np.ndarray, book: _Book) -> Episode:
    after = book.get(t, 0, d["cash_after"], d["margin_after"])
    before = book.get(max(t - 1, 0), int(t == 0), d["cash_before"], d["margin_before"])
    rk, lim, cp, *reas = view["risk"].rows(
        t, ("k", "remaining_position_limit", "current_price", *RISK_REASONING)
    )
    dv = view["decisions"]
    dcols = ("k", "action", "quantity", "confidence")
    dk, act, qty, dconf = dv.rows(t, dcols)
    dreas = dv.rows(t, ("reasoning",))[0] if "reasoning" in dv.cols else [""] * len(dk)
    pk_, po, pc = view["prices"].rows(t, ("k", "open", "close"))
    trk, trq = view["trades"].rows(t, ("k", "qty"))
    rn, rv = view["replacements"].rows(t, ("new_k", "victim_k"))
    ptick = tuple(tk[pk_].tolist())
    return Episode(
        date=d["date"],
        agent_order=tuple(orjson.loads(d["agent_order"])),
        analysts=_analysts(view["signals"], t, tk),
        risk=RiskEntries(tuple(tk[rk].tolist()), tuple(lim), tuple(cp), tuple(map(tuple, reas))),
        **_portfolio_agents(d),
        decisions=Decisions(
            tuple(tk[dk].tolist()),
            tuple(ACTIONS[a] for a in act),
            tuple(qty),
            _nan(dconf),
            tuple(dreas),
        ),
        before=before,
        after=after,
        portfolio_return=d["portfolio_return"],
        prices=Prices(ptick, tuple(po), tuple(pc)),
        long_exposure=d["long_exposure"],
        short_exposure=d["short_exposure"],
        gross_exposure=d["gross_exposure"],
        net_exposure=d["net_exposure"],
        model_name=d["model_name"],
        model_provider=d["model_provider"],
        selected_analysts=tuple(orjson.loads(d["selected_analysts"])),
        screen_mode=bool(d["screen_mode"]),
        eligible=ptick[:-2] if ptick[-2:] == BONDS else ptick,
        trade_tickers=tuple(tk[trk].tolist()),
        trade_qty=tuple(trq),
        repl_new=tuple(tk[rn].tolist()),
        repl_victim=tuple(tk[rv].tolist()),
    )
