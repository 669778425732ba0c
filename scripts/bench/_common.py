"""Plumbing shared by the scripts/bench/bench_*.py scripts (stdlib only).

Every script takes the same flags (``add_common_args``), times its cases the same way
(``time_runs``: ``warmup`` untimed calls, then ``repeat`` timed ones), prints one table with the
same leading and trailing columns (``table``: case, median_s, min_s, ratio, the script's own
columns, cores, torch threads) and appends it to RESULTS.md with the python version, UTC time
and load average (``append_results``). Scripts import it as ``from _common import ...``: run as
``python scripts/bench/bench_x.py``, the script's own directory is ``sys.path[0]``. The vectorbt
half of bench_books imports it from another venv, hence stdlib only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
RESULTS = HERE / "RESULTS.md"
# as the wfsim entry points do (simulator.core.omp; _common stays free of wfsim imports): a
# bounded libgomp spin unless the user chose a policy; before torch is imported
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")

TAR = ROOT.parent / "shared" / "data" / "mas-hedge-fund" / "episodes-2022-2024.tar.xz"
HEADING = "# Benchmark results (appended by scripts/bench/*.py; never hand-edited)\n"
COMMON_FLAGS = ("--repeat", "--warmup", "--seed", "--check", "--no-append")


def add_common_args(
    ap: argparse.ArgumentParser,
    *,
    repeat: int = 5,
    warmup: int = 2,
    seed_help: str | None = None,
    check_help: str = "verify the output against the reference before timing",
) -> argparse.ArgumentParser:
    """Add ``--repeat --warmup --seed --check --no-append`` (the house flags) to ``ap``."""
    ap.add_argument(
        "--repeat", type=int, default=repeat, help=f"timed runs per case (default {repeat})"
    )
    ap.add_argument(
        "--warmup", type=int, default=warmup, help=f"untimed runs before them (default {warmup})"
    )
    ap.add_argument("--seed", type=int, default=42, help=seed_help)
    ap.add_argument("--check", action="store_true", help=check_help)
    ap.add_argument("--no-append", action="store_true", help="do not append to RESULTS.md")
    return ap


def repeat_runs(fn: Callable[[], Any], repeat: int, warmup: int) -> list[Any]:
    """Call ``fn`` ``warmup`` times (results dropped), then ``repeat`` times; their results."""
    for _ in range(warmup):
        fn()
    return [fn() for _ in range(repeat)]


def time_runs(
    fn: Callable[[], object],
    repeat: int,
    warmup: int,
    clock: Callable[[], float] = time.perf_counter,
) -> list[float]:
    """Seconds (by ``clock``) of each of ``repeat`` calls of ``fn`` after ``warmup`` calls."""

    def once() -> float:
        t0 = clock()
        fn()
        return clock() - t0

    return repeat_runs(once, repeat, warmup)


def first_call(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds and result of one call (the first-call / JIT time, reported apart)."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def median(times: Sequence[float]) -> float:
    return float(statistics.median(times))


def cores() -> int:
    """CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def table(
    title: str | None,
    rows: Sequence[Sequence[Any]],
    *,
    extra: Sequence[str] = (),
    threads: int | str | Sequence[int | str] = "n/a",
) -> str:
    """A markdown table, one row per case, under an optional ``title`` line.

    ``rows`` are ``(case, times, ratio, *extra_values)``: the median and min of ``times`` are
    printed (4 decimals), ``ratio`` is computed by the script (its title says against what; a
    string is printed as is) and the ``extra`` columns go between ratio and cores. ``threads``
    is the torch thread count of every row, or a list with one per row.
    """
    cols = ("case", "median_s", "min_s", "ratio", *extra, "cores", "torch threads")
    lines = [title] if title else []
    lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    n = cores()
    per_row = threads if isinstance(threads, list | tuple) else [threads] * len(rows)
    for (case, times, ratio, *values), th in zip(rows, per_row, strict=True):
        if len(values) != len(extra):
            raise ValueError(
                f"table: wrong number of extra values (case={case!r}, n={len(values)}, "
                f"expected one per extra column {list(extra)})"
            )
        r = ratio if isinstance(ratio, str) else f"{ratio:.3f}"
        cells = [case, f"{median(times):.4f}", f"{min(times):.4f}", r, *map(str, values)]
        lines.append("| " + " | ".join([*cells, str(n), str(th)]) + " |")
    return "\n".join(lines)


def append_results(text: str, results: Path = RESULTS) -> None:
    """Append ``text`` and a line (UTC time, python version, load average) to RESULTS.md."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    env = f"({stamp}, python {platform.python_version()}, load average {load})"
    new = not results.exists() or results.stat().st_size == 0
    with results.open("a", encoding="utf-8") as fh:
        fh.write((HEADING if new else "") + f"\n{text}\n{env}\n")


def report(text: str, no_append: bool) -> None:
    """Print ``text`` (stdout carries only results) and append it unless ``no_append``."""
    print(text)
    if not no_append:
        append_results(text)
