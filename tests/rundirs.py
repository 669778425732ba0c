"""Test-only: small synthetic run directories in the simulator/results/export.py format."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

TRADE_COLUMNS = (
    "date,ticker,action,requested_qty,filled_qty,price,notional,fee,cash_after,position_after,"
    "reason"
)


def make_run_dir(
    root: Path,
    name: str,
    *,
    strategy: str = "lstm",
    seed: int | None = 0,
    n_days: int = 60,
    start: str = "2024-01-02",
    optional: tuple[str, ...] = ("trades", "positions", "windows"),
) -> Path:
    """Write ``root/name`` with equity.csv, summary.json and the ``optional`` tables.

    Returns follow a seeded random walk; trades are one round trip per 5 days on ticker AAA
    (buy 10 at p, sell 10 at p·(1 ± 2 %) three days later), so realized gains are known.
    """
    rng = np.random.default_rng([zlib.crc32(name.encode()), seed or 0, n_days])
    out = Path(root) / name
    out.mkdir(parents=True)
    dates = pd.bdate_range(start, periods=n_days)
    ret = rng.normal(0.0004, 0.01, n_days)
    nav = 100_000.0 * np.cumprod(1.0 + ret)
    long_ = nav * rng.uniform(0.5, 1.0, n_days)
    short = nav * rng.uniform(0.0, 0.3, n_days)
    equity = pd.DataFrame(
        {
            "date": dates.strftime("%Y-%m-%d"),
            "nav": nav,
            "cash": nav - long_ + short,
            "long_exposure": long_,
            "short_exposure": short,
            "gross_exposure": long_ + short,
            "daily_return": ret,
            "drawdown": nav / np.maximum.accumulate(np.maximum(nav, 100_000.0)) - 1.0,
        }
    )
    equity.to_csv(out / "equity.csv", index=False)
    summary = {"strategy": strategy, "seed": seed, "config_hash": f"{name:0<16}", "metrics": {}}
    summary["config"] = {"seed": seed}
    (out / "summary.json").write_text(json.dumps(summary, sort_keys=True), encoding="utf-8")
    if "trades" in optional:
        _trades(dates).to_csv(out / "trades.csv", index=False)
    if "positions" in optional:
        pos = {"date": equity["date"], "n_long": rng.integers(20, 31, n_days)}
        pd.DataFrame({**pos, "n_short": rng.integers(0, 5, n_days)}).to_csv(
            out / "positions.csv", index=False
        )
    if "windows" in optional:
        k = max(n_days // 20, 1)
        windows = pd.DataFrame(
            {
                "window": [f"w{i:03d}" for i in range(k)],
                "serve_start": [dates[20 * i].strftime("%Y-%m-%d") for i in range(k)],
                "serve_end": [
                    dates[min(20 * i + 19, n_days - 1)].strftime("%Y-%m-%d") for i in range(k)
                ],
                "ic": rng.normal(0.02, 0.02, k),
                "rank_ic": rng.normal(0.02, 0.02, k),
                "direction_accuracy": rng.uniform(0.48, 0.56, k),
            }
        )
        windows.to_csv(out / "windows.csv", index=False)
    return out


def _trades(dates: pd.DatetimeIndex) -> pd.DataFrame:
    rows = []
    for i in range(0, len(dates) - 3, 5):
        p_in = 100.0 + i
        p_out = p_in * (1.02 if (i // 5) % 2 == 0 else 0.98)
        for day, action, p in ((dates[i], "buy", p_in), (dates[i + 3], "sell", p_out)):
            pos = 10 if action == "buy" else 0
            rows.append(
                (
                    day.strftime("%Y-%m-%d"),
                    "AAA",
                    action,
                    10,
                    10,
                    p,
                    10 * p,
                    10 * p * 5e-4,
                    0.0,
                    pos,
                    "decision",
                )
            )
    return pd.DataFrame(rows, columns=TRADE_COLUMNS.split(","))
