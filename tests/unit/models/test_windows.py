"""Walk-forward splitters: bounds table, repr, config, errors, doctests (models.windows)."""

from __future__ import annotations

import doctest

import pytest

import models.windows
from models.config import WindowConfig
from models.windows import ExpandingWindows, SlidingWindows, Window, from_config
from simulator.core.errors import ConfigError

E, S = ExpandingWindows, SlidingWindows


@pytest.mark.parametrize(
    ("cv", "n_days", "n", "first", "last"),
    [
        (E(initial=250, step=21), 691, 21, ((0, 250), (250, 271)), ((0, 670), (670, 691))),
        (E(initial=250, step=21), 813, 27, ((0, 250), (250, 271)), ((0, 796), (796, 813))),
        (E(initial=250, step=30), 813, 19, ((0, 250), (250, 280)), ((0, 790), (790, 813))),
        (E(initial=250, step=21), 251, 1, ((0, 250), (250, 251)), ((0, 250), (250, 251))),
        (E(initial=10, step=1), 13, 3, ((0, 10), (10, 11)), ((0, 12), (12, 13))),
        (S(size=250, step=21), 691, 21, ((0, 250), (250, 271)), ((420, 670), (670, 691))),
        (S(size=100, step=50), 420, 7, ((0, 100), (100, 150)), ((300, 400), (400, 420))),
    ],
)
def test_bounds_table(cv, n_days, n, first, last):
    ws = list(cv.split(n_days))
    assert len(ws) == n == cv.get_n_splits(n_days)
    bounds = [((w.train.start, w.train.stop), (w.serve.start, w.serve.stop)) for w in ws]
    assert bounds[0] == first and bounds[-1] == last
    assert [w.id for w in ws] == [f"w{i:03d}" for i in range(n)]


def test_repr_is_built_from_parameters():
    assert repr(E(initial=250, step=21)) == "ExpandingWindows(initial=250, step=21)"
    assert repr(S(size=100, step=5)) == "SlidingWindows(size=100, step=5)"
    w = Window("w003", range(0, 313), range(313, 334))
    assert repr(w) == "Window(id='w003', train=range(0, 313), serve=range(313, 334))"


def test_splitters_are_frozen_values():
    cv = E(initial=250, step=21)
    assert cv == E(initial=250, step=21) and hash(cv) == hash(E(initial=250, step=21))
    with pytest.raises(AttributeError):
        cv.step = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("cfg", "expected"),
    [
        (WindowConfig(), E(initial=250, step=21)),
        (WindowConfig(kind="sliding", initial=120, step=10), S(size=120, step=10)),
    ],
)
def test_from_config(cfg, expected):
    assert from_config(cfg) == expected


@pytest.mark.parametrize(
    ("h", "train", "serve", "purged"),
    [
        (1, range(0, 250), range(250, 271), range(0, 249)),
        (3, range(0, 250), range(250, 271), range(0, 247)),
        (1, range(21, 271), range(271, 292), range(21, 270)),
        (5, range(0, 3), range(3, 5), range(0, 0)),
    ],
)
def test_purged_training_days(h, train, serve, purged):
    assert Window("w", train, serve).purged(h) == purged


def test_nothing_to_serve_raises_at_split():
    with pytest.raises(ConfigError, match=r"no day left to serve \(n_days=250, initial=250"):
        E(initial=250, step=21).split(250)
    with pytest.raises(ConfigError, match="initial < n_days"):
        S(size=300, step=21).split(100)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: E(initial=0, step=21), "initial=0, expected >= 1"),
        (lambda: E(initial=250, step=0), "step=0, expected >= 1"),
        (lambda: S(size=0, step=1), "size=0, expected >= 1"),
    ],
)
def test_bad_parameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_docstring_examples():
    res = doctest.testmod(models.windows, optionflags=doctest.ELLIPSIS)
    assert res.attempted >= 8 and res.failed == 0
