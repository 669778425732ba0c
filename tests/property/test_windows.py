"""Walk-forward windows: serve never overlaps train, follows it directly, tiles the days once."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from models.windows import ExpandingWindows, SlidingWindows

splitters = st.one_of(
    st.builds(ExpandingWindows, initial=st.integers(1, 300), step=st.integers(1, 60)),
    st.builds(SlidingWindows, size=st.integers(1, 300), step=st.integers(1, 60)),
)


@settings(max_examples=200, deadline=None)
@given(cv=splitters, extra=st.integers(1, 900), horizon=st.integers(1, 10))
def test_window_invariants(cv, extra, horizon):
    first = cv.initial if isinstance(cv, ExpandingWindows) else cv.size
    n_days = first + extra
    ws = list(cv.split(n_days))
    assert len(ws) == cv.get_n_splits(n_days) >= 1
    served = np.zeros(n_days, dtype=int)
    for w in ws:
        assert not set(w.train) & set(w.serve)  # serve never overlaps train
        assert w.serve.start == w.train.stop  # serve starts right after train ends
        assert 1 <= len(w.serve) <= cv.step and w.train.start >= 0
        if isinstance(cv, SlidingWindows):
            assert len(w.train) == cv.size
        else:
            assert w.train.start == 0
        purged = w.purged(horizon)
        assert all(t + horizon < w.serve.start for t in purged)  # labels known before serving
        served[w.serve.start : w.serve.stop] += 1
    assert (served[first:] == 1).all() and (served[:first] == 0).all()  # serves tile [first, n)
    assert [w.id for w in ws] == sorted(w.id for w in ws)
