"""Out-of-sample metrics of window predictions: direction accuracy, precision, recall, F1, IC."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from models.ic import daily_ic, mean_t
from simulator.core.errors import RegistryError

__all__ = ["direction_metrics", "oos_metrics", "report_frame", "weights_status", "KEPT"]

KEPT = "kept predecessor"
"""``weights_status`` of a warm-started window whose best epoch was 0: its predecessor's weights
were never beaten on validation, so the window serves them unchanged (it was not trained)."""


def weights_status(metrics: dict) -> str:
    """``"trained"``, or ``KEPT`` for a warm start whose best epoch is 0 (an entry's metrics).

    >>> weights_status({"warm": True, "best_epoch": 0}), weights_status({"best_epoch": 0})
    ('kept predecessor', 'trained')
    """
    return KEPT if metrics.get("warm") and metrics.get("best_epoch") == 0 else "trained"


def _ratio(num: int, den: int) -> float:
    return num / den if den else math.nan


def direction_metrics(n: int, agree: int, tp: int, pred_up: int, up: int) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of the up class from counts: ``n`` pairs, ``agree`` with
    (pred > 0) == (y > 0), ``tp`` with both up, ``pred_up`` predicted up, ``up`` realised up.
    Undefined values (no pair, no predicted or realised up) are NaN.

    >>> m = direction_metrics(n=4, agree=3, tp=1, pred_up=1, up=2)  # F1 = 2 * 1 * .5 / 1.5
    >>> {k: round(v, 4) for k, v in m.items()}
    {'accuracy': 0.75, 'precision': 1.0, 'recall': 0.5, 'f1': 0.6667}
    """
    precision, recall = _ratio(tp, pred_up), _ratio(tp, up)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else math.nan
    return {"accuracy": _ratio(agree, n), "precision": precision, "recall": recall, "f1": f1}


def oos_metrics(
    t: np.ndarray, pred: np.ndarray, y: np.ndarray, horizon: int = 1
) -> dict[str, float]:
    """Metrics of predictions ``pred`` against realised returns ``y`` on days ``t``.

    Direction: class "up" is ``y > 0``, predicted "up" is ``pred > 0``; accuracy is the share of
    matching signs; precision, recall and F1 are those of the up class. IC / rank IC: the daily
    cross-sectional Pearson / Spearman correlation (``models.ic.daily_ic``, days with at least
    ``MIN_NAMES_PER_DAY`` names), averaged over days, with the t-statistic of that mean
    (``models.ic.mean_t``; overlap-robust with ``horizon - 1`` lags when the target spans
    ``horizon`` days). Pairs with a non-finite ``y`` (label not yet known) are left out.
    Undefined values (no predicted up, no day with enough names) are NaN.

    Examples
    --------
    >>> t, y = np.zeros(4, int), np.array([1.0, -1, -1, 1])
    >>> m = oos_metrics(t, np.array([1.0, -1, 1, -1]), y)
    >>> m["accuracy"], m["precision"], m["recall"], m["n"]
    (0.5, 0.5, 0.5, 4)
    """
    t = np.asarray(t)
    pred = np.asarray(pred, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(y) & np.isfinite(pred)
    t, pred, y = t[ok], pred[ok], y[ok]
    up, pred_up = y > 0, pred > 0
    tp = int(np.sum(up & pred_up))
    agree = int(np.sum(up == pred_up))
    direction = direction_metrics(len(y), agree, tp, int(pred_up.sum()), int(up.sum()))
    days = daily_ic(t, pred, y)
    ic, ic_t, _ = mean_t(days.ic, horizon - 1)
    ric, ric_t, _ = mean_t(days.rank_ic, horizon - 1)
    return {
        "n": int(ok.sum()),
        "days": int(np.unique(t).size),
        **direction,
        "ic": ic,
        "ic_t": ic_t,
        "rank_ic": ric,
        "rank_ic_t": ric_t,
    }


REPORT_COLUMNS = (
    "n",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "ic",
    "ic_t",
    "rank_ic",
    "rank_ic_t",
)


def read_predictions(path: Path, window: str) -> pd.DataFrame:
    """A window's ``predictions.parquet``; a missing or unreadable file is a RegistryError."""
    import pyarrow as pa

    try:
        return pd.read_parquet(path)
    except FileNotFoundError:
        reason = "predictions file missing"
    except (OSError, pa.ArrowException) as exc:
        reason = f"predictions file unreadable ({type(exc).__name__})"
    raise RegistryError(str(path), reason, window=window, fix="rerun `wfsim pretrain`")


def report_frame(models_dir: Path) -> pd.DataFrame:
    """OOS metrics per finished window, recomputed from its ``predictions.parquet``, plus two rows.

    ``mean``: the average of the window rows (``n`` summed). ``pooled``: the metrics of all
    windows' predictions together (its IC t-statistic spans every served day).
    """
    from models.registry import Registry

    reg = Registry.load(Path(models_dir))
    h = int(reg.info.get("horizon", 1))  # recorded by pretrain when it is not 1
    rows, frames = [], []
    for e in reg.entries:
        if e.status != "done":
            continue
        p = read_predictions(reg.root / e.path / "predictions.parquet", e.id)
        frames.append(p)
        m = oos_metrics(p["t"].to_numpy(), p["pred"].to_numpy(), p["y"].to_numpy(), h)
        serve = f"{e.serve_dates[0]}..{e.serve_dates[1]}"
        rows.append({"window": e.id, "serve": serve, **m, "weights": weights_status(e.metrics)})
    if not rows:
        raise RegistryError(
            str(reg.path), "no finished window to report", fix="run `wfsim pretrain` first"
        )
    table = pd.DataFrame(rows)
    mean = {"window": "mean", "serve": "", **table[list(REPORT_COLUMNS)].mean().to_dict()}
    mean["n"] = int(table["n"].sum())
    allp = pd.concat(frames, ignore_index=True)
    m = oos_metrics(allp["t"].to_numpy(), allp["pred"].to_numpy(), allp["y"].to_numpy(), h)
    pooled = {
        "window": "pooled",
        "serve": f"{rows[0]['serve'][:10]}..{rows[-1]['serve'][-10:]}",
        **m,
    }
    out = pd.concat([table, pd.DataFrame([mean, pooled])], ignore_index=True)
    return out[["window", "serve", *REPORT_COLUMNS, "weights"]]
