"""Risk analytics of a daily return series: tails, rolling risk, regimes, stress windows, factor
regressions, probabilistic and deflated Sharpe. Pure numpy/pandas; every rule is stated below."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from simulator.core.errors import WfsimError

__all__ = [
    "TRADING_DAYS",
    "RegimeRule",
    "STRESS_WINDOWS",
    "FACTOR_FILES",
    "var_cvar",
    "tail_risk",
    "rolling_risk",
    "classify_regimes",
    "regime_table",
    "stress_table",
    "load_factors",
    "factor_regression",
    "probabilistic_sharpe",
    "deflated_sharpe",
]

TRADING_DAYS = 252
"""Trading days per year; equal to ``metrics.TRADING_DAYS`` (a unit test checks it)."""

STRESS_WINDOWS = (
    ("2022 bear market", "2022-04-01", "2022-10-12"),
    ("2023 March banking stress", "2023-03-08", "2023-03-31"),
    ("Aug 2024 volatility spike", "2024-07-16", "2024-08-07"),
)
"""(name, first date, last date), both inclusive: the named stress windows of `stress_table`.

2022: from the recorded run's first day to the S&P 500's 2022 closing low (2022-10-12);
2023: from SVB's capital-raise announcement (03-08) to the end of the month; 2024: from the
S&P 500's July peak (07-16) through the 08-05 VIX spike to the rebound (08-07)."""

FACTOR_FILES = {"ff3": "ff_3factor_daily.csv", "ff5": "ff_5factor_daily.csv"}
"""Fama–French daily factor files by model name (the shared data set's benchmarks folder)."""

_NORMAL = NormalDist()
_EULER_GAMMA = 0.5772156649015329


@dataclass(frozen=True, kw_only=True, slots=True)
class RegimeRule:
    """SPY regime of day t from the compounded SPY return over the ``lookback_days`` trading
    days ending at the close of t−1 (known before the open of t): above ``bull_above`` → bull,
    below ``bear_below`` → bear, else sideways; too little SPY history before t → unknown."""

    lookback_days: int = 63
    bull_above: float = 0.05
    bear_below: float = -0.05

    def __post_init__(self) -> None:
        if self.lookback_days < 1 or not self.bear_below <= self.bull_above:
            raise WfsimError(
                "RegimeRule",
                "bad parameters",
                lookback_days=self.lookback_days,
                bear_below=self.bear_below,
                bull_above=self.bull_above,
                expected="lookback_days >= 1 and bear_below <= bull_above",
            )


def _array(returns: pd.Series | np.ndarray) -> np.ndarray:
    x = np.asarray(returns, dtype=np.float64)
    if x.ndim != 1 or x.size == 0 or not np.isfinite(x).all():
        raise WfsimError("risk", "returns must be a non-empty finite 1-D series",
                         n=x.size, n_nonfinite=int((~np.isfinite(x)).sum()))  # fmt: skip
    return x


def var_cvar(returns: pd.Series | np.ndarray, level: float) -> tuple[float, float]:
    """Historical one-day VaR and CVaR at confidence ``level``, as losses (positive = loss).

    With α = 1 − level: VaR = −q_α(r), the α-quantile of the daily returns with linear
    interpolation between order statistics (``np.percentile``'s default); CVaR = −mean of the
    k = ⌊(n − 1)·α⌋ + 1 smallest returns. These are the negatives of empyrical's
    ``value_at_risk`` and ``conditional_value_at_risk`` at ``cutoff=α``. CVaR ≥ VaR always.

    Examples
    --------
    >>> var_cvar(np.array([-0.04, -0.02, 0.0, 0.01, 0.03]), 0.75)  # q_.25 = -0.02, k = 2
    (0.02, 0.03)
    """
    x = _array(returns)
    if not 0.0 < level < 1.0:
        raise WfsimError("risk", "VaR level outside (0, 1)", level=level, expected="e.g. 0.95")
    alpha = 1.0 - level
    var = -float(np.percentile(x, 100.0 * alpha))
    k = int((x.size - 1) * alpha) + 1
    cvar = -float(np.mean(np.partition(x, k - 1)[:k]))
    return round(var, 15) + 0.0, round(cvar, 15) + 0.0


def tail_risk(returns: pd.Series | np.ndarray) -> dict[str, float]:
    """``var95, cvar95, var99, cvar99`` of `var_cvar` (daily, losses as positive numbers)."""
    out = {}
    for level, tag in ((0.95, "95"), (0.99, "99")):
        out[f"var{tag}"], out[f"cvar{tag}"] = var_cvar(returns, level)
    return out


def rolling_risk(returns: pd.Series, benchmark: pd.Series | None, window: int) -> pd.DataFrame:
    """Trailing ``window``-day Sharpe (rf = 0), volatility and beta, annualised, by date.

    The value at date t uses the ``window`` returns ending at t inclusive (a description of the
    past, never an input to a decision): ``sharpe`` = mean/std·√252, ``vol`` = std·√252 (ddof=1),
    ``beta`` = cov(r, b)/var(b) against ``benchmark`` on the same dates (NaN where a date of the
    window lacks a benchmark return). The first ``window − 1`` dates are NaN.
    """
    r = pd.Series(_array(returns), index=pd.DatetimeIndex(returns.index))
    roll = r.rolling(window, min_periods=window)
    std = roll.std(ddof=1)
    root = math.sqrt(TRADING_DAYS)
    out = pd.DataFrame({"sharpe": roll.mean() / std * root, "vol": std * root}, index=r.index)
    if benchmark is not None:
        b = pd.Series(np.asarray(benchmark, float), index=pd.DatetimeIndex(benchmark.index))
        b = b[~b.index.duplicated(keep="last")].reindex(r.index)
        out["beta"] = r.rolling(window, min_periods=window).cov(b) / b.rolling(window).var()
    else:
        out["beta"] = np.nan
    return out.replace([np.inf, -np.inf], np.nan)


def classify_regimes(
    spy: pd.Series, dates: pd.DatetimeIndex, rule: RegimeRule | None = None
) -> pd.Series:
    """Regime label (``bull``/``bear``/``sideways``/``unknown``) of each date, by `RegimeRule`.

    The trailing return is Π(1 + SPY_s) − 1 over the ``lookback_days`` SPY trading days strictly
    before the date; a date before SPY's ``lookback_days + 1``-th day is ``unknown``.

    Examples
    --------
    >>> spy = pd.Series([0.1, -0.2, 0.0, 0.01], index=pd.bdate_range("2024-01-01", periods=4))
    >>> classify_regimes(spy, spy.index, RegimeRule(lookback_days=1)).tolist()
    ['unknown', 'bull', 'bear', 'sideways']
    """
    rule = rule or RegimeRule()
    s = pd.Series(np.asarray(spy, float), index=pd.DatetimeIndex(spy.index)).sort_index()
    dates = pd.DatetimeIndex(dates)
    growth = np.concatenate([[0.0], np.cumsum(np.log1p(s.to_numpy()))])  # log W before row i
    before = s.index.searchsorted(dates, side="left")  # number of SPY days strictly before
    start = before - rule.lookback_days
    ok = start >= 0
    x = np.full(len(dates), np.nan)
    x[ok] = np.expm1(growth[before[ok]] - growth[start[ok]])
    label = np.where(x > rule.bull_above, "bull", np.where(x < rule.bear_below, "bear", "sideways"))
    return pd.Series(np.where(ok, label, "unknown"), index=dates, name="regime")


def _period_stats(x: np.ndarray) -> dict[str, float]:
    n = x.size
    total = float(np.prod(1.0 + x) - 1.0)
    std = float(np.std(x, ddof=1)) if n > 1 else math.nan
    root = math.sqrt(TRADING_DAYS)
    return {
        "n_days": n,
        "total_return": total,
        "ann_return": (1.0 + total) ** (TRADING_DAYS / n) - 1.0 if total > -1 else -1.0,
        "ann_vol": std * root,
        "sharpe": float(np.mean(x)) / std * root if std > 0 else math.nan,
    }


def regime_table(returns: pd.Series, regimes: pd.Series) -> pd.DataFrame:
    """Per regime: ``n_days``, ``total_return`` (compounded over the regime's days, which need not
    be contiguous), ``ann_return`` = (1+total)^(252/n) − 1, ``ann_vol``, ``sharpe`` (rf = 0).

    Rows in the order bull, bear, sideways, unknown; regimes with no day are left out.
    """
    x = pd.Series(_array(returns), index=pd.DatetimeIndex(returns.index))
    lab = regimes.reindex(x.index).fillna("unknown")
    rows = {
        name: _period_stats(x[lab == name].to_numpy())
        for name in ("bull", "bear", "sideways", "unknown")
        if (lab == name).any()
    }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("regime")


def stress_table(
    returns: pd.Series, windows: tuple[tuple[str, str, str], ...] = STRESS_WINDOWS
) -> pd.DataFrame:
    """Per stress window that overlaps the dates of ``returns``: its declared ``start``/``end``,
    ``n_days`` of the series inside it, ``total_return`` compounded over those days and
    ``max_drawdown`` ≤ 0 of the wealth path that starts at 1 on entering the window."""
    x = pd.Series(_array(returns), index=pd.DatetimeIndex(returns.index))
    rows = []
    for name, start, end in windows:
        part = x[(x.index >= pd.Timestamp(start)) & (x.index <= pd.Timestamp(end))].to_numpy()
        if part.size == 0:
            continue
        wealth = np.cumprod(1.0 + part)
        dd = wealth / np.maximum(np.maximum.accumulate(wealth), 1.0) - 1.0
        rows.append({"window": name, "start": start, "end": end, "n_days": part.size,
                     "total_return": float(wealth[-1] - 1.0),
                     "max_drawdown": float(min(dd.min(), 0.0))})  # fmt: skip
    cols = ["window", "start", "end", "n_days", "total_return", "max_drawdown"]
    return pd.DataFrame(rows, columns=cols)


def load_factors(path: Path) -> pd.DataFrame:
    """A Fama–French daily factor CSV (``Date,Mkt-RF,SMB,HML[,RMW,CMA],RF``) indexed by date.

    Units: decimal daily returns (0.0072 = 0.72 %), i.e. Kenneth French's percent values divided
    by 100 — as the shared files are (Mkt-RF + RF tracks SPY: correlation 0.995, equal std). A
    file whose |Mkt-RF| exceeds 0.5 on some day is taken to be in percent and refused.

    Raises
    ------
    WfsimError
        Missing file, no ``Mkt-RF``/``RF`` column, non-numeric cells, repeated dates, percent
        units.
    """
    path = Path(path)
    if not path.is_file():
        raise WfsimError(str(path), "factor file not found", fix="check the path")
    frame = pd.read_csv(path, index_col=0)
    missing = [c for c in ("Mkt-RF", "RF") if c not in frame.columns]
    if missing:
        raise WfsimError(str(path), "missing factor columns", missing=",".join(missing))
    try:
        index = pd.DatetimeIndex(pd.to_datetime(frame.index, format="%Y-%m-%d"), name="date")
        frame = frame.astype(np.float64).set_axis(index)
    except (ValueError, TypeError) as exc:
        raise WfsimError(
            str(path), f"unparseable row ({exc})", expected="ISO date, numbers"
        ) from None
    if index.has_duplicates or frame.isna().any().any():
        repeated, empty = int(index.duplicated().sum()), int(frame.isna().sum().sum())
        raise WfsimError(str(path), "repeated dates or empty cells", repeated=repeated, empty=empty)
    top = float(frame["Mkt-RF"].abs().max())
    if top > 0.5:
        raise WfsimError(
            str(path),
            "factors look like percent",
            max_abs_mkt_rf=top,
            expected="decimal daily returns",
            fix="divide the file by 100",
        )
    return frame.sort_index()


def factor_regression(returns: pd.Series, factors: pd.DataFrame) -> dict[str, float]:
    """OLS of daily excess returns on the factors: r_t − RF_t = a + Σ_j β_j·F_{j,t} + ε_t.

    RF_t is the factor file's own RF column (same source and units as the factors); the
    regressors are every other column. Returns ``n``, ``alpha`` (a, daily), ``alpha_ann`` = 252·a
    (arithmetic, as ``metrics`` annualises CAPM alpha), ``alpha_t`` = a / se(a) with the
    classical OLS standard errors (s² = RSS/(n − p − 1), no HAC correction), ``r2`` and
    ``beta_<factor>`` per factor. All NaN when the factors miss a date of ``returns`` (never
    computed over fewer days) or n ≤ p + 1.
    """
    r = pd.Series(_array(returns), index=pd.DatetimeIndex(returns.index))
    names = [c for c in factors.columns if c != "RF"]
    nan = {"n": len(r), "alpha": math.nan, "alpha_ann": math.nan, "alpha_t": math.nan,
           "r2": math.nan, **{f"beta_{c}": math.nan for c in names}}  # fmt: skip
    if not r.index.isin(factors.index).all() or len(r) <= len(names) + 1:
        return nan
    f = factors.loc[r.index]
    y = r.to_numpy() - f["RF"].to_numpy()
    x = np.column_stack([np.ones(len(r)), f[names].to_numpy()])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    dof = len(r) - x.shape[1]
    s2 = float(resid @ resid) / dof
    se_a = math.sqrt(s2 * float(np.linalg.inv(x.T @ x)[0, 0]))
    tss = float(((y - y.mean()) ** 2).sum())
    out = {"n": len(r), "alpha": float(coef[0]), "alpha_ann": float(coef[0]) * TRADING_DAYS,
           "alpha_t": float(coef[0]) / se_a if se_a > 0 else math.nan,
           "r2": 1.0 - float(resid @ resid) / tss if tss > 0 else math.nan}  # fmt: skip
    out.update({f"beta_{c}": float(b) for c, b in zip(names, coef[1:], strict=True)})
    return out


def _sharpe_moments(x: np.ndarray) -> tuple[float, float, float]:
    """Daily Sharpe mean/std (ddof=1), skewness γ3 and (non-excess) kurtosis γ4 (population)."""
    d = x - x.mean()
    m2 = float(np.mean(d**2))
    sr = float(np.mean(x) / np.std(x, ddof=1))
    return sr, float(np.mean(d**3)) / m2**1.5, float(np.mean(d**4)) / m2**2


def probabilistic_sharpe(returns: pd.Series | np.ndarray, sr_benchmark: float = 0.0) -> float:
    """Probabilistic Sharpe ratio (Bailey & López de Prado 2012): P(true SR > ``sr_benchmark``).

    PSR = Φ( (SR − SR*)·√(n − 1) / √(1 − γ3·SR + (γ4 − 1)/4·SR²) ), with SR the *daily*
    (non-annualised) Sharpe mean/std (ddof=1, rf = 0), SR* = ``sr_benchmark`` (daily), γ3 the
    skewness and γ4 the kurtosis (3 for a normal) of the daily returns, both population moments.
    NaN for n < 3, zero variance, or a non-positive variance term.
    """
    x = _array(returns)
    if x.size < 3 or float(np.std(x)) == 0.0:
        return math.nan
    sr, skew, kurt = _sharpe_moments(x)
    var = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr**2
    if var <= 0.0:
        return math.nan
    return _NORMAL.cdf((sr - sr_benchmark) * math.sqrt(x.size - 1) / math.sqrt(var))


def deflated_sharpe(returns: pd.Series | np.ndarray, trial_sharpes: np.ndarray) -> float:
    """Deflated Sharpe ratio (Bailey & López de Prado 2014): PSR against the expected maximum
    Sharpe of N unskilled trials.

    SR0 = √V · ((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e))), γ = 0.5772… (Euler–Mascheroni),
    N = len(``trial_sharpes``) (here: the runs compared), V = their variance (ddof=1); the
    trial Sharpes are daily (non-annualised) like SR. DSR = `probabilistic_sharpe`(returns, SR0).
    NaN for N < 2 or any non-finite trial Sharpe.
    """
    trials = np.asarray(trial_sharpes, dtype=np.float64)
    n = trials.size
    if n < 2 or not np.isfinite(trials).all():
        return math.nan
    z1, z2 = _NORMAL.inv_cdf(1.0 - 1.0 / n), _NORMAL.inv_cdf(1.0 - 1.0 / (n * math.e))
    sr0 = math.sqrt(float(np.var(trials, ddof=1))) * ((1 - _EULER_GAMMA) * z1 + _EULER_GAMMA * z2)
    return probabilistic_sharpe(returns, sr0)


def daily_sharpe(returns: pd.Series | np.ndarray) -> float:
    """mean/std (ddof=1) of the daily returns, not annualised (the trials of `deflated_sharpe`)."""
    x = _array(returns)
    std = float(np.std(x, ddof=1)) if x.size > 1 else 0.0
    return float(np.mean(x)) / std if std > 0 else math.nan
