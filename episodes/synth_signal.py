"""The synthetic families' test bed: a nonlinear price signal, a smaller consensus, new listings.

Each piece is off under the default ``SynthConfig`` (``price_signal_ic = 0``,
``consensus_reach = 1``, ``new_listings = 0``), so the default market is unchanged.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "price_signal",
    "plant_price_signal",
    "listing_days",
    "delisting_days",
    "limit_reach",
    "TANH_STD",
]

TANH_STD = 0.6278  # std of tanh(z), z ~ N(0, 1): scales the reversal part to unit variance
Z_CLIP = 4.0  # standardised inputs are clipped at +-4 (fat tails would dominate the square)


def price_signal(z5: np.ndarray, z1: np.ndarray) -> np.ndarray:
    """The planted signal of a day from two pre-open price features (unit variance for N(0,1)).

    ``s = (-tanh(z5) / TANH_STD + (z1² - 1) / √2) / √2`` where ``z5`` is the ticker's 5-day
    close-to-close log return through close(t-1) over ``vol √5`` and ``z1`` its intraday log move
    of day t-1 (close(t-1)/open(t-1)) over ``vol`` (``vol``: its idiosyncratic daily vol). A
    saturating short-term reversal (monotone: a linear model catches part of it) plus a
    volatility-burst term (``z1²``: no linear model on the raw features sees it).

    >>> [round(float(v), 3) for v in price_signal(np.array([0.0, 2.0]), np.array([1.0, 0.0]))]
    [0.0, -1.586]
    """
    z5 = np.clip(z5, -Z_CLIP, Z_CLIP)
    z1 = np.clip(z1, -Z_CLIP, Z_CLIP)
    return (-np.tanh(z5) / TANH_STD + (z1 * z1 - 1.0) / np.sqrt(2.0)) / np.sqrt(2.0)


def plant_price_signal(
    intra: np.ndarray,
    night: np.ndarray,
    vol: np.ndarray,
    ic: float,
    first: np.ndarray,
    split: float,
) -> np.ndarray:
    """Add ``vol ic s[t]`` to the open(t) -> open(t+1) log move, day by day (in place).

    ``intra`` [n, K] is the open -> close log move of day t and ``night`` [n, K] the close(t) ->
    open(t+1) gap; ``split`` of the planted move goes intraday, the rest overnight. ``s[t]``
    (``price_signal``) reads only closes up to t-1 and the open of t-1, the planted moves of
    earlier days included, so it is a function of prices known before the open of t. A ticker's
    history starts at ``first[k]`` (its listing): before 6 recorded closes ``z5 = 0``, before one
    ``z1 = 0`` (what the features can see). Returns ``s`` [n, K].
    """
    n, k_n = intra.shape
    s = np.zeros((n, k_n))
    for t in range(1, n):
        cc = intra[max(t - 5, 1) : t] + night[max(t - 5, 1) - 1 : t - 1]  # closes t-5..t-1
        z5 = np.where(t - 6 >= first, cc.sum(axis=0) / (vol * np.sqrt(5.0)), 0.0)
        z1 = np.where(t - 1 >= first, intra[t - 1] / vol, 0.0)
        s[t] = price_signal(z5, z1)
        move = vol * ic * s[t]
        intra[t] += split * move
        night[t] += (1.0 - split) * move
    return s


def listing_days(rng: np.random.Generator, n_days: int, n_stk: int, share: float) -> np.ndarray:
    """First recorded day of each stock: 0, or for ``round(share K)`` seeded new listings a day
    drawn uniformly in ``[n_days // 5, 9 n_days // 10)``."""
    first = np.zeros(n_stk, dtype=np.int64)
    n_new = int(round(share * n_stk))
    if n_new:
        who = rng.permutation(n_stk)[:n_new]
        first[who] = rng.integers(n_days // 5, max(n_days // 5 + 1, 9 * n_days // 10), n_new)
    return first


def delisting_days(
    rng: np.random.Generator, n_days: int, first: np.ndarray, share: float
) -> np.ndarray:
    """Delisting day of each stock (its first day off the screen): ``n_days`` (never), or for
    ``round(share K)`` seeded delistings a day drawn uniformly in ``[n_days // 2, n_days)``, at
    least 20 days after the stock's listing day ``first`` (so every history has >= 20 days)."""
    n_stk = len(first)
    last = np.full(n_stk, n_days, dtype=np.int64)
    n_out = int(round(share * n_stk))
    if n_out:
        who = rng.permutation(n_stk)[:n_out]
        day = rng.integers(n_days // 2, n_days, n_out)
        last[who] = np.minimum(np.maximum(day, first[who] + 20), n_days)
    return last


def limit_reach(rng: np.random.Generator, signal: np.ndarray, reach: float) -> None:
    """Keep the technical analyst's call only on a seeded ``reach`` share of (day, ticker); the
    rest become neutral, so those tickers cannot reach consensus (in place on ``signal[0]``)."""
    signal[0][rng.random(signal.shape[1:]) >= reach] = 0
