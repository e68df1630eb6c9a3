"""tscc leaves the C heap as it found it; keep_freed_memory is the user's opt-in."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from _shared import TINY

import tscc.heap
from tscc import TSCCClusterer
from tscc.heap import keep_freed_memory, release_free_memory, user_malloc_settings


class RecordingLibc:
    """Stands in for glibc: records mallopt and malloc_trim calls."""

    def __init__(self):
        self.calls = []

    def mallopt(self, parameter, value):
        self.calls.append(("mallopt", parameter, value))
        return 1

    def malloc_trim(self, pad):
        self.calls.append(("malloc_trim", pad))
        return 1


@pytest.fixture
def libc(monkeypatch):
    recorder = RecordingLibc()
    monkeypatch.setattr(tscc.heap, "_glibc", lambda: recorder)
    for name in (*tscc.heap._MALLOC_VARIABLES, "GLIBC_TUNABLES", "LD_PRELOAD"):
        monkeypatch.delenv(name, raising=False)
    return recorder


def test_fit_and_inference_leave_the_allocator_settings_alone(libc):
    X = np.random.default_rng(0).normal(size=(12, 16))
    est = TSCCClusterer(**TINY).fit(X)
    assert libc.calls == [("malloc_trim", 0)]  # what training freed, once
    libc.calls.clear()
    est.predict(X)
    est.predict_proba(X)
    est.transform(X)
    est.score(X)
    assert libc.calls == []


def test_keep_freed_memory_sets_both_thresholds(libc):
    assert keep_freed_memory() is True
    assert libc.calls == [
        ("mallopt", tscc.heap._M_MMAP_THRESHOLD, 2**30),
        ("mallopt", tscc.heap._M_TRIM_THRESHOLD, 2**31 - 1),
    ]


@pytest.mark.parametrize(
    "name, value",
    [
        ("MALLOC_TRIM_THRESHOLD_", "65536"),
        ("MALLOC_ARENA_MAX", "2"),
        ("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=65536"),
        ("LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"),
    ],
)
def test_keep_freed_memory_respects_the_users_settings(libc, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.warns(UserWarning, match=name):
        assert keep_freed_memory() is False
    assert libc.calls == []


def test_user_malloc_settings_ignores_other_tunables():
    assert user_malloc_settings({"GLIBC_TUNABLES": "glibc.rtld.nns=2"}) == []
    assert user_malloc_settings({"LD_PRELOAD": "libfoo.so"}) == []


def test_without_glibc_nothing_happens(monkeypatch):
    monkeypatch.setattr(tscc.heap, "_glibc", lambda: None)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    assert release_free_memory() is False
    assert keep_freed_memory() is False


CALLER_AFTER_TSCC = textwrap.dedent(
    """
    import numpy as np
    from tscc import TSCCClusterer

    def resident_mb():
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    X = np.random.default_rng(0).normal(size=(128, 500))
    est = TSCCClusterer(
        repr_dims=8, hidden_dims=16, depth=2, pretrain_epochs=1,
        finetune_epochs=1, batch_size=64, n_init=1, device="cpu", random_state=0,
    ).fit(X)
    est.predict(X[:5])
    before = resident_mb()
    blocks = [np.ones(100 * 1024 // 8) for _ in range(2000)]  # 200 MB
    del blocks
    print(resident_mb() - before)
    """
)


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or tscc.heap._glibc() is None,
    reason="measures glibc's heap through /proc",
)
def test_the_callers_trim_threshold_holds_after_tscc():
    # Dask's nanny sets this in every worker: freed memory must go back to the
    # system whatever tscc did before.
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}
    result = subprocess.run(
        [sys.executable, "-c", CALLER_AFTER_TSCC],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    kept_mb = float(result.stdout.strip())
    assert kept_mb < 10, f"the caller kept {kept_mb:.0f} MB of 200 MB it freed"
