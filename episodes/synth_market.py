"""Synthetic market for ``wfsim episodes synth``: prices, a planted alpha, raw analyst views, macro.

Everything here is vectorised numpy and depends only on ``(SynthConfig, seed)``; the book-dependent
day loop (screen, risk manager, baseline, fills) lives in ``episodes/synth.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from episodes.config import SynthConfig
from episodes.synth_signal import delisting_days, limit_reach, listing_days, plant_price_signal

__all__ = [
    "SynthMarket",
    "generate_market",
    "macro_agent",
    "forward_agent",
    "PHI",
    "PSI",
    "ANALYST_NOISE",
]

BURN_IN = 60  # unrecorded days before day 0: CVaR, VIX and trend history
PHI = 0.7  # alpha persistence: a[t+1] = PHI a[t] + PSI z_in[t] + sqrt(1-PHI²-PSI²) eta[t+1]
PSI = 0.4  # weight of day t's standardised intraday idiosyncratic shock in a[t+1] (momentum)
INTRA_VAR = 0.75  # share of the idiosyncratic noise variance realised open -> close
INTRA_DRIFT = 0.6  # share of the factor + alpha move realised open -> close (rest overnight)
# Noise std of each analyst's view of the standardised alpha, panel.ANALYSTS order.
ANALYST_NOISE = (1.2, 1.5, 1.0, 1.3, 2.0, 0.9)
SIGNAL_Z = 0.6  # |view| / std above which an analyst is bullish/bearish (before the screen filter)
CVAR_DAYS = 60  # trailing close-to-close returns in the risk manager's CVaR95
_BLOCK_CELLS = 1 << 14  # (day, ticker) cells per block of the CVaR and analysts' work
BOND_PARAMS = ((82.0, 0.0012, 0.0), (120.0, 0.009, -0.3))  # SHY, TLT: start price, daily vol, beta
VIX_LEVELS = (  # (upper VIX bound, stock allocation, recorded reasoning text)
    (
        15.0,
        0.7,
        "Low VIX ({:.1f}) indicates market stability and low expected volatility, "
        "favoring higher stock allocation (70/30)",
    ),
    (
        20.0,
        0.6,
        "Normal VIX ({:.1f}) indicates moderate market volatility, "
        "maintaining standard allocation (60/40)",
    ),
    (
        30.0,
        0.5,
        "Elevated VIX ({:.1f}) indicates increased market uncertainty, "
        "using balanced allocation (50/50)",
    ),
    (
        np.inf,
        0.4,
        "High VIX ({:.1f}) indicates market fear and high expected volatility, "
        "favoring higher bond allocation (40/60)",
    ),
)


@dataclass(frozen=True, eq=False)
class SynthMarket:
    """The synthetic world of one run; day ``t`` in ``0..T-1``, column ``k`` over ``tickers``.

    The planted signal. Log open(t) -> open(t+1) return of stock k:
    ``beta_k f_t + vol_k (ic alpha[t,k] + sqrt(1-ic²) (sqrt(.75) z_in[t,k] + .5 z_on[t,k]))``
    where open(t) -> close(t) takes 60 % of the factor + alpha move and all the ``z_in`` noise,
    close(t) -> open(t+1) the rest (the overnight gap). Alpha is
    AR(1) with unit variance, ``alpha[t+1] = PHI alpha[t] + PSI z_in[t] + sqrt(1-PHI²-PSI²) eta``,
    so before the open of t it is visible through two complementary channels:
    (a) the price path: day t-1's intraday return carries ``PSI z_in[t-1]`` (momentum);
    (b) the analysts of episode t-1, whose raw views are ``u[t] + noise_j`` with
    ``u[t] = (alpha[t] - PSI z_in[t-1]) / sqrt(1 - PSI²)``, i.e. the rest of alpha[t].
    Episode t's own analysts (what the recorded baseline trades on at the open of t) see u[t+1],
    which correlates with alpha[t] at PHI / sqrt(1 - PSI²) ≈ 0.76: they contain no day-t prices.
    """

    dates: np.ndarray  # [T] datetime64[D] business days
    tickers: tuple[str, ...]  # [K+2] stocks (sorted), then SHY, TLT
    open: np.ndarray  # [T+1, K+2] open of t (row T: the day after the last episode)
    close: np.ndarray  # [T, K+2] close of t (float32-representable, as yfinance)
    alpha: np.ndarray  # [T+1, K] latent alpha driving open(t) -> open(t+1)
    intraday_idio: np.ndarray  # [T, K] standardised intraday idiosyncratic shock of t
    eligible: np.ndarray  # [T, K] bool screen before adding held tickers
    signal: np.ndarray  # [6, T, K] int8 raw (pre-filter) analyst call of episode t: +1/0/-1
    confidence: np.ndarray  # [6, T, K] float64 on the 0..100 scale (NaN: some valuation neutrals)
    cvar_factor: np.ndarray  # [T, K] 1 - 0.1 min(|CVaR95|/0.15, 1) through the close of t
    vix: np.ndarray  # [T]
    fed_rate: np.ndarray  # [T] percent
    fed_trend: np.ndarray  # [T] percentage points over the last 60 days
    treasury_2y: np.ndarray  # [T] percent, 2 decimals
    treasury_10y: np.ndarray  # [T]
    order: np.ndarray  # [K] int: the run's fixed execution order of stocks (a permutation)
    delisted: np.ndarray  # [K] int: first day a stock is delisted (T: never); its book is closed


def generate_market(cfg: SynthConfig, seed: int) -> SynthMarket:
    """Simulate the market of ``cfg.days`` business days from ``cfg.start`` (seeded, vectorised)."""
    streams = np.random.default_rng(seed).spawn(8)  # 5-7: test bed, scale (first 5 unchanged)
    n_days, n_stk = cfg.days, cfg.tickers
    n_all = BURN_IN + n_days + 1
    width = max(3, len(str(n_stk - 1)))
    tickers = tuple(f"S{k:0{width}d}" for k in range(n_stk)) + ("SHY", "TLT")
    dates = np.busday_offset(np.datetime64(cfg.start, "D"), np.arange(n_days), roll="forward")

    first = listing_days(streams[5], n_days, n_stk, cfg.new_listings)
    log_open, intraday, z_in, alpha, sigma_m = _prices(streams[0], n_all, n_stk, cfg, first)
    close_all = np.exp(log_open[:-1] + intraday)
    close_all = close_all.astype(np.float32).astype(np.float64)
    sl = slice(BURN_IN, BURN_IN + n_days)
    # analysts of episode t see a[t+1] less the day-t price-path part (PSI z_in[t]), scaled to 1
    seen = alpha[BURN_IN + 1 : BURN_IN + n_days + 1] - PSI * z_in[sl]
    signal, confidence = _analysts(streams[1], seen / np.sqrt(1.0 - PSI**2))
    if cfg.consensus_reach < 1.0:
        limit_reach(streams[6], signal, cfg.consensus_reach)
    eligible = _screen(streams[4], n_days, n_stk)
    eligible[np.arange(n_days)[:, None] < first[None, :]] = False  # not listed yet
    delisted = delisting_days(streams[7], n_days, first, cfg.delistings)
    eligible[np.arange(n_days)[:, None] >= delisted[None, :]] = False  # delisted
    rate, trend, t2y, t10y = _macro(streams[2], n_all)
    vix = np.round(100.0 * np.sqrt(252.0) * sigma_m * 1.1 + streams[3].normal(0, 0.3, n_all), 2)
    return SynthMarket(
        dates=dates,
        tickers=tickers,
        open=np.exp(log_open[BURN_IN : BURN_IN + n_days + 1]),
        close=close_all[sl],
        alpha=alpha[BURN_IN : BURN_IN + n_days + 1],
        intraday_idio=z_in[sl],
        eligible=eligible,
        signal=signal,
        confidence=confidence,
        cvar_factor=_cvar_factor(close_all[:, :n_stk])[sl],
        vix=np.maximum(vix[sl], 9.0),
        fed_rate=rate[sl],
        fed_trend=trend[sl],
        treasury_2y=t2y[sl],
        treasury_10y=t10y[sl],
        order=streams[4].permutation(n_stk),
        delisted=delisted,
    )


def _prices(rng: np.random.Generator, n_all: int, n_stk: int, cfg: SynthConfig, first):
    """Log opens [n_all+1, K+2], intraday log moves [n_all, K+2], z_in, alpha, market vol.

    With ``cfg.price_signal_ic`` the price signal (``episodes.synth_signal``) is planted on top,
    its share of the idiosyncratic variance taken from the noise.
    """
    ic, ic_p = cfg.signal_ic, cfg.price_signal_ic
    h = np.zeros(n_all)
    for t in range(1, n_all):
        h[t] = 0.98 * h[t - 1] + 0.06 * rng.standard_normal()
    sigma_m = cfg.market_vol * np.exp(h)
    factor = 0.0003 + sigma_m * rng.standard_normal(n_all)
    beta = rng.uniform(0.6, 1.4, n_stk)
    vol = rng.uniform(0.012, 0.024, n_stk)
    z_in = rng.standard_normal((n_all, n_stk))
    z_on = rng.standard_normal((n_all, n_stk))
    eta = rng.standard_normal((n_all + 1, n_stk))
    alpha = np.empty((n_all + 1, n_stk))
    alpha[0] = eta[0]
    keep = np.sqrt(1.0 - PHI**2 - PSI**2)
    for t in range(n_all):
        alpha[t + 1] = PHI * alpha[t] + PSI * z_in[t] + keep * eta[t + 1]
    rest = vol * np.sqrt(1.0 - ic**2 - ic_p**2)
    drift = beta * factor[:, None] + vol * ic * alpha[:-1]
    intra = INTRA_DRIFT * drift + rest * np.sqrt(INTRA_VAR) * z_in
    night = (1.0 - INTRA_DRIFT) * drift + rest * np.sqrt(1.0 - INTRA_VAR) * z_on
    del drift, z_on, eta  # [T, K] each: what is held at once bounds the synth's memory
    if ic_p > 0:
        plant_price_signal(intra, night, vol, ic_p, BURN_IN + first, INTRA_DRIFT)
    b_intra, b_night = [], []
    for _, vol_b, beta_b in BOND_PARAMS:
        zb = rng.standard_normal((2, n_all))
        move = beta_b * factor * 0.2
        b_intra.append(INTRA_DRIFT * move + vol_b * np.sqrt(INTRA_VAR) * zb[0])
        b_night.append((1.0 - INTRA_DRIFT) * move + vol_b * np.sqrt(1 - INTRA_VAR) * zb[1])
    intraday = np.column_stack([intra, *b_intra])
    del intra
    overnight = np.column_stack([night, *b_night])
    del night
    start = np.concatenate(
        [rng.uniform(np.log(15.0), np.log(400.0), n_stk), np.log([p for p, _, _ in BOND_PARAMS])]
    )
    path = np.add(intraday, overnight, out=overnight)  # in place, the same sums, cumulated
    np.cumsum(path, axis=0, out=path)
    np.add(start, path, out=path)
    log_open = np.vstack([start, path])
    return log_open, intraday, z_in, alpha, sigma_m


def _analysts(rng: np.random.Generator, alpha_next: np.ndarray):
    """Raw calls and confidences of the six analysts: each sees ``alpha_next + noise``."""
    n_days, n_stk = alpha_next.shape
    signal = np.zeros((6, n_days, n_stk), np.int8)
    conf = np.zeros((6, n_days, n_stk))
    step = max(1, _BLOCK_CELLS // max(1, n_stk))  # days per block of the elementwise work
    for j, noise in enumerate(ANALYST_NOISE):
        z = (alpha_next + noise * rng.standard_normal(alpha_next.shape)) / np.hypot(1.0, noise)
        signal[j] = np.where(z > SIGNAL_Z, 1, np.where(z < -SIGNAL_Z, -1, 0))
        style = rng.standard_normal(z.shape)
        for a in range(0, n_days, step):  # elementwise: the temporaries are a block's only
            conf[j, a : a + step] = _confidence(j, np.abs(z[a : a + step]), style[a : a + step])
        del z, style
    nan = (signal[3] == 0) & (rng.random(alpha_next.shape) < 0.02)
    conf[3][nan] = np.nan
    return signal, conf


def _confidence(j: int, mag: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Each analyst's confidence style (0..100): see the shared README §2.1 table."""
    if j == 0:  # technical: int 0..77
        return np.clip(np.rint(30.0 * mag + 5.0 * noise), 0, 77)
    if j == 1:  # sentiment
        return np.clip(np.rint(45.0 + 20.0 * mag + 10.0 * noise), 0, 100)
    if j == 2:  # fundamentals: quarters
        return 25.0 * np.clip(np.rint(1.5 * mag + 0.3 * noise), 0, 3)
    if j == 3:  # valuation: one decimal
        return np.round(np.clip(35.0 * mag + 5.0 * noise, 0, 100), 1)
    if j == 4:  # buffett: tens
        return 10.0 * np.clip(np.rint(3.0 + 3.0 * mag + noise), 0, 10)
    return 10.0 * np.clip(np.rint(4.0 + 2.0 * mag + noise), 3, 9)  # ackman


def _screen(rng: np.random.Generator, n_days: int, n_stk: int) -> np.ndarray:
    """Screened universe: a two-state Markov chain per ticker (~95 % eligible)."""
    out = np.empty((n_days, n_stk), bool)
    state = rng.random(n_stk) < 0.95
    for t in range(n_days):
        u = rng.random(n_stk)
        state = np.where(state, u >= 0.01, u < 0.2)
        out[t] = state
    return out


def _cvar_factor(close: np.ndarray) -> np.ndarray:
    """``1 - 0.1 min(|CVaR95|/0.15, 1)`` over the trailing ``CVAR_DAYS`` close-to-close returns."""
    ret = close[1:] / close[:-1] - 1.0
    win = np.lib.stride_tricks.sliding_window_view(ret, CVAR_DAYS, axis=0)  # [n-CVAR+1, K, W]
    n_tail = int(np.ceil(0.05 * CVAR_DAYS))
    out = np.ones((CVAR_DAYS + len(win), close.shape[1]))  # rows before a full window: 1
    # the partition copies its input: CVAR_DAYS floats per (day, ticker) at once would be 480 B
    # per ticker-day (1.2 GB at 1,695 x 1,500), so days go in blocks; each (day, ticker) window
    # is partitioned on its own, so the values do not depend on the block
    step = max(1, _BLOCK_CELLS // max(1, close.shape[1]))
    for a in range(0, len(win), step):
        tail = np.partition(win[a : a + step], n_tail - 1, axis=2)[:, :, :n_tail]
        factor = 1.0 - 0.1 * np.minimum(np.abs(tail.mean(axis=2)) / 0.15, 1.0)
        out[CVAR_DAYS + a : CVAR_DAYS + a + len(factor)] = factor
    return out


def _macro(rng: np.random.Generator, n_all: int):
    """Fed funds rate (level, 60-day trend) and the 2y/10y treasury yields, 2 decimals."""
    drift = rng.choice([0.012, 0.0, -0.008], size=n_all // 100 + 1)
    rate = np.empty(n_all)
    rate[0] = rng.uniform(0.2, 3.0)
    for t in range(1, n_all):
        rate[t] = min(max(rate[t - 1] + drift[t // 100] + 0.01 * rng.standard_normal(), 0.05), 6.0)
    rate = np.round(rate, 2)
    trend = np.round(rate - rate[np.maximum(np.arange(n_all) - 60, 0)], 2)
    common = 0.03 * rng.standard_normal(n_all)
    t2y = np.round(rng.uniform(0.5, 3.0) + np.cumsum(common + 0.02 * rng.standard_normal(n_all)), 2)
    gap = rng.uniform(-0.6, 1.2) + np.cumsum(0.015 * rng.standard_normal(n_all))
    t10y = np.round(t2y + gap, 2)
    return rate, trend, np.maximum(t2y, 0.05), np.maximum(t10y, 0.05)


def macro_agent(mkt: SynthMarket, t: int) -> tuple[float, dict]:
    """Macro agent: Fed funds level (<1.5 low, >4 high) and 60-day trend (±0.5) -> 0.7/0.6/0.5."""
    rate, trend = float(mkt.fed_rate[t]), float(mkt.fed_trend[t])
    level = "Low" if rate < 1.5 else ("High" if rate > 4.0 else "Moderate")
    score = {"Low": 1, "Moderate": 0, "High": -1}[level] - (trend > 0.5) + (trend < -0.5)
    text = f"{level} Fed Funds Rate: {rate:.2f}%"
    text += {"Low": " favors stocks", "High": " favors bonds", "Moderate": ""}[level]
    if abs(trend) > 0.5:
        text += f"; {'Rising' if trend > 0 else 'Falling'} trend ({trend:+.2f}%)"
    signal = "stocks" if score > 0 else ("bonds" if score < 0 else "neutral")
    stock = {"stocks": 0.7, "neutral": 0.6, "bonds": 0.5}[signal]
    neutral = {"signal": "neutral", "details": "Insufficient data for inflation analysis"}
    data = {
        "stock_allocation": stock,
        "bond_allocation": round(1.0 - stock, 1),
        "signal_summary": {
            "stock_signals": int(signal == "stocks"),
            "bond_signals": int(signal == "bonds"),
            "neutral_signals": 2 + int(signal == "neutral"),
        },
        "reasoning": {
            "inflation": neutral,
            "interest_rates": {"signal": signal, "details": text},
            "economic_growth": {**neutral, "details": "Insufficient GDP data available"},
        },
    }
    return stock, {"_portfolio_data": data}


def forward_agent(mkt: SynthMarket, t: int) -> tuple[float, dict]:
    """Forward-looking agent: stock allocation from the VIX level (see ``VIX_LEVELS``)."""
    vix = float(mkt.vix[t])
    _, stock, text = next(row for row in VIX_LEVELS if vix < row[0])
    data = {
        "stock_allocation": stock,
        "bond_allocation": round(1.0 - stock, 1),
        "current_vix": vix,
        "reasoning": text.format(vix),
    }
    return stock, {"_portfolio_data": data}
