"""JSON dict -> Episode, with structural checks while building, so an ``Episode`` is always typed.

Every structural problem raises ``EpisodeError`` with ``where = "FILE: DATE: field.path"``. Semantic
rules (prices > 0, chain, universe) belong to ``episodes.validate``.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from episodes.schema import (
    ANALYSTS,
    NAN,
    PORTFOLIO_AGENTS,
    RISK,
    RISK_REASONING,
    SECTIONS,
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
from simulator.core.errors import EpisodeError

__all__ = ["episode_from_dict", "where"]

_KINDS = {
    "num": frozenset({int, float}),
    "conf": frozenset({int, float, type(None)}),  # None = a NaN the fast parser rewrote (reader)
    "int": frozenset({int}),
    "str": frozenset({str}),
}
_POS = (("long", "int"), ("short", "int"), ("long_cost_basis", "num"))
_POS += (("short_cost_basis", "num"), ("short_margin_used", "num"))
_DEC = (("action", "str"), ("quantity", "int"), ("confidence", "conf"), ("reasoning", "str"))


def where(source: str, date: str, path: str) -> str:
    """The error location ``FILE: DATE: field.path`` used by every episode problem."""
    return f"{source}: {date}: {path}"


class _Ctx:
    def __init__(self, source: str, date: str) -> None:
        self.source, self.date = source, date

    def err(self, path: str, what: str, **values: object) -> EpisodeError:
        return EpisodeError(where(self.source, self.date, path), what, **values)

    def obj(self, x: Any, path: str) -> dict:
        if not isinstance(x, dict):
            raise self.err(path, "not an object", got=type(x).__name__)
        return x

    def key(self, d: dict, k: str, path: str) -> Any:
        if k not in d:
            raise self.err(f"{path}.{k}" if path else k, "missing")
        return d[k]

    def val(self, d: dict, k: str, path: str, kind: str) -> Any:
        x = self.key(d, k, path)
        if type(x) not in _KINDS[kind]:
            raise self.err(f"{path}.{k}", f"expected {kind}", got=repr(x)[:40])
        return NAN if kind == "conf" and (x is None or x != x) else x

    def columns(self, d: Any, path: str, spec: tuple) -> tuple[tuple[str, ...], list[tuple]]:
        """Keys of ``{key: {field: value}}`` and one tuple per ``spec`` field, type-checked."""
        d = self.obj(d, path)
        vals = list(d.values())
        try:
            cols = [tuple(map(itemgetter(name), vals)) for name, _ in spec]
            ok = all(
                set(map(type, c)) <= _KINDS[kind] for c, (_, kind) in zip(cols, spec, strict=False)
            )
        except (KeyError, TypeError):
            ok = False
        if not ok:  # slow path: find the first bad entry
            for tk, e in d.items():
                e = self.obj(e, f"{path}.{tk}")
                for name, kind in spec:
                    self.val(e, name, f"{path}.{tk}", kind)
        for j, (_, kind) in enumerate(spec):
            if kind == "conf":
                cols[j] = tuple([NAN if c is None or c != c else c for c in cols[j]])
        return tuple(d), cols


def episode_from_dict(raw: Any, source: str, date: str = "?") -> Episode:
    """Build an ``Episode`` from a parsed episode JSON object.

    Parameters
    ----------
    raw : the parsed JSON; ``None`` confidences stand for ``NaN`` (the reader's fast path).
    source : file name used in error locations.
    date : the date to report until the ``date`` field is read (e.g. from the file name).

    Raises
    ------
    EpisodeError
        On the first structural problem; all missing top-level sections are named at once.
    """
    ctx = _Ctx(source, date)
    raw = ctx.obj(raw, "(root)")
    if isinstance(raw.get("date"), str):
        ctx.date = raw["date"]
    missing = [s for s in SECTIONS if s not in raw]
    if missing:
        raise ctx.err(missing[0], "missing section", missing=",".join(missing))
    sig = ctx.obj(raw["agent_signals"], "agent_signals")
    missing = [a for a in (*ANALYSTS, RISK, *PORTFOLIO_AGENTS) if a not in sig]
    if missing:
        raise ctx.err(f"agent_signals.{missing[0]}", "missing section", missing=",".join(missing))
    md = ctx.obj(raw["market_data"], "market_data")
    meta = ctx.obj(raw["metadata"], "metadata")
    return Episode(
        date=ctx.val(raw, "date", "", "str"),
        agent_order=tuple(sig),
        analysts=tuple(_signals(ctx, sig[a], f"agent_signals.{a}") for a in ANALYSTS),
        risk=_risk(ctx, sig[RISK]),
        macro=_macro(ctx, sig["macro_agent"]),
        forward=_forward(ctx, sig["forward_looking_agent"]),
        fixed_income=_fixed_income(ctx, sig["fixed_income_agent"]),
        decisions=Decisions(*_cols(ctx, raw["llm_decisions"], "llm_decisions", _DEC)),
        before=_portfolio(ctx, raw["portfolio_before"], "portfolio_before"),
        after=_portfolio(ctx, raw["portfolio_after"], "portfolio_after"),
        portfolio_return=ctx.val(raw, "portfolio_return", "", "num"),
        prices=_prices(ctx, md),
        long_exposure=ctx.val(md, "long_exposure", "market_data", "num"),
        short_exposure=ctx.val(md, "short_exposure", "market_data", "num"),
        gross_exposure=ctx.val(md, "gross_exposure", "market_data", "num"),
        net_exposure=ctx.val(md, "net_exposure", "market_data", "num"),
        model_name=ctx.val(meta, "model_name", "metadata", "str"),
        model_provider=ctx.val(meta, "model_provider", "metadata", "str"),
        selected_analysts=_str_list(ctx, meta, "selected_analysts"),
        screen_mode=bool(ctx.key(meta, "screen_mode", "metadata")),
        eligible=_str_list(ctx, meta, "eligible_tickers"),
        **_trades(ctx, meta),
        source=source,
    )


def _cols(ctx: _Ctx, d: Any, path: str, spec: tuple) -> tuple:
    keys, cols = ctx.columns(d, path, spec)
    return (keys, *cols)


def _signals(ctx: _Ctx, d: Any, path: str) -> Signals:
    return Signals(*_cols(ctx, d, path, (("signal", "str"), ("confidence", "conf"))))


def _risk(ctx: _Ctx, d: Any) -> RiskEntries:
    path = f"agent_signals.{RISK}"
    spec = (("remaining_position_limit", "num"), ("current_price", "num"))
    keys, (limit, price) = ctx.columns(d, path, spec)
    reasons = {tk: ctx.key(e, "reasoning", f"{path}.{tk}") for tk, e in d.items()}
    _, cols = ctx.columns(reasons, f"{path}.*.reasoning", tuple((k, "num") for k in RISK_REASONING))
    return RiskEntries(keys, limit, price, tuple(cols))


def _pdata(ctx: _Ctx, agent: Any, name: str) -> tuple[dict, str]:
    base = f"agent_signals.{name}"
    d = ctx.key(ctx.obj(agent, base), "_portfolio_data", base)
    return ctx.obj(d, f"{base}._portfolio_data"), f"{base}._portfolio_data"


def _macro(ctx: _Ctx, agent: Any) -> Macro:
    d, path = _pdata(ctx, agent, "macro_agent")
    summ = ctx.obj(ctx.key(d, "signal_summary", path), f"{path}.signal_summary")
    reas = ctx.obj(ctx.key(d, "reasoning", path), f"{path}.reasoning")
    rows = []
    for topic, e in reas.items():
        e = ctx.obj(e, f"{path}.reasoning.{topic}")
        p = f"{path}.reasoning.{topic}"
        rows.append((topic, ctx.val(e, "signal", p, "str"), ctx.val(e, "details", p, "str")))
    return Macro(
        ctx.val(d, "stock_allocation", path, "num"),
        ctx.val(d, "bond_allocation", path, "num"),
        *(ctx.val(summ, k, f"{path}.signal_summary", "int") for k in _SUMMARY),
        tuple(rows),
    )


_SUMMARY = ("stock_signals", "bond_signals", "neutral_signals")


def _forward(ctx: _Ctx, agent: Any) -> Forward:
    d, path = _pdata(ctx, agent, "forward_looking_agent")
    return Forward(
        ctx.val(d, "stock_allocation", path, "num"),
        ctx.val(d, "bond_allocation", path, "num"),
        ctx.val(d, "current_vix", path, "num"),
        ctx.val(d, "reasoning", path, "str"),
    )


def _decision(ctx: _Ctx, d: dict, name: str, path: str) -> Decision:
    e = ctx.obj(ctx.key(d, name, path), f"{path}.{name}")
    return Decision(*(ctx.val(e, k, f"{path}.{name}", kind) for k, kind in _DEC))


_BOND_ANALYSIS = ("bond_allocation_percentage", "total_bond_capital", "current_bond_value")
_CURVE_NUMS = ("yield_spread", "treasury_2y", "treasury_10y")


def _fixed_income(ctx: _Ctx, agent: Any) -> FixedIncome:
    d, path = _pdata(ctx, agent, "fixed_income_agent")
    ba = ctx.obj(ctx.key(d, "bond_analysis", path), f"{path}.bond_analysis")
    pb = f"{path}.bond_analysis"
    yc = ctx.obj(ctx.key(ba, "yield_curve_analysis", pb), f"{pb}.yield_curve_analysis")
    py = f"{pb}.yield_curve_analysis"
    return FixedIncome(
        _decision(ctx, d, "SHY", path),
        _decision(ctx, d, "TLT", path),
        *(ctx.val(ba, k, pb, "num") for k in (*_BOND_ANALYSIS, "target_bond_value")),
        ctx.val(yc, "curve_shape", py, "str"),
        *(ctx.val(yc, k, py, "num") for k in _CURVE_NUMS),
        ctx.val(yc, "reasoning", py, "str"),
    )


def _portfolio(ctx: _Ctx, p: Any, path: str) -> Portfolio:
    p = ctx.obj(p, path)
    keys, cols = ctx.columns(ctx.key(p, "positions", path), f"{path}.positions", _POS)
    rg = ctx.key(p, "realized_gains", path)
    rkeys, rcols = ctx.columns(rg, f"{path}.realized_gains", (("long", "num"), ("short", "num")))
    if rkeys != keys:
        bad = next((a for a, b in zip(rkeys, keys, strict=False) if a != b), None)
        raise ctx.err(f"{path}.realized_gains", "keys differ from positions", first=bad)
    return Portfolio(
        ctx.val(p, "cash", path, "num"),
        ctx.val(p, "margin_requirement", path, "num"),
        keys,
        *cols,
        *rcols,
    )


def _prices(ctx: _Ctx, md: dict) -> Prices:
    ex = ctx.obj(ctx.key(md, "execution_prices", "market_data"), "market_data.execution_prices")
    ev = ctx.obj(ctx.key(md, "evaluation_prices", "market_data"), "market_data.evaluation_prices")
    if list(ex) != list(ev):
        bad = next((a for a, b in zip(ex, ev, strict=False) if a != b), None)
        raise ctx.err(
            "market_data.evaluation_prices",
            "keys differ from execution_prices",
            first=bad,
            n_exec=len(ex),
            n_eval=len(ev),
        )
    for name, d in (("execution_prices", ex), ("evaluation_prices", ev)):
        if not set(map(type, d.values())) <= _KINDS["num"]:
            tk = next(k for k, v in d.items() if type(v) not in _KINDS["num"])
            raise ctx.err(f"market_data.{name}.{tk}", "expected num", got=repr(d[tk])[:40])
    return Prices(tuple(ex), tuple(ex.values()), tuple(ev.values()))


def _str_list(ctx: _Ctx, meta: dict, name: str) -> tuple[str, ...]:
    x = ctx.key(meta, name, "metadata")
    if not isinstance(x, list) or not all(type(s) is str for s in x):
        raise ctx.err(f"metadata.{name}", "expected a list of strings")
    return tuple(x)


def _trades(ctx: _Ctx, meta: dict) -> dict:
    tr = ctx.obj(ctx.key(meta, "executed_trades", "metadata"), "metadata.executed_trades")
    if not set(map(type, tr.values())) <= _KINDS["int"]:
        tk = next(k for k, v in tr.items() if type(v) is not int)
        raise ctx.err(f"metadata.executed_trades.{tk}", "expected int", got=repr(tr[tk])[:40])
    rp = ctx.obj(
        ctx.key(meta, "position_replacements", "metadata"), "metadata.position_replacements"
    )
    if not all(type(v) is str for v in rp.values()):
        raise ctx.err("metadata.position_replacements", "expected {new: victim} strings")
    return dict(
        trade_tickers=tuple(tr),
        trade_qty=tuple(tr.values()),
        repl_new=tuple(rp),
        repl_victim=tuple(rp.values()),
    )
