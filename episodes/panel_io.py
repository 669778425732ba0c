"""Store tables -> ``Panel``: dense ``[t, k]`` arrays, no per-row Python."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from episodes.panel import ANALYSTS, BONDS, Panel

__all__ = ["PANEL_COLUMNS", "panel_from_tables", "consensus_strength", "read_parquet"]


def _cols(table: pa.Table, *names: str) -> list[np.ndarray]:
    """Columns as numpy arrays (zero-copy where pyarrow allows)."""
    return [table.column(n).to_numpy() for n in names]


def _ptr(t: np.ndarray, n_days: int) -> np.ndarray:
    ptr = np.zeros(n_days + 1, np.int64)
    np.cumsum(np.bincount(t, minlength=n_days), out=ptr[1:])
    return ptr


def _dense(shape: tuple, flat: np.ndarray, v, fill, dtype) -> np.ndarray:
    """An array of ``shape`` filled with ``fill`` and ``v`` at the flat indices ``flat``."""
    out = np.full(shape, fill, dtype)
    out.reshape(-1)[flat] = v
    return out


def _flat(t: np.ndarray, k: np.ndarray, K: int) -> np.ndarray:
    return t.astype(np.int64) * K + k


def consensus_strength(
    has_signal: np.ndarray, signal: np.ndarray, on_risk: np.ndarray
) -> np.ndarray:
    """Consensus strength §5.4 for every ``[t, k]``: ``|mean| * agree / n``.

    Votes: +1 bullish, -1 bearish, 0 neutral from each analyst that covers k on t, plus a 0
    vote from the risk manager when k is on its list (portfolio-level agents never vote); ``agree``
    counts the votes with the sign of the mean; 0 when n == 0 or the mean is 0. Same operation
    order as ``simulator.kernels.reference.ref_strength``, so the values are bit-identical.
    """
    signal = np.where(has_signal, signal, 0).astype(np.int8, copy=False)  # absent -> no vote
    n = has_signal.sum(axis=0, dtype=np.int64) + on_risk
    total = signal.sum(axis=0, dtype=np.int64)
    sgn = np.sign(total).astype(np.int8)
    agree = (signal == sgn[None]).sum(axis=0, dtype=np.int64) * (sgn != 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
        s = np.abs(mean) * agree / n
    return np.where((n > 0) & (total != 0), s, 0.0)


def panel_from_tables(tables: Mapping[str, pa.Table], manifest: dict) -> Panel:
    """Build the ``Panel`` of a store from its tables (pyarrow) and manifest (each table is
    looked up once, so a lazy mapping frees one before the next is read)."""
    dates = np.asarray(manifest["dates"], dtype="datetime64[D]")
    tickers = np.asarray(manifest["tickers"], dtype=object)
    T, K = len(dates), len(tickers)
    is_bond = np.isin(tickers, BONDS)
    f = {}
    t, k, op, cl = _cols(tables["prices"], "t", "k", "open", "close")
    f["order_ptr"], f["order_idx"] = _ptr(t, T), k.astype(np.int32, copy=False)
    flat = _flat(t, k, K)
    f["eligible"] = _dense((T, K), flat[~is_bond[k]], True, False, bool)
    f["open"] = _dense((T, K), flat, op, np.nan, np.float64)
    f["close"] = _dense((T, K), flat, cl, np.nan, np.float64)
    t, a, k, sig, conf = _cols(tables["signals"], "t", "agent", "k", "signal", "confidence")
    shape3 = (len(ANALYSTS), T, K)
    flat = _flat(a.astype(np.int64) * T + t, k, K)
    f["has_signal"] = _dense(shape3, flat, True, False, bool)
    f["signal"] = _dense(shape3, flat, sig, 0, np.int8)
    f["confidence"] = _dense(shape3, flat, conf, np.nan, np.float64)
    t, k, lim, price, base = _cols(
        tables["risk"], "t", "k", "remaining_position_limit", "current_price", "portfolio_value"
    )
    flat = _flat(t, k, K)
    f["on_risk"] = _dense((T, K), flat, True, False, bool)
    f["risk_limit"] = _dense((T, K), flat, lim, np.nan, np.float64)
    f["risk_price"] = _dense((T, K), flat, price, np.nan, np.float64)
    f["risk_base"] = np.full(T, np.nan)
    first = np.unique(t, return_index=True)
    f["risk_base"][first[0]] = base[first[1]]
    f["strength"] = consensus_strength(f["has_signal"], f["signal"], f["on_risk"])
    t, k, act, qty = _cols(tables["decisions"], "t", "k", "action", "quantity")
    flat = _flat(t, k, K)
    f["has_decision"] = _dense((T, K), flat, True, False, bool)
    f["action"] = _dense((T, K), flat, act, 0, np.int8)
    f["quantity"] = _dense((T, K), flat, qty, 0, np.int64)
    f |= _books(tables["positions"], T, K)
    f |= _daily(tables["daily"])
    t, seq, k, qty = _cols(tables["trades"], "t", "seq", "k", "qty")
    f |= {"trade_ptr": _ptr(t, T), "trade_k": k.astype(np.int32, copy=False), "trade_qty": qty}
    t, seq, new, victim = _cols(tables["replacements"], "t", "seq", "new_k", "victim_k")
    f |= {"repl_ptr": _ptr(t, T), "repl_new_k": new.astype(np.int32, copy=False)}
    f["repl_victim_k"] = victim.astype(np.int32, copy=False)
    return Panel(dates=dates, tickers=tickers, is_bond=is_bond, **f)


_BOOK = {
    "long": ("long", np.int64),
    "short": ("short", np.int64),
    "long_cost_basis": ("lcb", np.float64),
    "short_cost_basis": ("scb", np.float64),
    "short_margin_used": ("smu", np.float64),
    "rg_long": ("rg_long", np.float64),
    "rg_short": ("rg_short", np.float64),
}


def _books(table: pa.Table, T: int, K: int) -> dict[str, np.ndarray]:
    """``*_after[t]`` from the sparse after-rows, ``*_before0`` from the first day's before-rows,
    ``long/short_before[t] = *_after[t-1]`` (the chain is validated at ingest)."""
    t, k, state = _cols(table, "t", "k", "state")
    after, before0 = state == 0, state == 1
    flat = _flat(t[after], k[after], K)
    out = {}
    for col, (name, dtype) in _BOOK.items():
        (v,) = _cols(table, col)
        out[f"{name}_after"] = _dense((T, K), flat, v[after], 0, dtype)
        b0 = np.zeros(K, dtype)
        b0[k[before0]] = v[before0]
        out[f"{name}_before0"] = b0
    for side in ("long", "short"):
        before = np.empty((T, K), np.int64)
        before[:1] = out.pop(f"{side}_before0")  # [:1]: a Panel of 0 days has no row 0
        before[1:] = out[f"{side}_after"][:-1]
        out[f"{side}_before"] = before
    return out


_DAILY = {
    "cash_before": "cash_before",
    "cash_after": "cash_after",
    "margin_before": "margin_before",
    "margin_after": "margin_after",
    "portfolio_return": "portfolio_return",
    "long_exposure": "long_exposure",
    "short_exposure": "short_exposure",
    "gross_exposure": "gross_exposure",
    "net_exposure": "net_exposure",
    "macro_stock_alloc": "macro_stock_alloc",
    "fwd_stock_alloc": "fwd_stock_alloc",
    "vix": "vix",
}


def _daily(table: pa.Table) -> dict[str, np.ndarray]:
    return {f: table.column(c).to_numpy().astype(np.float64, copy=False) for f, c in _DAILY.items()}


# The columns ``panel_from_tables`` reads (a store reader may skip the others).
PANEL_COLUMNS = {
    "daily": list(_DAILY.values()),
    "prices": ["t", "k", "open", "close"],
    "signals": ["t", "agent", "k", "signal", "confidence"],
    "risk": ["t", "k", "remaining_position_limit", "current_price", "portfolio_value"],
    "decisions": ["t", "k", "action", "quantity"],
    "positions": ["t", "k", "state", *_BOOK],
    "trades": ["t", "seq", "k", "qty"],
    "replacements": ["t", "seq", "new_k", "victim_k"],
}


def read_parquet(path: Path, columns: Sequence[str] | None = None) -> pa.Table:
    """One Parquet file as a Table, like ``pq.read_table`` for a local file but without its
    dataset layer (the ``pyarrow.dataset`` import and per-call setup: ~5 ms CPU per file measured
    on the real store; same values, schema and metadata, fewer chunks). A missing column raises
    ``ArrowInvalid`` as ``pq.read_table`` does (``ParquetFile.read`` would skip it)."""
    with pq.ParquetFile(path) as pf:
        if columns is not None:
            missing = [c for c in columns if c not in set(pf.schema_arrow.names)]
            if missing:
                raise pa.ArrowInvalid(f"no column {missing[0]!r} in {path}")
        return pf.read(columns=columns)
