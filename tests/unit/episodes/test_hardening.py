"""Issue 15 points 7, 8, 10, 11: writer locks, the crash-safe store swap, user errors that must be
clean errors (no traceback, no hang, no silent loss), and the value rules of validate/ingest."""

from __future__ import annotations

import errno
import io
import os
import signal
import tarfile
import threading

import pytest

from episodes.reader import read_days
from episodes.store import ingest, load_episodes, open_store
from episodes.store_fs import hidden_old, lock_file
from episodes.table_io import TableWriters
from episodes.validate import validate_episodes
from simulator.core.errors import EpisodeError, RegistryError, StoreError
from simulator.core.locks import writer_lock
from tests.episode_factory import DATES, episode_json, write_day, write_days


def _held(path, cls=StoreError):
    return writer_lock(path, owner="test", cls=cls, command="holder-cmd")


# --- point 7: one writer per store and per models directory --------------------------------------


def test_second_ingest_is_refused_naming_the_holder(tmp_path):
    write_days(tmp_path / "src", DATES[:2])
    store = tmp_path / "store"
    with _held(lock_file(store)):
        with pytest.raises(StoreError, match=r"locked by another writer.*holder-cmd") as exc:
            ingest(tmp_path / "src", store)
    assert f"pid {os.getpid()}" in str(exc.value)
    assert not store.exists()  # nothing written
    assert ingest(tmp_path / "src", store).n_days == 2  # free again once released


def test_ingest_with_wait_runs_after_the_holder_releases(tmp_path):
    write_days(tmp_path / "src", DATES)
    store, out = tmp_path / "store", {}
    acquired, release = threading.Event(), threading.Event()

    def holder():
        with _held(lock_file(store)):
            acquired.set()
            release.wait()

    def waiter():
        try:
            out["rep"] = ingest(tmp_path / "src", store, wait=True)
        except Exception as exc:  # noqa: BLE001 - reported below
            out["err"] = exc

    h = threading.Thread(target=holder)
    h.start()
    acquired.wait()
    w = threading.Thread(target=waiter)
    w.start()
    w.join(0.5)
    release.set()
    h.join()
    w.join()
    assert "err" not in out and out["rep"].n_days == 4


def test_second_pretrain_is_refused_before_any_work(tmp_path):
    from models.pretrain import LOCK_FILE, pretrain
    from simulator.config import RunConfig

    models = tmp_path / "models"
    with _held(models / LOCK_FILE, RegistryError):
        with pytest.raises(RegistryError, match=r"models: locked by another writer.*holder-cmd"):
            pretrain(tmp_path / "no-store", models, RunConfig())
    assert sorted(p.name for p in models.iterdir()) == [LOCK_FILE]  # no registry written


# --- point 8: the store swap ---------------------------------------------------------------------


def test_kill_between_the_two_renames_loses_no_day(tmp_path):
    src_old, src_new, store = tmp_path / "old", tmp_path / "new", tmp_path / "store"
    write_days(src_old, DATES[:2])
    ingest(src_old, store)
    os.replace(store, hidden_old(store))  # the state a kill after rename 1 of the swap leaves
    dead_tmp = tmp_path / ".store.x1y2.tmp"  # a killed build
    dead_tmp.mkdir()
    write_days(src_new, DATES[2:])
    rep = ingest(src_new, store)
    assert (rep.n_days, rep.n_new) == (4, 2)
    assert [e.date for e in load_episodes(store)] == list(DATES)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [".store.lock"]


def test_open_recovers_a_parked_store(tmp_path):
    write_days(tmp_path / "src", DATES[:2])
    store = tmp_path / "store"
    ingest(tmp_path / "src", store)
    os.replace(store, hidden_old(store))
    assert open_store(store).dates == list(DATES[:2])
    assert store.is_dir() and not hidden_old(store).exists()


def test_a_successful_swap_leaves_no_parked_store(tmp_path):
    write_days(tmp_path / "src", DATES[:2])
    ingest(tmp_path / "src", tmp_path / "store")
    write_days(tmp_path / "src", DATES)
    ingest(tmp_path / "src", tmp_path / "store")
    assert not hidden_old(tmp_path / "store").exists()


# --- point 10: user errors ----------------------------------------------------------------------


def _day_errors(src) -> list[str]:
    return [str(d.error) for d in read_days(src) if d.error is not None]


def test_json_nested_200000_deep_is_a_day_error(tmp_path):
    (tmp_path / "episode_2022-04-01.json").write_text("[" * 200_000 + "]" * 200_000)
    assert _day_errors(tmp_path) == [
        "episode_2022-04-01.json: 2022-04-01: json: nested too deep (expected an episode object)"
    ]


def _fifo_read(path):
    def boom(*_):
        raise TimeoutError("reader hangs on a FIFO")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(20)  # a regression fails here instead of hanging the suite
    try:
        return _day_errors(path)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("fifo", "not a regular file (FIFO)"),
        ("directory", "not a regular file (directory)"),
        ("dangling", "cannot open (error=dangling symlink)"),
        ("loop", "cannot open (error=Too many levels of symbolic links)"),
    ],
)
def test_episode_that_is_not_a_regular_file(tmp_path, kind, message):
    write_days(tmp_path, DATES[:1])
    bad = tmp_path / "episode_2022-04-04.json"
    if kind == "fifo":
        os.mkfifo(bad)
    elif kind == "directory":
        bad.mkdir()
    elif kind == "dangling":
        bad.symlink_to(tmp_path / "missing.json")
    else:
        bad.symlink_to(bad)
    (err,) = _fifo_read(tmp_path)
    assert err.startswith(f"episode_2022-04-04.json: 2022-04-04: file: {message}")
    with pytest.raises(EpisodeError, match="episode_2022-04-04.json"):
        ingest(tmp_path, tmp_path.parent / f"store-{kind}")


def _tar(tmp_path, dates, symlink_last=False):
    src = tmp_path / "src"
    write_days(src, dates)
    path = tmp_path / "days.tar.xz"
    with tarfile.open(path, "w:xz") as tar:
        for d in dates[:-1] if symlink_last else dates:
            tar.add(src / f"episode_{d}.json", f"episodes/episode_{d}.json")
        if symlink_last:
            info = tarfile.TarInfo(f"episodes/episode_{dates[-1]}.json")
            info.type, info.linkname = tarfile.SYMTYPE, "elsewhere.json"
            tar.addfile(info)
    return path


def test_tar_symlink_member_is_reported_not_skipped(tmp_path):
    path = _tar(tmp_path, DATES, symlink_last=True)
    rep = validate_episodes(path)
    assert rep.summary() == "4 episodes, 3 clean, 1 problems"
    assert str(rep.problems[0]).startswith(
        "episode_2022-04-06.json: 2022-04-06: file: not a regular"
    )
    with pytest.raises(EpisodeError, match="symlink"):
        ingest(path, tmp_path / "store")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_unreadable_archive_is_an_episode_error(tmp_path, damage):
    path = _tar(tmp_path, DATES)
    data = path.read_bytes()
    path.write_bytes(
        {"truncated": data[: len(data) // 2], "garbage": b"x" * 999, "empty": b""}[damage]
    )
    with pytest.raises(EpisodeError, match=r"days.tar.xz: unreadable archive"):
        read_days(path)


def test_glob_source(tmp_path):
    write_days(tmp_path, DATES)
    assert [d.name for d in read_days(str(tmp_path / "episode_2022-04-0[45].json"))] == [
        "episode_2022-04-04.json",
        "episode_2022-04-05.json",
    ]


def test_garbage_table_is_not_kept_as_unchanged(tmp_path):
    write_days(tmp_path / "src", DATES)
    ingest(tmp_path / "src", tmp_path / "store")
    (tmp_path / "store" / "prices.parquet").write_bytes(b"garbage")
    with pytest.raises(StoreError, match=r"prices.parquet: store table is damaged"):
        ingest(tmp_path / "src", tmp_path / "store")


def _raise(code):
    def f(*_a, **_k):
        raise OSError(code, os.strerror(code))

    return f


def test_full_disk_is_a_store_error_and_keeps_the_old_store(tmp_path, monkeypatch):
    write_days(tmp_path / "src", DATES[:2])
    ingest(tmp_path / "src", tmp_path / "store")
    write_days(tmp_path / "src", DATES)
    monkeypatch.setattr(os, "fsync", _raise(errno.ENOSPC))
    with pytest.raises(StoreError, match=r"store: no space left on device \(errno=28"):
        ingest(tmp_path / "src", tmp_path / "store")
    monkeypatch.undo()
    assert open_store(tmp_path / "store").dates == list(DATES[:2])
    assert not list(tmp_path.glob(".store.*.tmp"))


def test_read_only_file_system_is_a_store_error(tmp_path, monkeypatch):
    write_days(tmp_path / "src", DATES[:2])
    monkeypatch.setattr(TableWriters, "append", _raise(errno.EROFS))
    with pytest.raises(StoreError, match=r"store: read-only file system \(errno=30"):
        ingest(tmp_path / "src", tmp_path / "store")
    monkeypatch.setattr(os, "open", _raise(errno.EROFS))  # cannot even create the lock file
    with pytest.raises(StoreError, match=r"store: read-only file system"):
        ingest(tmp_path / "src", tmp_path / "store")


# --- point 11: value rules in validate and ingest -----------------------------------------------


def _risk(d):
    return d["agent_signals"]["risk_management_agent"]["AAA"]


@pytest.mark.parametrize(
    ("plant", "location"),
    [
        (lambda d: _risk(d).update(remaining_position_limit=-5.0), "agent_signals.risk_management_agent.AAA.remaining_position_limit: not a finite number >= 0"),  # noqa: E501
        (lambda d: _risk(d).update(remaining_position_limit=float("nan")), "remaining_position_limit: not a finite"),  # noqa: E501
        (lambda d: d["portfolio_after"].update(cash=float("nan")), "portfolio_after.cash: not a finite number"),  # noqa: E501
        (lambda d: d.update(portfolio_return=float("nan")), "portfolio_return: not a finite number"),  # noqa: E501
        (lambda d: [d["portfolio_after"][k].pop("BBB") for k in ("positions", "realized_gains")], "portfolio_after.positions: tickers differ from the day's portfolio_before"),  # noqa: E501
        (lambda d: d["portfolio_after"]["realized_gains"]["BBB"].update(long=float("inf")), "portfolio_after.realized_gains.BBB.long: not a finite"),  # noqa: E501
    ],
)  # fmt: skip
def test_value_rules_name_file_date_and_field(tmp_path, plant, location):
    write_days(tmp_path, DATES[:1])
    data = episode_json(DATES[1])
    plant(data)
    write_day(tmp_path, data)
    rep = validate_episodes(tmp_path)
    assert len(rep.problems) >= 1
    assert f"episode_{DATES[1]}.json: {DATES[1]}: " in str(rep.problems[0])
    assert location in str(rep.problems[0])
    with pytest.raises(EpisodeError, match="nothing written"):
        ingest(tmp_path, tmp_path.parent / "store")


def test_negative_order_quantities_ingest_and_replay_as_no_ops(tmp_path):
    """README §5.2: q <= 0 is a no-op for every action; such a later day must not stop ingest."""
    from episodes.store import load_panel
    from simulator.reconcile import replay_recorded

    orders = [("sell", -7), ("short", -2), ("cover", -1), ("buy", -3)]
    for date, (action, q) in zip(DATES, orders, strict=True):
        data = episode_json(date)
        data["llm_decisions"]["AAA"].update(action=action, quantity=q)
        write_day(tmp_path / "src", data)
    assert validate_episodes(tmp_path / "src").ok
    ingest(tmp_path / "src", tmp_path / "store")
    panel = load_panel(tmp_path / "store")
    res = replay_recorded(panel)
    assert res.mismatches == []
    assert (res.fills["qty"] == 0).all() and (res.fills["fee"] == 0).all()  # nothing filled
    aaa = res.fills[res.fills["k"] == list(panel.tickers).index("AAA")]
    assert aaa["req_qty"].tolist() == [-7, -2, -1, -3]


def test_negative_limit_equal_to_negative_cash_is_the_recorded_rule(tmp_path):
    data = episode_json(DATES[0], cash=-50.0)
    _risk(data)["remaining_position_limit"] = -50.0  # min(limit, cash), README §2.2
    write_day(tmp_path, data)
    assert validate_episodes(tmp_path).ok


def test_tar_stream_is_read_once(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz"):
        pass
    (tmp_path / "none.tar.xz").write_bytes(buf.getvalue())
    with pytest.raises(EpisodeError, match="no episode files in archive"):
        read_days(tmp_path / "none.tar.xz")


def test_reasoning_store_whose_first_block_has_no_decision(tmp_path):
    """A block of days without one decision fixed the reasoning column as float64 and the next
    block's text then failed to convert (ArrowInvalid)."""
    first = episode_json(DATES[0])
    first["llm_decisions"] = {}  # valid: every ticker acts as hold
    write_day(tmp_path / "src", first)
    write_days(tmp_path / "src", DATES[1:3], reasoning="because")
    ingest(tmp_path / "src", tmp_path / "store", with_reasoning=True, block=1)
    got = load_episodes(tmp_path / "store")
    assert [e.decisions.reasoning for e in got] == [(), ("because",) * 5, ("because",) * 5]
