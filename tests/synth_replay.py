"""Test-only: replay episode dicts with the reference books, reading nothing but the JSON.

Used by the synthetic-episode tests (the recorded baseline must reconcile like the real one) and
cross-checked on the first real days, so the helper itself is known to encode the real rules.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from episodes.account import RECORDED_ACCOUNT
from simulator.kernels.records import ACTION_CODES, HOLD, R_REPLACEMENT
from simulator.kernels.reference import RefBook, ref_execute_day, ref_nav, ref_strength

EPISODES_TAR = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "mas-hedge-fund"
    / "episodes-2022-2024.tar.xz"
)
_VOTE = {"bullish": 1, "bearish": -1}


def first_real_episodes(n: int) -> list[dict]:
    """The first ``n`` real episodes, streamed from the archive (no full unpack)."""
    out = []
    with tarfile.open(EPISODES_TAR, "r:xz") as tar:
        for member in tar:
            if member.name.endswith(".json"):
                out.append(json.loads(tar.extractfile(member).read()))
                if len(out) == n:
                    break
    return out


def book_from_portfolio(p: dict) -> RefBook:
    pos, rg = p["positions"], p["realized_gains"]
    return RefBook(
        cash=p["cash"],
        long={x: v["long"] for x, v in pos.items()},
        short={x: v["short"] for x, v in pos.items()},
        lcb={x: v["long_cost_basis"] for x, v in pos.items()},
        scb={x: v["short_cost_basis"] for x, v in pos.items()},
        smu={x: v["short_margin_used"] for x, v in pos.items()},
        rg_long={x: v["long"] for x, v in rg.items()},
        rg_short={x: v["short"] for x, v in rg.items()},
        margin_used=p["margin_requirement"],
    )


def book_as_portfolio(book: RefBook, tickers) -> dict:
    positions = {
        x: {
            "long": book.long.get(x, 0),
            "short": book.short.get(x, 0),
            "long_cost_basis": book.lcb.get(x, 0.0),
            "short_cost_basis": book.scb.get(x, 0.0),
            "short_margin_used": book.smu.get(x, 0.0),
        }
        for x in tickers
    }
    gains = {
        x: {"long": book.rg_long.get(x, 0.0), "short": book.rg_short.get(x, 0.0)} for x in tickers
    }
    return {
        "cash": book.cash,
        "positions": positions,
        "realized_gains": gains,
        "margin_requirement": book.margin_used,
    }


def strength_from_signals(agent_signals: dict, tickers) -> dict[str, float]:
    """§5.4 from the stored signals: a vote from every agent dict holding the ticker."""
    out = {}
    for x in tickers:
        votes = [
            _VOTE.get(entries[x].get("signal"), 0)
            for entries in agent_signals.values()
            if x in entries
        ]
        out[x] = ref_strength(votes)
    return out


def replay_episodes(episodes: list[dict], nav0: float = 100_000.0) -> list[str]:
    """Carry one book from the first ``portfolio_before`` through every day; return mismatches.

    Every field is compared exactly: portfolio_before/after, executed_trades (values and key
    order), position_replacements (order too), portfolio_return and the four exposures. The
    recorded replacements serve as the tie oracle (§5.4).
    """
    book = book_from_portfolio(episodes[0]["portfolio_before"])
    nav_prev, bad = nav0, []
    for ep in episodes:
        date, md = ep["date"], ep["metadata"]
        universe = list(ep["portfolio_before"]["positions"])
        if book_as_portfolio(book, universe) != ep["portfolio_before"]:
            bad.append(f"{date}: portfolio_before differs from the carried book")
        order = md["eligible_tickers"] + ["SHY", "TLT"]
        orders = []
        for x in order:
            d = ep["llm_decisions"].get(x)
            orders.append((x, ACTION_CODES[d["action"]], int(d["quantity"])) if d else (x, HOLD, 0))
        strength = strength_from_signals(ep["agent_signals"], md["eligible_tickers"])
        fills = ref_execute_day(
            book,
            orders,
            ep["market_data"]["execution_prices"],
            strength,
            victims=md["position_replacements"],
            **RECORDED_ACCOUNT.kwargs(),
        )
        trades, repl = {}, {}
        for f in fills:
            trades[f.ticker] = f.qty
            if f.reason == R_REPLACEMENT and f.qty > 0:
                repl[f.victim_of] = f.ticker
        if list(trades.items()) != list(md["executed_trades"].items()):
            bad.append(f"{date}: executed_trades differ")
        if list(repl.items()) != list(md["position_replacements"].items()):
            bad.append(
                f"{date}: position_replacements differ: {repl} vs {md['position_replacements']}"
            )
        if book_as_portfolio(book, universe) != ep["portfolio_after"]:
            bad.append(f"{date}: portfolio_after differs")
        close = ep["market_data"]["evaluation_prices"]
        nav = ref_nav(book, close)
        ret = (nav - nav_prev) / nav_prev
        if ret != ep["portfolio_return"]:
            bad.append(f"{date}: portfolio_return {ret} vs {ep['portfolio_return']}")
        lx = sx = 0.0
        for x, c in close.items():
            lx += book.long.get(x, 0) * c
            sx += book.short.get(x, 0) * c
        got = {
            "long_exposure": lx,
            "short_exposure": sx,
            "gross_exposure": lx + sx,
            "net_exposure": lx - sx,
        }
        if any(ep["market_data"][k] != v for k, v in got.items()):
            bad.append(f"{date}: exposures differ")
        nav_prev = nav
    return bad
