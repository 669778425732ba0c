"""The information set: which episode's agent outputs may inform day t, resolved once from config.

Features (``models.features``), prediction points (``models.targets``) and the replay's risk
fractions (``simulator.loop``) all ask this one object; none of them compares the set's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models.config import INFO_SET_LAGS
from simulator.core.errors import ConfigError

__all__ = [
    "InfoSet",
    "STRICT",
    "RECORDED",
    "ServingUniverse",
    "UNIVERSES",
    "CONSENSUS",
    "ELIGIBLE",
    "has_data",
]


def has_data(panel: Any) -> np.ndarray:
    """[T, K] bool: stock k has an open and a close on day t-1 (known before the open of t); never
    a bond. ``FeatureSet.has_data``, without building the features."""
    out = np.zeros((panel.n_days, panel.n_tickers), dtype=bool)
    out[1:] = np.isfinite(panel.close[:-1]) & np.isfinite(panel.open[:-1])
    out &= ~panel.is_bond[None, :]
    return out


@dataclass(frozen=True)
class InfoSet:
    """An information set: its name and the agent lag it implies (``models.config.INFO_SET_LAGS``).

    The agents of episode s ran with data up to the close of s (shared README §6), so their outputs
    (analyst signals, the risk list and limits, allocations) are known only after day s.

    * ``strict`` (``agent_lag = 1``): day t uses the agent outputs of episode t-1. Prediction points
      are ``on_risk[t-1] & eligible[t]`` (yesterday's risk list within today's universe, which is
      known at the open); the risk limits of day t's decisions are those of episode t-1.
    * ``recorded`` (``agent_lag = 0``): day t uses episode t's outputs, as the LLM saw them (leaky).
      Prediction points are ``on_risk[t]``; the risk limits are those of episode t.

    Both intersect the prediction points with ``has_data`` (a close on day t-1).

    Examples
    --------
    >>> strict, recorded = InfoSet.resolve("strict"), InfoSet.resolve("recorded")
    >>> strict
    InfoSet(name='strict', agent_lag=1)
    >>> strict.agent_episode(10), strict.risk_episode(10), strict.agent_episode(0)
    (9, 9, None)
    >>> recorded.agent_episode(10), recorded.risk_episode(10), recorded.agent_episode(0)
    (10, 10, 0)
    >>> strict.agent_rows(np.array([1.0, 2.0, 3.0]))
    array([nan,  1.,  2.])
    >>> from types import SimpleNamespace
    >>> p = SimpleNamespace(on_risk=np.array([[1, 1], [0, 1], [1, 0]], bool),
    ...                     eligible=np.array([[1, 1], [1, 0], [1, 1]], bool))
    >>> has = np.ones((3, 2), bool)
    >>> strict.prediction_points(p, has).astype(int).tolist()  # day 1: ticker 1 left the universe
    [[0, 0], [1, 0], [0, 1]]
    >>> recorded.prediction_points(p, has).astype(int).tolist()
    [[1, 1], [0, 1], [1, 0]]
    >>> InfoSet.resolve("oracle")
    Traceback (most recent call last):
    ...
    simulator.core.errors.ConfigError: features.info_set: unknown information set (value='oracle', expected one of ('strict', 'recorded'))
    """  # noqa: E501

    name: str
    agent_lag: int

    @classmethod
    def resolve(cls, info_set: str | InfoSet) -> InfoSet:
        """The InfoSet named ``info_set`` (``cfg.features.info_set``); an InfoSet passes through.

        Raises
        ------
        ConfigError
            An unknown name.
        """
        if isinstance(info_set, InfoSet):
            return info_set
        if info_set not in INFO_SET_LAGS:
            raise ConfigError(
                "features.info_set",
                "unknown information set",
                value=repr(info_set),
                expected=f"one of {tuple(INFO_SET_LAGS)}",
            )
        return cls(info_set, INFO_SET_LAGS[info_set])

    def agent_episode(self, t: int) -> int | None:
        """The episode whose agent outputs feed day t's features (None: no such episode yet)."""
        s = int(t) - self.agent_lag
        return s if s >= 0 else None

    def risk_episode(self, t: int) -> int | None:
        """The episode whose risk list and limits bound day t's decisions (None: none yet).

        The risk limits are an agent output, so this is ``agent_episode(t)``.
        """
        return self.agent_episode(t)

    def agent_rows(self, values: np.ndarray) -> np.ndarray:
        """``values`` indexed by episode (axis 0) re-indexed by day: row t = episode
        ``agent_episode(t)`` (NaN where there is none). With no lag, ``values`` itself."""
        if self.agent_lag == 0:
            return values
        out = np.full(np.shape(values), np.nan)
        out[self.agent_lag :] = values[: len(values) - self.agent_lag]
        return out

    def prediction_points(self, panel: Any, has_data: np.ndarray) -> np.ndarray:
        """[T, K] bool: the consensus tickers of each day t (the (t, k) a model is asked about).

        The risk list of ``risk_episode(t)``; a list from an earlier episode is screened by day t's
        ``eligible`` universe (known at the open). Always ``& has_data``.
        """
        on_risk = np.asarray(panel.on_risk, dtype=bool)
        if self.agent_lag == 0:
            return on_risk & has_data
        pts = np.zeros_like(on_risk)
        pts[self.agent_lag :] = on_risk[: len(on_risk) - self.agent_lag]
        return pts & panel.eligible & has_data


STRICT = InfoSet.resolve("strict")
RECORDED = InfoSet.resolve("recorded")


UNIVERSES = ("consensus", "eligible")  # replay.universe


@dataclass(frozen=True)
class ServingUniverse:
    """The tickers a replay serves each day (``replay.universe``), resolved once from config.

    * ``consensus`` (default): the information set's prediction points (``InfoSet.prediction_points``,
      the risk manager's tickers as recorded); risk fractions as recorded.
    * ``eligible``: every ticker of day t's screened universe with data (``eligible[t] &
      has_data[t]``, both known at the open). A ticker the risk manager of the risk episode did not
      cover gets the **median recorded limit fraction of that episode** (over the tickers it did
      cover; the previous episode under ``strict``, so known before the open); with none covered it
      stays unknown (NaN: not opened).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> p = SimpleNamespace(on_risk=np.array([[1, 0, 0], [1, 1, 0]], bool),
    ...                     eligible=np.array([[1, 1, 1], [1, 1, 0]], bool))
    >>> has = np.array([[0, 0, 0], [1, 1, 1]], bool)
    >>> ELIGIBLE.points(STRICT, p, has).astype(int).tolist()
    [[0, 0, 0], [1, 1, 0]]
    >>> CONSENSUS.points(STRICT, p, has).astype(int).tolist()
    [[0, 0, 0], [1, 0, 0]]
    >>> frac = np.array([0.2, np.nan, np.nan, 0.4])
    >>> ELIGIBLE.risk_fractions(frac, np.array([1, 1, 0, 1], bool)).tolist()
    [0.2, 0.30000000000000004, nan, 0.4]
    >>> CONSENSUS.risk_fractions(frac, np.ones(4, bool)) is frac
    True
    >>> ServingUniverse.resolve("all")
    Traceback (most recent call last):
    ...
    simulator.core.errors.ConfigError: replay.universe: unknown serving universe (value='all', expected one of ('consensus', 'eligible'))
    """  # noqa: E501

    name: str
    breadth: bool  # serve the whole screened universe, not only the consensus tickers

    @classmethod
    def resolve(cls, name: str | ServingUniverse) -> ServingUniverse:
        """The universe named ``name`` (``cfg.replay.universe``); a ServingUniverse passes through.

        Raises
        ------
        ConfigError
            An unknown name.
        """
        if isinstance(name, ServingUniverse):
            return name
        if name not in UNIVERSES:
            raise ConfigError("replay.universe", "unknown serving universe", value=repr(name),
                              expected=f"one of {UNIVERSES}")  # fmt: skip
        return cls(name, name == "eligible")

    def points(self, info: InfoSet, panel: Any, has_data: np.ndarray) -> np.ndarray:
        """[T, K] bool: the (t, k) served on each day (and the random strategy's candidates)."""
        if not self.breadth:
            return info.prediction_points(panel, has_data)
        return np.asarray(panel.eligible, dtype=bool) & has_data

    def risk_fractions(self, frac: np.ndarray, served: np.ndarray) -> np.ndarray:
        """Day t's [K] risk fractions (``frac``: the recorded ones, NaN where not covered) with the
        rule for a served ticker the risk manager did not cover (class docstring)."""
        known = np.isfinite(frac)
        if not self.breadth or not known.any():
            return frac
        return np.where(~known & served, np.median(frac[known]), frac)


CONSENSUS = ServingUniverse.resolve("consensus")
ELIGIBLE = ServingUniverse.resolve("eligible")
