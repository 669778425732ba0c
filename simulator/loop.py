"""The replay event loop: sync → predict → decide → fill at the open → mark at the close."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import structlog

from agents.base import DayView, DecisionMaker, concat_orders, empty_orders, readonly
from episodes.panel import Panel
from models.ic import daily_ic
from models.infoset import InfoSet, ServingUniverse, has_data
from models.windows import from_config
from simulator.books import Books
from simulator.config import RunConfig
from simulator.core.errors import ConfigError, RegistryError
from simulator.kernels.records import BUY, SHORT, Orders, fill_dt
from simulator.panel_map import RELEASE_DAYS, release_panel
from simulator.runs import Marks
from simulator.sync import SyncStats, baseline_bond_weights, bond_orders, plan_sync, sync_stats

__all__ = [
    "Predictor",
    "RunResult",
    "order_dt",
    "run_replay",
    "risk_fractions",
    "consensus_tickers",
    "has_data",
]

log = structlog.get_logger(__name__)

# the orders a strategy decided (before the books clip them), one row per order
order_dt = np.dtype(
    [("day", np.int32), ("k", np.int32), ("action", np.int8), ("qty", np.int64),
     ("reason", np.int8)]
)  # fmt: skip


class Predictor(Protocol):
    """Model predictions for day t: ``(k_idx int32[m], pred float64[m])`` (``ModelPredictor``).

    ``window_of(t)`` names the model serving day t (``model_swapped`` is logged when it changes).
    Raises ``RegistryError`` when no model serves t (the day's decisions are then skipped; one
    with ``abort = True``, a corrupt artifact, stops the replay).
    """

    def __call__(self, t: int) -> tuple[np.ndarray, np.ndarray]: ...

    def window_of(self, t: int) -> str: ...


@dataclass(frozen=True, eq=False)
class RunResult:
    """One replay: every fill and decided order, daily marks and counts. Arrays cover ``days``."""

    strategy: str
    days: np.ndarray  # [n] int64 panel day indices replayed
    dates: np.ndarray  # [n] datetime64[D]
    fills: np.ndarray  # fill_dt rows of every day, in execution sequence
    orders: np.ndarray  # order_dt rows: what was decided (sync, strategy, bond sleeve)
    marks: Marks  # [n] daily marks at the close (simulator.runs.Marks)
    initial_nav: float
    n_long: np.ndarray  # [n] open long stock positions after the close
    n_short: np.ndarray  # [n] open short stock positions after the close
    n_pred: np.ndarray  # [n] predictions the strategy received
    ic: np.ndarray  # [n] rank IC of the day's predictions vs open(t)->open(t+h) (NaN: none)
    hits: np.ndarray  # [n] predictions whose sign matched the realised return
    window: np.ndarray  # [n] object: window id serving the day (cfg.windows)
    skipped: dict[str, int]  # reason -> days whose decisions were skipped
    sync: SyncStats
    stale: np.ndarray  # [m, 2] int64 (day, k) sync closes at the last recorded close
    model_swaps: int
    elapsed_s: float
    # [5, n] int64 per day, up class (pred > 0 vs realised > 0): pairs evaluated, agreeing, both
    # up, predicted up, realised up (models.evaluate.direction_metrics); None: not evaluated
    direction: np.ndarray | None = None


def consensus_tickers(panel: Panel, info: InfoSet) -> np.ndarray:
    """[T, K] the day's consensus tickers: ``InfoSet.prediction_points`` (strict: the risk list of
    episode t−1 within the universe of t), the random strategy's candidates."""
    return info.prediction_points(panel, has_data(panel))


def risk_fractions(panel: Panel, t: int, info: InfoSet) -> np.ndarray:
    """[K] risk limit as a fraction of its base, from episode ``info.risk_episode(t)``.

    ``strict``: episode t−1 (the risk manager of episode t ran with day-t data, shared README §6);
    ``recorded``: episode t; none before day 0 (all NaN). ``risk_limit / risk_base`` clipped to
    [0, 1]; 0 for every ticker when the base is ≤ 0 (the recorded cash was negative: the manager
    allowed nothing); NaN where the ticker was not on that episode's list (no limit known: not
    opened). The feature ``risk_limit_frac`` reads the same episode but is not clipped (a model
    input, 0 + ``risk_missing`` where unknown).
    """
    s = info.risk_episode(t)
    out = np.full(panel.n_tickers, np.nan)
    if s is None:
        return out
    base = float(panel.risk_base[s])
    lim = np.where(panel.on_risk[s], panel.risk_limit[s], np.nan)
    if not base > 0:
        return np.where(np.isfinite(lim), 0.0, np.nan)
    return np.clip(lim / base, 0.0, 1.0)


def run_replay(
    panel: Panel,
    strategy: DecisionMaker,
    cfg: RunConfig,
    *,
    predictor: Predictor | Callable[[int], tuple[np.ndarray, np.ndarray]] | None = None,
    first_day: int | None = None,
) -> RunResult:
    """Replay ``strategy`` on one continuous account from ``first_day`` to the panel's last day.

    Each day t: (1) position sync (``simulator.sync.plan_sync``); (2) predictions for t, when the
    strategy needs them; (3) the strategy's orders from a ``DayView`` of what is known before the
    open (book, close(t−1), NAV at close(t−1), the allowed risk fractions); (4) the bond sleeve
    (``replay.bond_sleeve``); (5) one ``Books.execute`` at open(t): sync closes, the strategy's
    closes and openings, then bonds, in that order; (6) ``Books.mark`` at close(t) over the day's
    priced tickers. The cap strength is ``|pred|`` (0 without a prediction); the decision cap is
    ≤ the books' cap, so it never triggers. ``first_day`` defaults to the first serving day
    (``windows.initial``), so every strategy covers the same days.

    Raises
    ------
    ConfigError
        A bad ``first_day``, or a strategy
        that needs predictions without a predictor.
    """
    t0 = time.perf_counter()
    first = _check(panel, strategy, cfg, predictor, first_day)
    r, info = cfg.replay, InfoSet.resolve(cfg.features.info_set)
    books = Books(panel.n_tickers, panel.is_bond, r.initial_cash, **r.account.kwargs())
    win_id = _window_ids(panel.n_days, cfg)
    universe = ServingUniverse.resolve(r.universe)
    cands = universe.points(info, panel, has_data(panel))
    bond_w = baseline_bond_weights(panel)
    last_close = _last_close_before(panel, first)
    acc = _Acc(panel.n_days - first)
    nav_prev, model_prev = r.initial_cash, None
    for i, t in enumerate(range(first, panel.n_days)):
        if i % RELEASE_DAYS == 0:  # a mapped Panel's pages read so far (simulator.panel_map)
            release_panel(panel)
        plan = plan_sync(panel, t, books.long, books.short, last_close, r.sync)
        k_idx, pred, skip = np.empty(0, np.int32), np.empty(0), False
        if strategy.needs_predictions:
            model = predictor.window_of(t) if hasattr(predictor, "window_of") else win_id[t]
            if model != model_prev:
                log.info(
                    "model_swapped", day=str(panel.dates[t]), window=model, previous=model_prev
                )
                acc.swaps += model_prev is not None
                model_prev = model
            try:
                k_idx, pred = predictor(t)
            except RegistryError as exc:
                if getattr(exc, "abort", False):  # a corrupt artifact: stop, do not skip
                    raise
                skip = acc.skip(t, "no_model", panel, str(exc))
        view = _view(
            panel, t, books, plan.closing, (k_idx, pred, cands[t]), nav_prev, (info, universe)
        )
        decided = empty_orders() if skip else strategy.decide(view)
        _check_decided(decided, view, t)
        bonds = empty_orders()
        if strategy.trades_bonds and r.bond_sleeve == "mirror":
            bonds = bond_orders(bond_w[t], books.long, nav_prev, view.prev_close, panel.is_bond)
        orders = concat_orders(plan.orders, decided, bonds)
        strength = np.zeros(panel.n_tickers)
        strength[view.k_idx] = np.abs(view.pred)
        fills = books.execute(t, orders, plan.price, strength)
        nav_prev = acc.record(i, t, books, panel, last_close, orders, fills, plan)
        acc.preds(i, view.k_idx, view.pred)
        last_close = np.where(np.isfinite(panel.close[t]), panel.close[t], last_close)
    acc.evaluate(panel, first, cfg.features.horizon)
    release_panel(panel)
    return acc.result(strategy.name, panel, first, win_id, r.initial_cash, t0)


def _check(panel, strategy, cfg, predictor, first_day) -> int:
    if strategy.needs_predictions and predictor is None:
        raise ConfigError("replay", f"strategy {strategy.name!r} needs a predictor (--models)")
    first = min(cfg.windows.initial, panel.n_days - 1) if first_day is None else int(first_day)
    if not 0 <= first < panel.n_days:
        raise ConfigError("replay", "first_day out of range", first_day=first,
                          expected=f"in [0, {panel.n_days})")  # fmt: skip
    return first


def _window_ids(n_days: int, cfg: RunConfig) -> np.ndarray:
    """[T] window id serving each day under ``cfg.windows`` ('' before the first serve day)."""
    ids = np.full(n_days, "", dtype=object)
    if n_days > cfg.windows.initial:
        for w in from_config(cfg.windows).split(n_days):
            ids[w.serve.start : w.serve.stop] = w.id
    return ids


def _last_close_before(panel: Panel, t: int) -> np.ndarray:
    """[K] the last finite close on a day < t (NaN if none)."""
    out = np.full(panel.n_tickers, np.nan)
    c = panel.close[:t]
    ok = np.isfinite(c)
    if len(c):
        last = np.where(ok.any(axis=0), t - 1 - np.argmax(ok[::-1], axis=0), -1)
        has = last >= 0
        out[has] = c[last[has], np.flatnonzero(has)]
    return out


def _view(panel, t, books, closing, inputs, nav_prev, sets) -> DayView:
    """The DayView of day t: only what is known before the open (see agents.base.DayView)."""
    k_idx, pred, cand = inputs
    info, universe = sets
    prev_close = panel.close[t - 1].copy() if t > 0 else np.full(panel.n_tickers, np.nan)
    tradable = (panel.eligible[t] & ~panel.is_bond & ~closing
                & np.isfinite(prev_close) & (prev_close > 0))  # fmt: skip
    return DayView(
        t=t,
        k_idx=readonly(np.asarray(k_idx, np.int32)),
        pred=readonly(np.asarray(pred, np.float64)),
        candidates=readonly(np.flatnonzero(cand).astype(np.int32)),
        tradable=readonly(tradable),
        prev_close=readonly(prev_close),
        risk_frac=readonly(universe.risk_fractions(risk_fractions(panel, t, info), cand)),
        nav=float(nav_prev),
        cash=books.cash,
        long=readonly(books.long),
        short=readonly(books.short),
        closing=readonly(closing),
        is_bond=readonly(panel.is_bond),
    )


def _check_decided(o: Orders, view: DayView, t: int) -> None:
    """A strategy may not trade bonds or a ticker being synced, nor open an untradable one."""
    bad = view.is_bond[o.k] | view.closing[o.k]
    bad |= ((o.action == BUY) | (o.action == SHORT)) & ~view.tradable[o.k]
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ValueError(f"day {t}: strategy order on ticker {int(o.k[j])} not allowed "
                         "(bond, being synced, or not tradable)")  # fmt: skip


class _Acc:
    """Per-day records of a run (preallocated), turned into a RunResult at the end."""

    def __init__(self, n: int) -> None:
        self.fills: list[np.ndarray] = []
        self.orders: list[np.ndarray] = []
        self.f8 = np.full((8, n), np.nan)  # nav cash long short gross net ic hits
        self.i8 = np.zeros((3, n), np.int64)  # n_long n_short n_pred
        self.skipped: dict[str, int] = {}
        self.stale: list[tuple[int, int]] = []
        self.n_mirror = 0
        self.pred: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.direction = np.zeros((5, n), np.int64)
        self.swaps = 0

    def skip(self, t: int, reason: str, panel: Panel, detail: str) -> bool:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        log.info("day_skipped", day=str(panel.dates[t]), reason=reason, detail=detail)
        return True

    def record(self, i, t, books, panel, last_close, orders, fills, plan) -> float:
        held = (books.long > 0) | (books.short > 0)
        close = np.where(np.isfinite(panel.close[t]), panel.close[t], last_close)
        keys = panel.order(t)
        missing = held.copy()
        missing[keys] = False
        if missing.any():
            raise AssertionError(f"day {t}: held tickers outside the day's universe "
                                 f"{np.flatnonzero(missing)[:5].tolist()}")  # fmt: skip
        nav, le, se, ge, ne = books.mark(close, keys)
        self.f8[:6, i] = (nav, books.cash, le, se, ge, ne)
        stock = ~panel.is_bond
        self.i8[0, i] = np.count_nonzero((books.long > 0) & stock)
        self.i8[1, i] = np.count_nonzero((books.short > 0) & stock)
        self.fills.append(fills)
        o = np.empty(len(orders.k), order_dt)
        o["day"], o["k"], o["action"], o["qty"], o["reason"] = t, *orders[:4]
        self.orders.append(o)
        n_sync = len(plan.orders.k)
        filled = fills["qty"][:n_sync] > 0  # sync rows come first and never trigger the cap
        self.stale += [(t, int(k)) for k in plan.orders.k[plan.stale & filled]]
        self.n_mirror += int((plan.mirrored & filled).sum())
        return float(nav)

    def preds(self, i: int, k_idx: np.ndarray, pred: np.ndarray) -> None:
        self.i8[2, i] = len(k_idx)
        if len(k_idx):
            self.pred.append((np.full(len(k_idx), i), k_idx, pred))

    def evaluate(self, panel: Panel, first: int, horizon: int) -> None:
        """Evaluation only (after the run): daily rank IC and sign hits vs open(t)->open(t+h)."""
        if not self.pred:
            return
        i, k, pred = (np.concatenate(c) for c in zip(*self.pred, strict=True))
        t = i + first
        later = np.minimum(t + horizon, panel.n_days - 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            y = np.where(
                t + horizon < panel.n_days, panel.open[later, k] / panel.open[t, k] - 1, np.nan
            )
        ok = np.isfinite(y) & np.isfinite(pred)
        n = self.f8.shape[1]
        self.f8[7] = np.bincount(i[ok], np.sign(pred[ok]) == np.sign(y[ok]), minlength=n)
        self.f8[6] = daily_ic(i[ok], pred[ok], y[ok], n).rank_ic
        up, pred_up = y[ok] > 0, pred[ok] > 0
        counts = (np.ones_like(up), up == pred_up, up & pred_up, pred_up, up)
        self.direction = np.stack([np.bincount(i[ok], c, minlength=n) for c in counts])

    def result(self, name, panel, first, win_id, initial, t0) -> RunResult:
        days = np.arange(first, panel.n_days, dtype=np.int64)
        fills = np.concatenate(self.fills) if self.fills else np.empty(0, fill_dt)
        nav = self.f8[0]
        prev = np.concatenate([[initial], nav[:-1]])
        marks = Marks(nav, *self.f8[1:6], (nav - prev) / prev)
        sync = sync_stats(fills, len(self.stale), self.n_mirror)
        stale = np.array(self.stale, np.int64).reshape(-1, 2)
        return RunResult(
            strategy=name, days=days, dates=panel.dates[days], fills=fills,
            orders=np.concatenate(self.orders) if self.orders else np.empty(0, order_dt),
            marks=marks, initial_nav=float(initial), n_long=self.i8[0], n_short=self.i8[1],
            n_pred=self.i8[2], ic=self.f8[6], hits=np.nan_to_num(self.f8[7]).astype(np.int64),
            window=win_id[days], skipped=dict(sorted(self.skipped.items())), sync=sync,
            stale=stale, model_swaps=self.swaps, elapsed_s=time.perf_counter() - t0,
            direction=self.direction.astype(np.int64),
        )  # fmt: skip
