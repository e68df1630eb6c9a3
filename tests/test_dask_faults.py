"""tscc.dask survives a worker killed in the middle of a computation."""

import os
import signal
import time

import numpy as np
import pytest
from _shared import TINY

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
tscc_dask = pytest.importorskip("tscc.dask")

from tscc import TSCCClusterer  # noqa: E402


class SlowClusterer(TSCCClusterer):
    """Takes a while per block, so that a worker can be killed mid-computation."""

    def transform(self, X):
        time.sleep(0.1)
        return super().transform(X)


def _done(futures):
    return sum(future.status == "finished" for future in futures)


@pytest.mark.slow
def test_worker_killed_mid_computation_loses_no_window():
    rng = np.random.default_rng(0)
    # distinct random walks: their features identify every window
    X = rng.normal(size=(240, 24, 2)).cumsum(axis=1)
    X /= np.abs(X).max(axis=(1, 2), keepdims=True)
    model = SlowClusterer(**TINY).fit(X[:48])
    with tscc_dask.limit_torch_threads(1):  # as in the blocks
        expected = model.predict(X), model.predict_proba(X), model.transform(X)

    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,  # nannies restart a killed worker
        host="127.0.0.1",
        dashboard_address=None,
        memory_limit="2GiB",
    )
    with cluster, distributed.Client(cluster) as client:
        results = tscc_dask.predict_all(
            model, da.from_array(X, chunks=5), torch_threads=1
        )
        persisted = client.persist(list(results))
        futures = distributed.futures_of(persisted)
        deadline = time.monotonic() + 120
        while _done(futures) < len(futures) // 4:  # a quarter done
            assert time.monotonic() < deadline, "no progress"
            time.sleep(0.05)
        assert _done(futures) < len(futures), "finished before the kill"

        pids = client.run(os.getpid)
        victim = sorted(pids)[0]
        os.kill(pids[victim], signal.SIGKILL)
        labels, memberships, features = dask.compute(*persisted)

        # the nanny brought a fresh process back
        client.wait_for_workers(2, timeout=60)
        assert pids[victim] not in client.run(os.getpid).values()

    for result, reference in zip(
        (labels, memberships, features), expected, strict=True
    ):
        assert result.shape == reference.shape
        np.testing.assert_array_equal(result, reference, strict=True)
    # no window lost or counted twice: every row's features are those of its
    # own series, and the features of different series differ
    assert len(np.unique(features, axis=0)) == len(X)
