"""Byte-for-byte Panel equality (dtype, shape and bytes of every array) for the tests."""

from __future__ import annotations

import dataclasses


def assert_same_panel(got, want) -> None:
    for f in dataclasses.fields(want):
        g, w = getattr(got, f.name), getattr(want, f.name)
        assert (g.dtype, g.shape) == (w.dtype, w.shape), f.name
        if w.dtype == object:
            assert list(g) == list(w), f.name
        else:
            assert g.tobytes() == w.tobytes(), f.name
