"""The streamlit page of `wfsim app` (run by ``streamlit run page.py -- --store S``).

Sidebar: the store and the model family with its options (``workspace.family_options``, generic:
every option the family's models read, e.g. embed-gbm's ``embeddings`` on/off). Tabs: compare runs
(the report's charts), replay a strategy, pretrain, run a study. Everything runs through
``simulator.pipeline`` / ``simulator.study``, as the CLI does.
"""

from __future__ import annotations

import argparse
import sys

import streamlit as st

from simulator.app.workspace import FAMILIES, Workspace, compare_runs, family_options, run_overrides


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", default="wfsim-demo/store")
    return ap.parse_args(sys.argv[1:])


def _options(family: str) -> dict:
    values = {}
    for key, default in family_options(family).items():
        name = key.removeprefix("model.")
        if isinstance(default, bool):
            values[key] = st.sidebar.toggle(name, value=default, key=f"{family}:{key}")
        elif isinstance(default, int):
            values[key] = int(st.sidebar.number_input(name, value=default, key=f"{family}:{key}"))
        elif isinstance(default, float):
            values[key] = float(st.sidebar.number_input(name, value=default, format="%g",
                                                        key=f"{family}:{key}"))  # fmt: skip
        else:
            values[key] = st.sidebar.text_input(name, value=str(default), key=f"{family}:{key}")
    return values


def _compare(ws: Workspace) -> None:
    runs = ws.runs()
    labels = [ws.label(p) for p in runs]
    st.write(f"{len(runs)} runs in {ws.root}: " + ", ".join(labels))
    chosen = st.multiselect("runs to compare", labels, default=labels)
    if not chosen:
        return
    frame, figs, notes = compare_runs([ws.root / c for c in chosen])
    st.dataframe(frame)
    for note in notes:
        st.caption(f"note: {note}")
    for name, spec in figs.items():  # plotly figure dicts, as in the report's tearsheet
        st.subheader(name)
        st.plotly_chart(spec, key=f"fig-{name}")


def _replay(ws: Workspace, cfg) -> None:
    from simulator import pipeline
    from simulator.strategies import STRATEGIES, STRATEGY_NAMES

    strategy = st.selectbox("strategy", sorted(STRATEGIES))
    regs = [ws.label(p) for p in ws.registries()]
    models = st.selectbox("models", regs) if strategy in STRATEGY_NAMES and regs else None
    name = st.text_input("run name", value=strategy)
    if st.button("replay"):
        with st.spinner("replaying"):
            res = pipeline.replay(strategy, ws.store, ws.root / "runs" / name, cfg,
                                  ws.root / models if models else None)  # fmt: skip
        (st.error if res.error else st.success)(res.line)


def _pretrain(ws: Workspace, cfg) -> None:
    from simulator import pipeline

    name = st.text_input("models folder", value=f"models-{cfg.model.family}")
    if st.button("pretrain"):
        with st.spinner("pretraining"):
            pipeline.pretrain(ws.store, ws.root / name, cfg)
        st.success(f"pretrained {ws.root / name}")


def _study(ws: Workspace, cfg) -> None:
    from simulator.study import study

    families = st.multiselect("families", FAMILIES, default=[cfg.model.family])
    seeds = st.number_input("seeds", min_value=1, max_value=10, value=1)
    out = st.text_input("study folder", value="study")
    if st.button("run study") and families:
        lines: list[str] = []
        with st.spinner("running the study"):
            study(ws.store, ws.root / out, cfg, tuple(families), range(int(seeds)), lines.append)
        st.code("\n".join(lines))


def main() -> None:
    from simulator.config import load_config

    st.set_page_config(page_title="wfsim", layout="wide")
    st.title("wfsim")
    store = st.sidebar.text_input("store", value=_args().store)
    ws = Workspace.of(store)
    try:
        ws.check()
    except Exception as exc:  # a bad path typed in the box: say so, keep the page
        st.error(str(exc))
        return
    family = st.sidebar.selectbox("model family", FAMILIES)
    cfg = load_config(overrides=run_overrides(family, _options(family)))
    compare, replay, pretrain, study = st.tabs(["compare runs", "replay", "pretrain", "study"])
    with compare:
        _compare(ws)
    with replay:
        _replay(ws, cfg)
    with pretrain:
        _pretrain(ws, cfg)
    with study:
        _study(ws, cfg)


main()
