"""Synthetic episodes in the recorded JSON schema: screen, agents, an LLM-like baseline, books.

The market comes from ``episodes/synth_market.py``; the baseline trades through the reference
accounting rules (``simulator.kernels.reference``), so its books reconcile like the real ones.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import structlog

from episodes.account import RECORDED_ACCOUNT
from episodes.benchmarks import BENCH_DIR, synthetic_series, write_synthetic
from episodes.config import SynthConfig
from episodes.panel import ANALYSTS, BONDS
from episodes.synth_market import SynthMarket, forward_agent, generate_market, macro_agent
from simulator.core.atomic import atomic_dir
from simulator.core.errors import EpisodeError
from simulator.kernels.records import ACTION_CODES, HOLD, R_REPLACEMENT
from simulator.kernels.reference import RefBook, ref_execute_day, ref_nav, ref_strength

__all__ = ["generate_episodes", "write_episodes", "dumps_episode", "INITIAL_CASH"]

log = structlog.get_logger(__name__)

INITIAL_CASH = 100_000.0  # the recorded run's starting cash (NAV_0)
METADATA = {
    "model_name": "wfsim-synthetic-baseline",
    "model_provider": "wfsim",
    "selected_analysts": [
        "technical_analyst",
        "sentiment_analyst",
        "fundamentals_analyst",
        "valuation_analyst",
        "warren_buffett",
        "bill_ackman",
        "macro_analyst",
        "forward_looking_analyst",
    ],
    "screen_mode": True,
}
NAMES = ("bearish", "neutral", "bullish")  # index = vote + 1
CURVE = (  # (min spread, shape, SHY weight, TLT weight, text); first match from the top (§2.3)
    (2.0, "very_steep", 0.2, 0.8, "signals strong growth expectations, favoring long duration"),
    (1.0, "steep", 0.3, 0.7, "suggests economic expansion, favoring longer duration"),
    (0.25, "normal", 0.5, 0.5, "suggests balanced duration exposure"),
    (-0.2, "flat", 0.6, 0.4, "indicates economic uncertainty, favoring shorter duration"),
    (
        -1.0,
        "inverted",
        0.8,
        0.2,
        "signals economic uncertainty and potential recession, strongly favoring short-term bonds",
    ),
    (-99.0, "deeply_inverted", 0.9, 0.1, "signals high recession risk, favoring short-term bonds"),
)
_NAN_SENTINEL = -9.87654321e-300  # stands for NaN inside orjson (which writes NaN as null)
_NAN_BYTES = orjson.dumps(_NAN_SENTINEL)
FILTERED_DISAGREE = "Filtered out due to disagreement between technical and sentiment signals"
DELISTED = "Delisted today, closing the position"
FILTERED_WEAK = (
    "Filtered out due to insufficient signal consensus (need 4+ agreeing non-neutral signals)"
)


def generate_episodes(
    cfg: SynthConfig, seed: int, market: SynthMarket | None = None
) -> Iterator[dict]:
    """Yield ``cfg.days`` episodes (dicts in the recorded key order) of a seeded synthetic run.

    Day loop (shared README §2, §5): screen the universe (held tickers always in), run the six
    analysts through the post-filter neutral overwrite, the risk manager (limit from cash, stock
    allocation and a CVaR factor; price = close of t, as recorded), the portfolio agents and the
    fixed-income rule, let the consensus baseline decide, and fill its orders with
    ``ref_execute_day`` in execution order (eligible order, then SHY, TLT) at the open of t.
    Same ``(cfg, seed)`` -> identical episodes. The planted signal is described in
    ``episodes.synth_market.SynthMarket``. ``market``: ``generate_market(cfg, seed)`` when the
    caller already has it (the store writer also takes its benchmarks from it).
    """
    mkt = generate_market(cfg, seed) if market is None else market
    book = RefBook(cash=INITIAL_CASH)
    nav = INITIAL_CASH
    for t in range(cfg.days):
        episode, nav = _day(mkt, t, book, nav)
        yield episode


def _day(mkt: SynthMarket, t: int, book: RefBook, nav_prev: float) -> tuple[dict, float]:
    """One episode; trades ``book`` through the day. Returns the episode and the closing NAV."""
    tk = mkt.tickers
    before = _portfolio(book, tk)
    held = np.array([book.long.get(x, 0) > 0 or book.short.get(x, 0) > 0 for x in tk[:-2]])
    order = [int(k) for k in mkt.order if mkt.eligible[t, k] or held[k]]
    stored, covered, risk = _screen_signals(mkt.signal[:, t], held)
    risk_order = [k for k in order if risk[k]]
    alloc_macro, macro = macro_agent(mkt, t)
    alloc_fwd, fwd = forward_agent(mkt, t)
    alloc = (alloc_macro + alloc_fwd) / 2
    agents = {"forward_looking_agent": fwd, "macro_agent": macro}
    agents.update(_analyst_dicts(mkt, t, order, stored, covered))
    agents["risk_management_agent"] = rm = _risk_manager(mkt, t, book.cash, alloc, risk_order)
    fixed = _fixed_income(mkt, t, book, alloc)
    agents["fixed_income_agent"] = {"_portfolio_data": fixed}
    decisions = _baseline(mkt, t, book, stored, order, risk_order, rm)
    decisions["SHY"], decisions["TLT"] = fixed["SHY"], fixed["TLT"]
    strength = {  # §5.4: the covering analysts' votes plus the risk manager's neutral vote
        tk[k]: ref_strength([int(stored[j, k]) for j in range(6) if j < 2 or covered[k]] + [0])
        if risk[k]
        else 0.0
        for k in order
    }
    cols = order + [len(tk) - 2, len(tk) - 1]
    opens = {tk[k]: float(mkt.open[t, k]) for k in cols}
    closes = {tk[k]: float(mkt.close[t, k]) for k in cols}
    trades, replacements = _execute(book, decisions, opens, strength)
    nav = ref_nav(book, closes)
    episode = {
        "date": str(mkt.dates[t]),
        "agent_signals": agents,
        "llm_decisions": decisions,
        "portfolio_before": before,
        "portfolio_after": _portfolio(book, tk),
        "portfolio_return": (nav - nav_prev) / nav_prev,
        "market_data": _market_data(book, opens, closes),
        "metadata": {
            **METADATA,
            "eligible_tickers": [tk[k] for k in order],
            "executed_trades": trades,
            "position_replacements": replacements,
        },
    }
    return episode, nav


def _execute(book: RefBook, decisions: dict, opens: dict, strength: dict):
    """Fill the day's orders in execution order (§5.2-5.4); executed_trades keeps §5.5's quirk."""
    orders = []
    for x in opens:  # eligible tickers in order, then SHY, TLT; a missing decision is hold 0
        d = decisions.get(x)
        orders.append((x, ACTION_CODES[d["action"]], d["quantity"]) if d else (x, HOLD, 0))
    # the synthetic baseline trades under the recording's rules, so that its books reconcile
    _drop_flat(book)
    fills = ref_execute_day(book, orders, opens, strength, **RECORDED_ACCOUNT.kwargs())
    trades: dict[str, int] = {}
    replacements: dict[str, str] = {}
    for f in fills:  # a victim's close is written when it happens, overwritten by its own order
        trades[f.ticker] = int(f.qty)
        if f.reason == R_REPLACEMENT and f.qty > 0:
            replacements[f.victim_of] = f.ticker
    return trades, replacements


def _drop_flat(book: RefBook) -> None:
    """Forget flat positions (the books read them with ``.get(x, 0)``): the cap check lists the
    open positions over these keys for every new order, so with every ticker ever traded kept a
    day cost grew with tickers squared (bench_scale's synth exponent)."""
    for side in (book.long, book.short):
        for x in [x for x, q in side.items() if q == 0]:
            del side[x]


def _market_data(book: RefBook, opens: dict, closes: dict) -> dict:
    """§4.2-4.3: prices in execution order; exposures post-trade at the close, summed in order."""
    long_x = short_x = 0.0
    for x, c in closes.items():
        long_x += book.long.get(x, 0) * c
        short_x += book.short.get(x, 0) * c
    return {
        "execution_prices": opens,
        "evaluation_prices": closes,
        "long_exposure": long_x,
        "short_exposure": short_x,
        "gross_exposure": long_x + short_x,
        "net_exposure": long_x - short_x,
    }


def _screen_signals(raw: np.ndarray, held: np.ndarray):
    """Post-filter signals (§2.1): stored [6, K], coverage of the four others, risk list mask.

    Open positions are exempt. Otherwise technical/sentiment are overwritten with neutral unless
    they agree and are non-neutral ("agreeing"); agreeing tickers without >= 4 same-direction
    votes get all six overwritten. Agreeing tickers are covered by all six analysts; agreeing
    tickers with >= 4 votes plus open positions make the risk manager's list.
    """
    agree = (raw[0] == raw[1]) & (raw[0] != 0)
    strong = np.maximum((raw == 1).sum(0), (raw == -1).sum(0)) >= 4
    stored = raw.copy()
    stored[:2, ~agree & ~held] = 0
    stored[:, agree & ~strong & ~held] = 0
    return stored, agree | held, (agree & strong) | held


def _analyst_dicts(mkt: SynthMarket, t: int, order: list[int], stored, covered) -> dict:
    conf = mkt.confidence[:, t]
    out = {}
    for j, name in enumerate(ANALYSTS):
        keys = order if j < 2 else [k for k in order if covered[k]]
        cast = int if j == 0 else float
        out[name] = {
            mkt.tickers[k]: {"signal": NAMES[stored[j, k] + 1], "confidence": cast(conf[j, k])}
            for k in keys
        }
    return out


def _risk_manager(mkt: SynthMarket, t: int, cash: float, alloc: float, keys: list[int]) -> dict:
    """§2.2: ``limit = cash (3 alloc/30)(alloc/0.6) f``, remaining = min(limit, cash)."""
    base_pct = 3.0 * alloc / 30
    out = {}
    for k in keys:
        limit = cash * base_pct * (alloc / 0.6) * float(mkt.cvar_factor[t, k])
        out[mkt.tickers[k]] = {
            "remaining_position_limit": min(limit, cash),
            "current_price": float(mkt.close[t, k]),
            "reasoning": {
                "portfolio_value": cash,
                "current_position": 0.0,
                "cvar_adjusted_limit": limit,
                "remaining_limit": limit,
                "available_cash": cash,
                "combined_stock_allocation": alloc,
                "max_expected_positions": RECORDED_ACCOUNT.max_positions,
                "target_leverage": 3.0,
                "base_individual_limit_pct": base_pct,
            },
        }
    return out


def _fixed_income(mkt: SynthMarket, t: int, book: RefBook, alloc: float) -> dict:
    """§2.3: capital = cash (1 - alloc); target = int(capital w / close_t); trade the difference."""
    t2y, t10y = float(mkt.treasury_2y[t]), float(mkt.treasury_10y[t])
    spread = t10y - t2y
    _, shape, w_shy, w_tlt, text = next(c for c in CURVE if spread >= c[0])
    label = shape.replace("_", " ").capitalize()
    why = f"{label} yield curve (spread: {spread:.2f}%) {text}"
    capital = book.cash * (1 - alloc)
    n_stk = len(mkt.tickers) - 2
    closes = {b: float(mkt.close[t, n_stk + i]) for i, b in enumerate(BONDS)}
    out = {}
    for bond, weight, term in (("SHY", w_shy, "Short"), ("TLT", w_tlt, "Long")):
        target, current = int(capital * weight / closes[bond]), book.long.get(bond, 0)
        diff = target - current
        out[bond] = {
            "action": "buy" if diff > 0 else ("sell" if diff < 0 else "hold"),
            "quantity": abs(diff),
            "confidence": 85.0,
            "reasoning": f"{term}-term Treasury allocation: {why}. "
            f"Target: {target} shares, Current: {current} shares",
        }
    value = sum(book.long.get(b, 0) * closes[b] for b in BONDS)
    out["bond_analysis"] = {
        "bond_allocation_percentage": (1 - alloc) * 100,
        "total_bond_capital": capital,
        "current_bond_value": value,
        "target_bond_value": capital,
        "yield_curve_analysis": {
            "curve_shape": shape,
            "yield_spread": spread,
            "treasury_2y": t2y,
            "treasury_10y": t10y,
            "reasoning": why,
        },
    }
    return out


def _baseline(mkt, t, book, stored, order, risk_order, rm) -> dict:
    """LLM-like consensus baseline on the risk list; everything else is "Filtered out" (§3).

    New ticker: buy (>= 4 bullish of six) or short (>= 4 bearish), ``int(limit / close_t)``
    shares. Long: sell all when bearish votes outnumber bullish ones. Short: cover all when
    bullish votes outnumber bearish ones. Otherwise hold. Confidence uses a 0-1 scale, on every
    fourth day the 0-100 scale (the recorded mix, §3).
    """
    scale = 100.0 if t % 4 == 3 else 1.0
    bulls = (stored == 1).sum(0).tolist()
    bears = (stored == -1).sum(0).tolist()
    c = mkt.confidence[:, t]
    mean_conf = (np.where(np.isnan(c), 0.0, c).sum(0) / (~np.isnan(c)).sum(0)).tolist()
    out = {}
    for k in risk_order:
        x = mkt.tickers[k]
        bull, bear = bulls[k], bears[k]
        conf = round(mean_conf[k] / 100 * scale, 2)
        long_, short_ = book.long.get(x, 0), book.short.get(x, 0)
        if long_ == 0 and short_ == 0:
            qty = max(int(rm[x]["remaining_position_limit"] / rm[x]["current_price"]), 0)
            side = ("buy", "bullish") if bull >= bear else ("short", "bearish")
            action = side[0] if qty > 0 else "hold"
            why = f"{max(bull, bear)} of 6 analysts {side[1]}, sized to the risk limit"
        elif long_ > 0 and t >= mkt.delisted[k]:
            action, qty, why = "sell", long_, DELISTED
        elif short_ > 0 and t >= mkt.delisted[k]:
            action, qty, why = "cover", short_, DELISTED
        elif long_ > 0 and bear > bull:
            action, qty, why = "sell", long_, "Bearish signals outweigh bullish ones, closing long"
        elif short_ > 0 and bull > bear:
            action, qty, why = "cover", short_, "Bullish signals outweigh bearish ones, covering"
        else:
            action, qty, why = "hold", 0, "Existing position, no strong signal to change"
        out[x] = {"action": action, "quantity": qty, "confidence": conf, "reasoning": why}
    risky = set(risk_order)
    agree = ((mkt.signal[0, t] == mkt.signal[1, t]) & (mkt.signal[0, t] != 0)).tolist()
    for k in order:
        if k not in risky:
            agreeing = agree[k]
            why = FILTERED_WEAK if agreeing else FILTERED_DISAGREE
            out[mkt.tickers[k]] = {
                "action": "hold",
                "quantity": 0,
                "confidence": 0.0,
                "reasoning": why,
            }
    return out


def _portfolio(book: RefBook, tickers: tuple[str, ...]) -> dict:
    """§4.1 portfolio over the full universe: stocks sorted, then SHY, TLT."""
    positions, gains = {}, {}
    for x in tickers:
        positions[x] = {
            "long": int(book.long.get(x, 0)),
            "short": int(book.short.get(x, 0)),
            "long_cost_basis": float(book.lcb.get(x, 0.0)),
            "short_cost_basis": float(book.scb.get(x, 0.0)),
            "short_margin_used": float(book.smu.get(x, 0.0)),
        }
        gains[x] = {
            "long": float(book.rg_long.get(x, 0.0)),
            "short": float(book.rg_short.get(x, 0.0)),
        }
    return {
        "cash": float(book.cash),
        "positions": positions,
        "realized_gains": gains,
        "margin_requirement": float(book.margin_used),
    }


def dumps_episode(episode: dict) -> bytes:
    """The recorded file format (2-space indent, bare ``NaN``); NaN occurs only in analyst
    confidences, which go through orjson as a sentinel that is then replaced by ``NaN``."""
    signals = dict(episode["agent_signals"])
    for name in ANALYSTS:
        entries = signals[name]
        if any(v["confidence"] != v["confidence"] for v in entries.values()):
            signals[name] = {
                x: {**v, "confidence": _NAN_SENTINEL} if v["confidence"] != v["confidence"] else v
                for x, v in entries.items()
            }
    blob = orjson.dumps({**episode, "agent_signals": signals}, option=orjson.OPT_INDENT_2)
    return blob.replace(_NAN_BYTES, b"NaN")


def write_episodes(out_dir: Path, cfg: SynthConfig, seed: int) -> list[Path]:
    """Write ``episode_YYYY-MM-DD.json`` files into ``out_dir`` atomically (all or nothing).

    The files go to a temp directory that is renamed to ``out_dir`` at the end, replacing it, so
    an interrupted run leaves no half-written store. Refuses to replace a directory that holds
    anything but episode files.
    """
    out_dir = Path(out_dir)
    if out_dir.exists():
        alien = (
            sorted(
                p.name
                for p in out_dir.iterdir()
                if not p.name.startswith("episode_") and p.name != BENCH_DIR
            )
            if out_dir.is_dir()
            else ["(a file)"]
        )
        if alien:
            raise EpisodeError(
                str(out_dir),
                "refusing to replace something that is not a synthetic run",
                found=",".join(alien[:3]),
                fix="pass an empty or new --out directory",
            )
    start = time.perf_counter()
    names = []
    with atomic_dir(out_dir) as tmp:
        for ep in generate_episodes(cfg, seed):
            name = f"episode_{ep['date']}.json"
            (tmp / name).write_bytes(dumps_episode(ep))
            names.append(name)
        mkt = generate_market(cfg, seed)  # its SPY and rf series, beside the episodes
        k = len(mkt.tickers) - len(BONDS)
        spy, rf = synthetic_series(mkt.dates, mkt.close[:, :k], mkt.open[:1, :k], mkt.fed_rate)
        write_synthetic(tmp / BENCH_DIR, mkt.dates, spy, rf)
    log.info(
        "episodes_synthesized",
        days=cfg.days,
        tickers=cfg.tickers,
        seed=seed,
        out=str(out_dir),
        elapsed_s=round(time.perf_counter() - start, 3),
    )
    return [out_dir / n for n in names]
