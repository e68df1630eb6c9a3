"""keep_freed_memory: thresholds set once for nested blocks, restored and trimmed."""

import numpy as np
import pytest
from _shared import TINY

import tscc.heap
from tscc import TSCCClusterer
from tscc.heap import keep_freed_memory, release_free_memory


@pytest.fixture
def calls(monkeypatch):
    """Record threshold settings and trims instead of making them."""
    seen = []
    monkeypatch.setattr(
        tscc.heap, "_set_thresholds", lambda mmap, trim: seen.append((mmap, trim))
    )
    monkeypatch.setattr(tscc.heap, "release_free_memory", lambda: seen.append("trim"))
    return seen


WORKING = (tscc.heap._WORKING_MMAP_THRESHOLD, tscc.heap._WORKING_TRIM_THRESHOLD)
RESTING = (tscc.heap._RESTING_MMAP_THRESHOLD, tscc.heap._RESTING_TRIM_THRESHOLD)


def test_nested_blocks_set_and_restore_once(calls):
    with keep_freed_memory():
        assert calls == [WORKING]
        with keep_freed_memory():
            pass
        assert calls == [WORKING]  # the inner block leaves the setting alone
    assert calls == [WORKING, RESTING, "trim"]
    assert tscc.heap._depth == 0


def test_restored_when_the_block_raises(calls):
    with pytest.raises(KeyboardInterrupt), keep_freed_memory():
        raise KeyboardInterrupt
    assert calls == [WORKING, RESTING, "trim"]
    assert tscc.heap._depth == 0


def test_fit_and_inference_run_inside_one_block_each(calls):
    X = np.random.default_rng(0).normal(size=(12, 16))
    est = TSCCClusterer(**TINY).fit(X)
    assert calls == [WORKING, RESTING, "trim"]
    calls.clear()
    est.predict(X)
    est.transform(X)
    assert calls == [WORKING, RESTING, "trim"] * 2


def test_without_glibc_nothing_happens(monkeypatch):
    monkeypatch.setattr(tscc.heap, "_glibc", lambda: None)
    assert release_free_memory() is False
    with keep_freed_memory():
        total = float(np.ones(1000).sum())
    assert total == 1000.0
