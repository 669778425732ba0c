"""Hyperparameter search that cannot peek: optuna (TPE, seeded) over the model config, scored only
on the validation slices inside each training window.

A trial sets the searched keys (``model.ridge.alpha``, ``model.gbm.num_leaves``, ``train.lr``, ..)
on the config, fits each searched window's model on the window's own training part and scores
its validation part (``models.train.split_window``: purged, before the window's serve days).
The score is the mean validation MSE over the windows (in the target's units, lower is better):
data after the last searched window's validation labels cannot change a trial's score or the
choice. A later window's training and validation days are an earlier window's serve days, so the
chosen setting is free of look-ahead only for the days after every searched window's labels
(``TuneResult.serves_from``, written to ``tune.json``). By default only the first window is
searched: its labels end before any window serves, so the setting may pretrain every window.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.families import fit_view, get_family
from models.pretrain import PretrainData, plan_windows, prepare
from models.train import split_window
from simulator.core.atomic import write_atomic
from simulator.core.errors import ConfigError

__all__ = [
    "TUNE_FILE",
    "TuneResult",
    "parse_space",
    "with_value",
    "score_config",
    "searched_windows",
    "serves_from",
    "score_trial",
    "sampler",
    "suggest",
    "tune",
]

TUNE_FILE = "tune.json"  # next to registry.json


@dataclass(frozen=True)
class Param:
    """One searched key: a float/int range (``log`` scale or not) or a list of choices."""

    key: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class TuneResult:
    """The trials (one row each: number, the values, score, val IC), the best one, the file."""

    trials: pd.DataFrame
    best: dict[str, Any]
    best_score: float
    path: Path | None
    # the first day (index, ISO date) after every searched window's labels: a model pretrained
    # with the best setting serves that day or later without the search having read it
    serves_from: tuple[int, str] = (0, "")


def parse_space(space: Mapping[str, Any]) -> list[Param]:
    """``{key: {low, high, log?, int?} | {choices: [...]}}`` as Params (keys are config paths)."""
    out = []
    for key, spec in space.items():
        if not isinstance(spec, Mapping):
            raise ConfigError("tune space", "each key needs a mapping", key=key, got=spec)
        if "choices" in spec:
            out.append(Param(key, choices=tuple(spec["choices"])))
            continue
        lo, hi = spec.get("low"), spec.get("high")
        if lo is None or hi is None or not lo < hi or (spec.get("log") and lo <= 0):
            raise ConfigError("tune space", "bad range", key=key, low=lo, high=hi,
                              expected="low < high (> 0 with log)")  # fmt: skip
        out.append(Param(key, float(lo), float(hi), bool(spec.get("log")), bool(spec.get("int"))))
    return out


def _is_int(cfg: Any, key: str) -> bool:
    """Whether the dotted ``key``'s current value in ``cfg`` is an int (not a bool)."""
    for part in key.split("."):
        cfg = getattr(cfg, part)
    return isinstance(cfg, int) and not isinstance(cfg, bool)


def with_value(cfg: Any, key: str, value: Any) -> Any:
    """``cfg`` with the dotted ``key`` (e.g. ``model.ridge.alpha``) set to ``value`` (validated by
    the section's own checks)."""
    head, _, rest = key.partition(".")
    if not dataclasses.is_dataclass(cfg) or head not in {f.name for f in dataclasses.fields(cfg)}:
        raise ConfigError("tune space", "unknown config key", key=key)
    current = getattr(cfg, head)
    inner = with_value(current, rest, value) if rest else value
    if not rest and isinstance(current, int) and not isinstance(current, bool):
        if isinstance(inner, float) and not inner.is_integer():  # e.g. lags=2.0976 would run
            raise ConfigError("tune space", "an integer key got a fraction", key=key, value=inner,
                              fix="add int: true to its range")  # fmt: skip
        inner = int(inner) if isinstance(inner, float) else inner
    try:
        return dataclasses.replace(cfg, **{head: inner})
    except (ValueError, TypeError) as exc:
        raise ConfigError("tune space", str(exc), key=key, value=value) from None


def searched_windows(data: PretrainData, cfg: Any, windows: Sequence[str] | None) -> list:
    """The planned ``(window, entry)`` pairs a search scores: those named in ``windows``, or by
    default the first one only (the setting may then pretrain every window: ``serves_from``)."""
    plan = plan_windows(data, cfg)
    if windows is None:
        return plan[:1]
    known = {w.id for w, _ in plan}
    unknown = [x for x in windows if x not in known]
    if unknown:
        span = f"one of {plan[0][0].id}..{plan[-1][0].id}" if plan else "none"
        raise ConfigError("tune", "unknown window", window=unknown[0], expected=span)
    return [(w, e) for w, e in plan if w.id in windows]


def serves_from(data: PretrainData, searched: Sequence) -> tuple[int, str]:
    """The first day after the ``searched`` windows' labels (``label_end_max + 1``; the pairs of
    ``searched_windows``), and its date ("" past the store's end)."""
    day = max(e.label_end_max for _, e in searched) + 1
    return day, (str(np.asarray(data.dates)[day])[:10] if day < len(data.dates) else "")


def score_config(data: PretrainData, cfg: Any, windows: Sequence[str] | None = None) -> dict:
    """Mean validation MSE and IC over the searched windows (``windows``: ids; default the first
    window, ``searched_windows``): each window fit on its training part, scored on its validation
    part only."""
    family = get_family(cfg.model.family)
    fit_fs = fit_view(data.fs, cfg.model)
    mses, ics = [], []
    for w, e in searched_windows(data, cfg, windows):
        # the validation part of the points it learns from (model.train_points), scored on the
        # prediction points among them (all of them at the default)
        split = split_window(w, fit_fs, cfg.train.val_frac)
        on = data.fs.sample[split.val_t, split.val_k]
        val_t, val_k = split.val_t[on], split.val_k[on]
        res = family.fit(w, fit_fs, data.tickers, cfg, e.seed, init=None)
        pred = np.asarray(res.predictor.predict(fit_fs, val_t, val_k, data.tickers))
        y = np.asarray(fit_fs.y[val_t, val_k], dtype=np.float64)
        ok = np.isfinite(pred) & np.isfinite(y)
        mses.append(float(np.mean((pred[ok] - y[ok]) ** 2)))
        ics.append(float(np.corrcoef(pred[ok], y[ok])[0, 1]) if ok.sum() > 2 else math.nan)
    if not mses:
        raise ConfigError("tune", "no window to score", windows=windows)
    return {"val_mse": float(np.mean(mses)), "val_ic": float(np.nanmean(ics))}


def score_trial(data: PretrainData, cfg: Any, values: Mapping[str, Any], windows) -> dict:
    """The objective of every backend: ``cfg`` with ``values`` set, scored by ``score_config``."""
    for k, v in values.items():
        cfg = with_value(cfg, k, v)
    return score_config(data, cfg, windows)


def sampler(seed: int) -> Any:
    """The seeded TPE sampler both backends search with."""
    import optuna  # pinned in setup.cfg

    return optuna.samplers.TPESampler(seed=seed)


def suggest(trial: Any, p: Param) -> Any:
    """``p``'s value for an optuna trial (the same distributions on every backend)."""
    if p.choices is not None:
        return trial.suggest_categorical(p.key, list(p.choices))
    if p.integer:
        return trial.suggest_int(p.key, int(p.low), int(p.high), log=p.log)
    return trial.suggest_float(p.key, p.low, p.high, log=p.log)


def tune(
    source: Any,
    cfg: Any,
    space: Mapping[str, Any],
    *,
    trials: int = 20,
    seed: int = 0,
    windows: Sequence[str] | None = None,
    models_dir: Path | None = None,
    ray: Mapping[str, Any] | None = None,
) -> TuneResult:
    """Search ``space`` with optuna's TPE sampler (seeded with ``seed``) for ``trials`` trials,
    minimising ``score_config``'s validation MSE; with ``models_dir``, write
    ``models_dir/tune.json`` atomically. Same inputs and seed give the same file.

    ``ray``: run the trials through Ray Tune instead (``models.tune_ray.search``'s keyword
    arguments: ``workers``, ``address``, ``concurrency``); Ray is checked before anything runs."""
    import optuna  # pinned in setup.cfg

    if ray is not None:
        from models.tune_ray import require_ray_tune

        require_ray_tune()
    params = parse_space(space)
    data = prepare(source, cfg)
    searched = searched_windows(data, cfg, windows)  # unknown ids refused before any trial
    windows = [w.id for w, _ in searched]  # what every trial scores
    for p in params:  # every key valid before the first trial
        with_value(cfg, p.key, p.choices[0] if p.choices else p.low)
        if p.choices is None and not p.integer and _is_int(cfg, p.key):
            raise ConfigError("tune space", "an integer key has a float range", key=p.key,
                              low=p.low, high=p.high, fix="add int: true to its range")  # fmt: skip
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if ray is not None:
        from models.tune_ray import search

        rows = search(data, cfg, params, trials=trials, seed=seed, windows=windows,
                      storage=models_dir, **ray)  # fmt: skip
        done = [r for r in rows if math.isfinite(r["val_mse"])]
        best_row = min(done, key=lambda r: r["val_mse"])  # the first of equals, as optuna
        best, best_score = {p.key: best_row[p.key] for p in params}, float(best_row["val_mse"])
    else:
        rows, best, best_score = _search_local(data, cfg, params, trials, seed, windows)
    result = TuneResult(pd.DataFrame(rows), best, best_score, None, serves_from(data, searched))
    if models_dir is not None:
        path = _write(models_dir, result, cfg, space, windows, seed=seed, trials=trials)
        result = dataclasses.replace(result, path=path)
    return result


def _search_local(data, cfg, params, trials, seed, windows) -> tuple[list, dict, float]:
    import optuna  # pinned in setup.cfg

    study = optuna.create_study(direction="minimize", sampler=sampler(seed))
    rows = []

    def objective(trial: Any) -> float:
        values = {p.key: suggest(trial, p) for p in params}
        s = score_trial(data, cfg, values, windows)
        rows.append({"trial": trial.number, **values, **s})
        return s["val_mse"]

    study.optimize(objective, n_trials=trials)
    return rows, dict(study.best_trial.params), float(study.best_value)


def _write(models_dir, result: TuneResult, cfg, space, windows, *, seed, trials) -> Path:
    doc = {"family": cfg.model.family, "seed": seed, "trials": trials, "space": dict(space),
           "windows": list(windows),
           "serves_from": {"day": result.serves_from[0], "date": result.serves_from[1],
                           "meaning": "a model pretrained with the best setting may serve this "
                                      "day or later; earlier days were read by the search"},
           "score": "mean validation MSE over the windows (lower is better)",
           "best": result.best, "best_score": result.best_score,
           "table": json.loads(result.trials.to_json(orient="records", double_precision=15)),
           }  # fmt: skip
    return write_atomic(Path(models_dir) / TUNE_FILE, json.dumps(doc, indent=1) + "\n")


def tune_csv(result: TuneResult) -> str:
    """The trials table as CSV."""
    buf = io.StringIO()
    result.trials.to_csv(buf, index=False, float_format="%.10g", lineterminator="\n")
    return buf.getvalue()
