"""Optional run tracking (`--mlflow URI`): a finished command's outputs copied to an MLflow store.

The JSON/CSV files stay the source of truth: this module only reads them, after they are written.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from simulator.core.errors import WfsimError

__all__ = [
    "Record",
    "Tracker",
    "TrackingError",
    "flatten",
    "numeric",
    "param_value",
    "resolve_uri",
    "open_tracker",
    "pretrain_record",
    "replay_record",
    "study_record",
]

DB_NAME = "mlflow.db"
ARTIFACTS = "mlartifacts"
_BATCH = 100  # params per log_batch call (MLflow's limit; metrics: 1000)
_BAD_KEY = re.compile(r"[^\w\-. /]")


class TrackingError(WfsimError):
    """MLflow is missing, its store cannot be opened, or logging to it failed."""


class Record(NamedTuple):
    """One MLflow run to log: params, metrics, per-window metrics, artifacts, nested runs."""

    name: str
    params: dict[str, str]
    metrics: dict[str, float]
    steps: dict[str, list[tuple[int, float]]]  # metric -> [(window index, value)]
    artifacts: list[tuple[Path, str | None]]  # (file, folder inside the run's artifacts)
    tags: dict[str, str]
    children: tuple[Record, ...] = ()


def flatten(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one level with dotted keys.

    >>> flatten({"a": {"b": 1, "c": {"d": [2]}}, "e": "x"})
    {'a.b': 1, 'a.c.d': [2], 'e': 'x'}
    """
    flat: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat |= flatten(value, f"{name}.")
        else:
            flat[name] = value
    return flat


def numeric(doc: Mapping[str, Any]) -> dict[str, float]:
    """The finite numbers (not booleans) of ``flatten(doc)``, as floats.

    >>> numeric({"m": {"sharpe": 1.5, "n": 3, "start": "2022", "beta": None, "ok": True}})
    {'m.sharpe': 1.5, 'm.n': 3.0}
    """
    return {
        k: float(v)
        for k, v in flatten(doc).items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }


def param_value(value: Any) -> str:
    """A config value as an MLflow param: strings as they are, anything else as JSON.

    >>> [param_value(v) for v in ("lstm", 0.001, True, None, [1, 2])]
    ['lstm', '0.001', 'true', 'null', '[1, 2]']
    """
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _key(text: str) -> str:
    """A metric name MLflow accepts (word characters, ``-. /``): ``lstm (x2)`` -> ``lstm_x2``."""
    return re.sub(r"\s+", "_", _BAD_KEY.sub("", text).strip())


def resolve_uri(uri: str) -> tuple[str, str | None]:
    """The tracking URI and the artifact location of new experiments.

    A plain directory means a local store in it: ``sqlite:///DIR/mlflow.db`` with artifacts in
    ``DIR/mlartifacts`` (MLflow 3.17 refuses its plain-file store unless the environment says
    ``MLFLOW_ALLOW_FILE_STORE=true``). A ``sqlite:///F.db`` URI keeps its artifacts beside the
    database (MLflow would put them in ``./mlruns`` of the working directory); any other URI
    (``file:``, ``http:``) is MLflow's, with its default artifact location.
    """
    if "://" not in uri:
        root = Path(uri).expanduser().resolve()
        root.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{root / DB_NAME}", (root / ARTIFACTS).as_uri()
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///") :]).expanduser().resolve()
        db.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{db}", (db.parent / ARTIFACTS).as_uri()
    return uri, None


def _import_mlflow(uri: str):
    """``mlflow.tracking.MlflowClient``, or a ``TrackingError`` saying how to install it."""
    # offline by default: no usage telemetry to mlflow.org unless the user asked for it
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        raise TrackingError(
            "--mlflow", "mlflow is not installed", uri=uri, expected="the wfsim[mlflow] extra",
            fix=f"pip install 'wfsim[mlflow]' ({exc.name or exc})",
        ) from None  # fmt: skip
    return MlflowClient


class Tracker:
    """An open MLflow store and experiment; ``log`` writes one ``Record`` (and its children)."""

    def __init__(self, client: Any, experiment_id: str, uri: str) -> None:
        self.client, self.experiment_id, self.uri = client, experiment_id, uri

    @classmethod
    def open(cls, uri: str, experiment: str = "wfsim") -> Tracker:
        """Import mlflow, open the store at ``uri`` and get or create ``experiment``; call it
        before the command writes anything, so a missing extra or a bad URI stops it first."""
        client_cls = _import_mlflow(uri)
        tracking, artifacts = resolve_uri(uri)
        try:
            client = client_cls(tracking_uri=tracking)
            found = client.get_experiment_by_name(experiment)
            eid = found.experiment_id if found else client.create_experiment(experiment, artifacts)
        except ImportError as exc:  # e.g. sqlalchemy for a sqlite store
            fix = f"pip install 'wfsim[mlflow]' ({exc.name or exc})"
            raise TrackingError(
                "--mlflow", "a store dependency is missing", uri=uri, fix=fix
            ) from None
        except Exception as exc:  # MlflowException and friends: one line, before any output
            err = _first_line(exc)
            raise TrackingError("--mlflow", "cannot open the store", uri=uri, error=err) from None
        return cls(client, eid, tracking)

    def record(self, build: Callable[..., Record], *args: Any) -> str:
        """``log(build(*args))``: the outputs read into a ``Record`` and logged; any failure, in
        reading or logging, is a ``TrackingError`` (the outputs are only read)."""
        try:
            rec = build(*args)
        except Exception as exc:
            raise TrackingError(
                f"--mlflow {self.uri}", "cannot read the outputs to log", error=_first_line(exc),
            ) from None  # fmt: skip
        return self.log(rec)

    def log(self, record: Record, parent: str | None = None) -> str:
        """Log ``record`` as a finished run (nested under ``parent``); its run id. A failure ends
        the MLflow run as FAILED and raises ``TrackingError``; the command's files are untouched."""
        from mlflow.entities import Metric, Param

        tags = dict(record.tags) | ({"mlflow.parentRunId": parent} if parent else {})
        run = self.client.create_run(self.experiment_id, run_name=record.name, tags=tags)
        rid = run.info.run_id
        try:
            now = run.info.start_time
            params = [Param(k, v) for k, v in record.params.items()]
            metrics = [Metric(k, v, now, 0) for k, v in record.metrics.items()]
            metrics += [Metric(k, v, now, i) for k, vs in record.steps.items() for i, v in vs]
            for i in range(0, max(len(params), len(metrics)), _BATCH):
                self.client.log_batch(rid, metrics[i : i + _BATCH], params[i : i + _BATCH])
            for path, folder in record.artifacts:
                self.client.log_artifact(rid, str(path), folder)
            for child in record.children:
                self.log(child, parent=rid)
        except TrackingError:
            self.client.set_terminated(rid, "FAILED")
            raise
        except Exception as exc:
            self.client.set_terminated(rid, "FAILED")
            raise TrackingError(
                f"--mlflow {self.uri}", "logging failed after the outputs were written",
                run=record.name, error=_first_line(exc), fix="the JSON/CSV outputs are complete",
            ) from None  # fmt: skip
        self.client.set_terminated(rid, "FINISHED")
        return rid


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def open_tracker(uri: str | None, experiment: str = "wfsim") -> Tracker | None:
    """``Tracker.open(uri, experiment)``, or None without a URI (tracking off)."""
    return None if uri is None else Tracker.open(uri, experiment)


def _tags(command: str, out: Path, doc: Mapping[str, Any]) -> dict[str, str]:
    tags = {"wfsim.command": command, "wfsim.out": str(Path(out).resolve())}
    tags |= {f"wfsim.{k}": str(doc[k]) for k in ("config_hash", "strategy") if k in doc}
    return tags | {f"wfsim.version.{k}": str(v) for k, v in doc.get("versions", {}).items()}


def _files(root: Path, patterns: tuple[str, ...] = ("*.json", "*.csv")) -> list[tuple[Path, Any]]:
    """Every file under ``root`` matching ``patterns`` with its folder relative to ``root``."""
    found = sorted({p for pat in patterns for p in root.rglob(pat) if p.is_file()})
    return [(p, p.parent.relative_to(root).as_posix() if p.parent != root else None) for p in found]


def _window_index(window: Any) -> int | None:
    """``w007`` -> 7; None for anything else (``-``: days no window served)."""
    found = re.fullmatch(r"w(\d+)", str(window))
    return int(found.group(1)) if found else None


def replay_record(out: Path) -> Record:
    """A replay's ``summary.json`` (params: its config; metrics: its numbers but the config and
    versions), ``windows.csv`` (per-window metrics, step = window index) and its JSON/CSV files."""
    import pandas as pd

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    cfg = summary.get("config", {})
    params = {k: param_value(v) for k, v in flatten(cfg).items()}
    metrics = numeric({k: v for k, v in summary.items() if k not in ("config", "versions")})
    steps: dict[str, list[tuple[int, float]]] = {}
    if (out / "windows.csv").is_file():
        table = pd.read_csv(out / "windows.csv")
        for col in table.columns.drop("window"):
            if pd.api.types.is_numeric_dtype(table[col]):
                pairs = zip(map(_window_index, table["window"]), table[col], strict=True)
                steps[f"window.{col}"] = [(i, float(v)) for i, v in pairs
                                          if i is not None and math.isfinite(v)]  # fmt: skip
    return Record(out.name, params, metrics, steps, _files(out), _tags("replay", out, summary))


def pretrain_record(models: Path, config: Mapping[str, Any]) -> Record:
    """A registry's OOS quality (``simulator.study_quality.model_metrics``: pooled IC, ...), each
    window's metrics (step = window index), ``registry.json`` and each window's metadata.json."""
    from simulator.study_quality import model_metrics

    registry = json.loads((models / "registry.json").read_text(encoding="utf-8"))
    done = [e for e in registry["windows"] if e.get("status") == "done"]
    metrics = {"windows": float(len(registry["windows"])), "windows_done": float(len(done))}
    metrics |= numeric(model_metrics(models)) if done else {}
    steps: dict[str, list[tuple[int, float]]] = {}
    for e in done:
        for k, v in numeric(e.get("metrics", {})).items():
            steps.setdefault(f"window.{k}", []).append((_window_index(e["id"]), v))
    artifacts = [(models / "registry.json", None)]
    artifacts += [(models / e["path"] / "metadata.json", e["path"]) for e in done]
    params = {k: param_value(v) for k, v in flatten(config).items()}
    tags = _tags("pretrain", models, registry)
    return Record(f"pretrain {models.name}", params, metrics, steps, artifacts, tags)


def study_record(out: Path, config: Mapping[str, Any], families, seeds) -> Record:
    """A study: params = its config + families and seeds, metrics = every number of study.csv
    (``<row>.<column>``), artifacts = study.csv and config-study.yaml; one nested run per replay
    in ``out/runs``."""
    import pandas as pd

    table = pd.read_csv(out / "study.csv")
    metrics: dict[str, float] = {}
    for row in table.to_dict("records"):
        name = _key(str(row["row"]))
        metrics |= {f"{name}.{k}": v for k, v in numeric(row).items()}
    params = {k: param_value(v) for k, v in flatten(config).items()}
    params |= {"study.families": ",".join(families), "study.seeds": param_value(list(seeds))}
    runs = sorted(p for p in (out / "runs").iterdir() if (p / "summary.json").is_file())
    files = [(out / f, None) for f in ("study.csv", "config-study.yaml") if (out / f).is_file()]
    children = tuple(replay_record(p) for p in runs)
    return Record(f"study {out.name}", params, metrics, {}, files, _tags("study", out, {}),
                  children)  # fmt: skip
