"""What the app shows and runs, without streamlit: the folders around a store, the model family's
options (read generically from ``models.config``), replays, studies and the comparison figures.

A workspace is the folder holding the store (``wfsim demo`` lays one out: ``store/``, ``models/``,
``runs/<name>/``): model registries are its folders with a ``registry.json``, runs its folders with
a ``summary.json`` (searched a few levels deep); new replays go to ``<workspace>/runs/<name>``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from models.config import FAMILIES, ModelConfig
from simulator.core.errors import ConfigError

__all__ = ["FAMILIES", "Workspace", "compare_runs", "family_options", "run_overrides"]

_DEPTH = 4  # folder levels searched below the workspace for runs and registries


@dataclasses.dataclass(frozen=True)
class Workspace:
    """The folder around ``store``: its model registries and runs (sorted paths).

    >>> Workspace.of(Path("/nonexistent/store")).runs()
    []
    """

    store: Path
    root: Path

    @classmethod
    def of(cls, store: Path | str) -> Workspace:
        store = Path(store).expanduser()
        return cls(store, store.parent)

    def check(self) -> None:
        if not (self.store / "manifest.json").is_file():
            fix = "`wfsim episodes ingest` or `wfsim demo`"
            raise ConfigError(str(self.store), "not an episode store",
                              expected="a folder with manifest.json", fix=fix)  # fmt: skip

    def _find(self, marker: str) -> list[Path]:
        out = []
        for depth in range(1, _DEPTH + 1):
            out += [p.parent for p in self.root.glob("/".join(["*"] * depth) + "/" + marker)]
        return sorted(set(out))

    def runs(self) -> list[Path]:
        return self._find("summary.json")

    def registries(self) -> list[Path]:
        return self._find("registry.json")

    def label(self, path: Path) -> str:
        return str(path.relative_to(self.root))


def family_options(family: str) -> dict[str, Any]:
    """The config keys (dotted) a family's models read, with their defaults: whatever
    ``models.families.model_section`` hashes for it, so a new family or option shows up alone.

    >>> family_options("embed-gbm")["model.embed_gbm.embeddings"]
    True
    >>> sorted(family_options("lstm"))[:2]
    ['model.attention', 'model.dropout']
    """
    from models.families import model_section

    if family not in FAMILIES:
        raise ConfigError("app", "unknown model family", family=family,
                          expected=f"one of {', '.join(FAMILIES)}")  # fmt: skip
    m = ModelConfig(family=family)
    out: dict[str, Any] = {}
    _walk(m, model_section(m), out)
    return out


def _walk(m: ModelConfig, section: dict[str, Any], out: dict[str, Any]) -> None:
    for key, val in section.items():
        attr = key.replace("-", "_")
        sub = getattr(m, attr, None)
        if dataclasses.is_dataclass(sub):
            for f in dataclasses.fields(sub):
                out[f"model.{attr}.{f.name}"] = getattr(sub, f.name)
        elif isinstance(val, dict):
            _walk(m, val, out)
        elif hasattr(m, attr) and attr not in ("family", "target"):
            out[f"model.{attr}"] = getattr(m, attr)


def run_overrides(family: str, values: dict[str, Any]) -> dict[str, Any]:
    """The ``load_config`` overrides of the app's choices: the family and the options changed."""
    defaults = family_options(family)
    changed = {k: v for k, v in values.items() if k in defaults and v != defaults[k]}
    return {"model.family": family, **changed}


def compare_runs(run_dirs: Sequence[Path], benchmarks: Path | None = None):
    """``(frame, figures)``: the comparison table (a DataFrame by label) and the report's plotly
    figure specs (``simulator.results.report_interactive.figures``) of ``run_dirs``."""
    import pandas as pd

    from simulator import pipeline
    from simulator.results.compare import comparison_records
    from simulator.results.report_interactive import figures

    got = pipeline.load_inputs(list(run_dirs), benchmarks_dir=benchmarks)
    res = pipeline.compare(list(run_dirs), benchmarks_dir=benchmarks)
    frame = pd.DataFrame(comparison_records(res.table)).set_index("label")
    figs = figures(got.runs, res.table, benchmark=got.spy, risk=res.risk)
    return frame, figs, list(res.table.notes)
