"""Test-only: Episode -> JSON dict in the recorded layout (inverse of ``episode_from_dict``)."""

from __future__ import annotations

from episodes.schema import (
    ANALYSTS,
    RISK,
    RISK_REASONING,
    Decision,
    Episode,
    Portfolio,
    Signals,
)

__all__ = ["episode_to_dict"]

_SUMMARY = ("stock_signals", "bond_signals", "neutral_signals")
_BOND_ANALYSIS = ("bond_allocation_percentage", "total_bond_capital", "current_bond_value")


def episode_to_dict(ep: Episode) -> dict:
    """The JSON object of ``ep`` (keys in the recorded layout; agent keys in ``ep.agent_order``).

    Inverse of ``episodes.decode.episode_from_dict``: the synthetic generator and the tests write
    episodes with it.
    """
    d = ep.decisions
    p = ep.prices
    return {
        "date": ep.date,
        "agent_signals": _agents_dict(ep),
        "llm_decisions": {
            tk: _dec_dict(Decision(d.action[i], d.quantity[i], d.confidence[i], d.reasoning[i]))
            for i, tk in enumerate(d.tickers)
        },
        "portfolio_before": _port_dict(ep.before),
        "portfolio_after": _port_dict(ep.after),
        "portfolio_return": ep.portfolio_return,
        "market_data": {
            "execution_prices": dict(zip(p.tickers, p.open, strict=False)),
            "evaluation_prices": dict(zip(p.tickers, p.close, strict=False)),
            "long_exposure": ep.long_exposure,
            "short_exposure": ep.short_exposure,
            "gross_exposure": ep.gross_exposure,
            "net_exposure": ep.net_exposure,
        },
        "metadata": {
            "model_name": ep.model_name,
            "model_provider": ep.model_provider,
            "selected_analysts": list(ep.selected_analysts),
            "screen_mode": ep.screen_mode,
            "eligible_tickers": list(ep.eligible),
            "executed_trades": dict(zip(ep.trade_tickers, ep.trade_qty, strict=False)),
            "position_replacements": dict(zip(ep.repl_new, ep.repl_victim, strict=False)),
        },
    }


def _sig_dict(s: Signals) -> dict:
    return {
        t: {"signal": g, "confidence": c}
        for t, g, c in zip(s.tickers, s.signal, s.confidence, strict=False)
    }


def _dec_dict(x: Decision) -> dict:
    return {
        "action": x.action,
        "quantity": x.quantity,
        "confidence": x.confidence,
        "reasoning": x.reasoning,
    }


def _port_dict(p: Portfolio) -> dict:
    pos = {
        t: {
            "long": a,
            "short": b,
            "long_cost_basis": c,
            "short_cost_basis": e,
            "short_margin_used": f,
        }
        for t, a, b, c, e, f in zip(
            p.tickers,
            p.long,
            p.short,
            p.long_cost_basis,
            p.short_cost_basis,
            p.short_margin_used,
            strict=False,
        )
    }
    rg = {
        t: {"long": a, "short": b}
        for t, a, b in zip(p.tickers, p.rg_long, p.rg_short, strict=False)
    }
    return {
        "cash": p.cash,
        "positions": pos,
        "realized_gains": rg,
        "margin_requirement": p.margin_requirement,
    }


def _agents_dict(ep: Episode) -> dict:
    agents = {a: _sig_dict(s) for a, s in zip(ANALYSTS, ep.analysts, strict=False)}
    r = ep.risk
    agents[RISK] = {
        tk: {
            "remaining_position_limit": r.remaining_position_limit[i],
            "current_price": r.current_price[i],
            "reasoning": {k: r.reasoning[j][i] for j, k in enumerate(RISK_REASONING)},
        }
        for i, tk in enumerate(r.tickers)
    }
    m, f, fi = ep.macro, ep.forward, ep.fixed_income
    agents["macro_agent"] = {
        "_portfolio_data": {
            "stock_allocation": m.stock_allocation,
            "bond_allocation": m.bond_allocation,
            "signal_summary": dict(
                zip(_SUMMARY, (m.stock_signals, m.bond_signals, m.neutral_signals), strict=False)
            ),
            "reasoning": {t: {"signal": s, "details": x} for t, s, x in m.reasoning},
        }
    }
    agents["forward_looking_agent"] = {
        "_portfolio_data": {
            "stock_allocation": f.stock_allocation,
            "bond_allocation": f.bond_allocation,
            "current_vix": f.current_vix,
            "reasoning": f.reasoning,
        }
    }
    yc = {"curve_shape": fi.curve_shape, "yield_spread": fi.yield_spread}
    yc |= {"treasury_2y": fi.treasury_2y, "treasury_10y": fi.treasury_10y}
    ba = {k: getattr(fi, k) for k in (*_BOND_ANALYSIS, "target_bond_value")}
    agents["fixed_income_agent"] = {
        "_portfolio_data": {
            "SHY": _dec_dict(fi.shy),
            "TLT": _dec_dict(fi.tlt),
            "bond_analysis": ba | {"yield_curve_analysis": yc | {"reasoning": fi.curve_reasoning}},
        }
    }
    return {a: agents[a] for a in ep.agent_order}
