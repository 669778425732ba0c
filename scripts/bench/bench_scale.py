"""Scaling table: seconds and peak RSS per pipeline stage at 1x, 4x, 16x of a base size.

Each stage runs in its own subprocess (this script with ``--stage``), so its peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is its own; ``base_mb`` is the peak right before
the stage's work (interpreter + imports, torch included where the stage imports it). Stages:
``synth_json`` (episode JSON files) and ``ingest`` (JSON -> store; only up to ``--json-max``
ticker-days), ``synth_store`` (the direct, block-streamed store writer), ``load_panel``,
``load_mapped`` (as a replay loads it, ``simulator.panel_map.replay_panel``: mapped past
``--memory-mb``),
``load_block`` (``load_panel(store, days=range(T - 63 - 21, T))``: one serving block + context,
read from the row groups of those days only),
``features`` (``build_features``; its RSS includes the panel; past ``--memory-mb`` the spilled
builder ``models.feature_file.open_spilled``, from day-range loads, no Panel first),
``features_sliced`` (the spilled builder alone, its blocks views of a loaded Panel; the note
gives its peak over the Panel, from a VmHWM reset), ``pretrain_ridge`` and
``pretrain_lstm`` (one sliding window of ``T - 63`` training days serving the last 63, a tiny
LSTM: hidden 16, 1 layer, 1 epoch of 4,096 samples) and ``replay`` (the llm strategy: the books
over every day). The growth exponent of a stage is the least-squares slope of log(seconds) and
log(peak MB) against log(ticker-days) over the sizes run.

    python scripts/bench/bench_scale.py                      # 424x375, 848x750, 1695x1500
    python scripts/bench/bench_scale.py --sizes 50x60,100x120 --no-append
    python scripts/bench/bench_scale.py --keep DIR ...                 # keep the stores, then
    python scripts/bench/bench_scale.py --keep DIR --stages features,pretrain_ridge --memory-mb 64
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, add_common_args, cores, report

STAGES = (
    "synth_json",
    "ingest",
    "synth_store",
    "load_panel",
    "load_mapped",
    "load_block",
    "features",
    "features_sliced",
    "pretrain_ridge",
    "pretrain_lstm",
    "replay",
)
JSON_STAGES = ("synth_json", "ingest")
SERVE = 63  # the window's serving days (a coarse step)
CONTEXT = 21  # days of context before a serving block (load_block)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _hwm_mb() -> float:
    """This process's peak RSS since the last ``_reset_hwm`` (VmHWM), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return math.nan


_PEAK_BEFORE_RESET = [0.0]  # ru_maxrss before a VmHWM reset (the reset lowers it too)


def _reset_hwm() -> float:
    """Reset VmHWM (and with it ru_maxrss) to the current RSS; that RSS, MB."""
    _PEAK_BEFORE_RESET[0] = max(_PEAK_BEFORE_RESET[0], _peak_mb())
    Path("/proc/self/clear_refs").write_text("5")
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return math.nan


def _cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _cfg(tickers: int, days: int, seed: int, family=None, memory_mb: int = 0, train: int = 0):
    from simulator.config import load_config

    over = {"seed": seed, "synth.tickers": tickers, "synth.days": days}
    over |= {"features.memory_mb": memory_mb}
    over |= {"synth.new_listings": 0.1, "synth.delistings": 0.1}
    over |= {"windows.kind": "sliding", "windows.initial": train or days - SERVE}
    over["windows.step"] = SERVE
    if family == "lstm":
        over |= {"model.hidden": 16, "model.layers": 1, "model.embed_dim": 4}
        over |= {"train.max_epochs": 1, "train.warm_start": False}
    if family:
        over["model.family"] = family
    return load_config(None, over)


def _stage(
    name: str, tickers: int, days: int, seed: int, work: Path, memory_mb: int = 0, train: int = 0
) -> dict:
    """Run one stage in this process; its seconds and peaks."""
    family = name.removeprefix("pretrain_") if "pretrain" in name else None
    cfg = _cfg(tickers, days, seed, family, memory_mb, train)
    eps, store = work / "eps", work / "store"
    if name.startswith("pretrain"):
        import torch  # noqa: F401  (imported before base_mb, as the other stages' imports)
    from episodes.panel import slice_panel
    from episodes.store import ingest, load_panel
    from episodes.synth import write_episodes
    from episodes.synth_store import write_synth_store
    from models.feature_file import build_feature_file, open_spilled, spill_needed
    from models.features import build_features
    from models.pretrain import prepare, pretrain
    from simulator import pipeline
    from simulator.panel_map import plan

    extra = ""
    has_store = name not in ("synth_json", "synth_store") and (store / "manifest.json").is_file()
    man = json.loads((store / "manifest.json").read_text()) if has_store else {}
    n_days, n_tk = len(man.get("dates", ())), len(man.get("tickers", ()))
    spill = bool(man) and spill_needed(cfg.features, n_days, n_tk)
    x_file = Path(tempfile.mkdtemp(prefix="bench_scale_x_")) / ".features.f32"
    preload = name == "features_sliced" or (name == "features" and not spill)
    panel = load_panel(store) if preload else None
    base = _peak_mb()
    t0, c0 = time.perf_counter(), _cpu_s()
    if name == "synth_json":
        write_episodes(eps, cfg.synth, seed)
        extra = f"{sum(p.stat().st_size for p in eps.glob('*.json')) / 1e6:.0f} MB json"
    elif name == "ingest":
        ingest(eps, work / "store_ingested")
    elif name == "synth_store":
        write_synth_store(store, cfg.synth, seed)
        extra = f"{sum(p.stat().st_size for p in store.glob('*.parquet')) / 1e6:.0f} MB parquet"
    elif name == "load_panel":
        panel = load_panel(store)
    elif name == "load_mapped":  # as a replay loads it: mapped past the budget (panel_map)
        import numpy as np

        from simulator.panel_map import replay_panel

        with replay_panel(store, memory_mb, work) as panel:
            mapped = isinstance(panel.close, np.memmap)
            extra = f"{'mapped' if mapped else 'in memory'}, {panel.n_days} days"
    elif name == "load_block":
        panel = load_panel(store, days=range(days - SERVE - CONTEXT, days))
        extra = f"{panel.n_days} days"
    elif name == "features" and spill:  # the spilled builder, from day-range loads of the store
        fs = open_spilled(store, cfg.features, x_file)[0]
        extra = f"x {fs.x.shape} {fs.x.nbytes / 1e6:.0f} MB spilled"
    elif name == "features":
        fs = build_features(panel, cfg.features)
        extra = f"x {fs.x.shape} {fs.x.nbytes / 1e6:.0f} MB"
    elif name == "features_sliced":  # the spilled builder alone: blocks are views of a Panel
        rss = _reset_hwm()  # ru_maxrss still holds the Panel load's transient peak
        fs = build_feature_file(lambda r: slice_panel(panel, r), n_days, n_tk, cfg.features, x_file)
        extra = f"x {fs.x.shape} {fs.x.nbytes / 1e6:.0f} MB spilled; loader = Panel slices; "
        extra += f"RSS {rss:.0f} MB with the Panel, peak {_hwm_mb():.0f} MB building"
    elif name.startswith("pretrain"):
        models = Path(tempfile.mkdtemp(prefix=f"bench_scale_{name}_"))  # never beside the store
        data = prepare(store, cfg.pretrain_config(), x_file)
        prep_mb = _peak_mb()
        rss = _reset_hwm()
        res = pretrain(data, models, cfg.pretrain_config())
        extra = f"{len(res.entries)} window; {'spilled' if spill else 'in memory'}; "
        extra += f"peak {prep_mb:.0f} MB to prepare; RSS {rss:.0f} MB after it, "
        extra += f"peak {_hwm_mb():.0f} MB in training"
        shutil.rmtree(models, ignore_errors=True)
    elif name == "replay":  # the budget (cfg.features.memory_mb) decides: in memory or mapped
        pipeline.replay("llm", store, work / "run", cfg)
        block = plan(cfg.features.memory_mb, n_days, n_tk)
        extra = "in memory" if block is None else f"mapped Panel, {block}-day load blocks"
    peak = max(_peak_mb(), _PEAK_BEFORE_RESET[0])  # the stage's peak, across a VmHWM reset
    out = {"s": time.perf_counter() - t0, "cpu_s": _cpu_s() - c0, "peak_mb": peak}
    shutil.rmtree(x_file.parent, ignore_errors=True)
    return out | {"base_mb": base, "extra": extra, "load": os.getloadavg()[0]}


def _child(
    name: str, tickers: int, days: int, seed: int, work: Path, memory_mb: int, train: int
) -> dict:
    cmd = [sys.executable, __file__, "--stage", name, "--size", f"{tickers}x{days}"]
    cmd += ["--work", str(work), "--seed", str(seed), "--memory-mb", str(memory_mb)]
    cmd += ["--train-days", str(train)]
    env = {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"stage {name} at {tickers}x{days} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _slope(xs: list[float], ys: list[float]) -> float:
    lx, ly = [math.log(x) for x in xs], [math.log(max(y, 1e-9)) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    den = sum((a - mx) ** 2 for a in lx)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / den if den else math.nan


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(ap, repeat=1, warmup=0, seed_help="synthetic market and run seed")
    ap.add_argument("--sizes", default="424x375,848x750,1695x1500", help="TICKERSxDAYS,...")
    ap.add_argument("--json-max", type=int, default=700_000, help="max ticker-days for JSON")
    ap.add_argument("--stages", default=",".join(STAGES), help="comma-separated stages")
    ap.add_argument("--keep", type=Path, help="keep each size's stores under KEEP/TxD (reusable)")
    ap.add_argument("--memory-mb", type=int, default=0, help="features.memory_mb (0: no budget)")
    ap.add_argument(
        "--train-days", type=int, default=0, help="the window's training days (0: T - 63)"
    )
    ap.add_argument("--stage", help=argparse.SUPPRESS)
    ap.add_argument("--size", help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.stage:  # child: one stage, one JSON line on stdout
        k, t = map(int, a.size.split("x"))
        print(json.dumps(_stage(a.stage, k, t, a.seed, a.work, a.memory_mb, a.train_days)))
        return
    sizes = [tuple(map(int, s.split("x"))) for s in a.sizes.split(",")]
    stages = a.stages.split(",")
    rows: dict[str, list] = {s: [] for s in stages}
    for k, t in sizes:
        with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp:
            if a.keep:
                tmp = str(a.keep / f"{k}x{t}")
                Path(tmp).mkdir(parents=True, exist_ok=True)
            for s in stages:
                if s in JSON_STAGES and k * t > a.json_max:
                    continue
                r = _child(s, k, t, a.seed, Path(tmp), a.memory_mb, a.train_days)
                rows[s].append((k, t, r))
                msg = f"{s} {k}x{t}: {r['s']:.1f} s, cpu {r['cpu_s']:.1f} s"
                msg += f", peak {r['peak_mb']:.0f} MB"
                print(msg, file=sys.stderr, flush=True)
        print(_table(rows, sizes, a), file=sys.stderr)  # so far: a long run can be cut short
    report(_table(rows, sizes, a), a.no_append)


def _table(rows: dict, sizes: list, a) -> str:
    lines = [
        f"bench_scale: synth seed {a.seed}, new_listings 0.1, delistings 0.1; "
        f"features.memory_mb {a.memory_mb}; one sliding "
        f"window ({a.train_days or f'T-{SERVE}'} train, {SERVE} serve); stage = own subprocess; "
        f"{cores()} cores",
        "",
        "| stage | tickers x days | ticker-days | seconds | CPU s | peak MB | base MB | load "
        "| note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s, rs in rows.items():
        for k, t, r in rs:
            cells = [s, f"{k} x {t}", f"{k * t:,}", f"{r['s']:.1f}", f"{r['cpu_s']:.1f}"]
            cells += [f"{r['peak_mb']:.0f}", f"{r['base_mb']:.0f}", f"{r['load']:.1f}", r["extra"]]
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| stage | exponent seconds | exponent CPU s | exponent peak MB over base |"]
    lines += ["|---|---|---|---|"]
    for s, rs in rows.items():
        if len(rs) >= 2:
            x = [k * t for k, t, _ in rs]
            sec = _slope(x, [r["s"] for _, _, r in rs])
            cpu = _slope(x, [r["cpu_s"] for _, _, r in rs])
            mem = _slope(x, [r["peak_mb"] - r["base_mb"] for _, _, r in rs])
            lines.append(f"| {s} | {sec:.2f} | {cpu:.2f} | {mem:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
