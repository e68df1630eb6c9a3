"""tscc.dask: inference on Dask arrays, locally and on a LocalCluster."""

import pickle
import threading

import numpy as np
import pytest
import torch
from _shared import TINY, two_shapes
from sklearn.exceptions import NotFittedError

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
tscc_dask = pytest.importorskip("tscc.dask")

from tscc import TSCCClusterer  # noqa: E402


class CountingClusterer(TSCCClusterer):
    """Counts how often this process unpickles one (a worker imports it from here)."""

    loads = 0

    def __setstate__(self, state):
        type(self).loads += 1
        super().__setstate__(state)


class ThreadRecorder(TSCCClusterer):
    """Records torch's thread count while each block is encoded."""

    seen = []

    def transform(self, X):
        type(self).seen.append(torch.get_num_threads())
        return super().transform(X)


def _reset_counters():
    CountingClusterer.loads = 0
    ThreadRecorder.seen = []


def _counters():
    return CountingClusterer.loads, list(ThreadRecorder.seen)


def _pool_threads():
    """torch threads of a fresh thread (what torch's process-wide default is)."""
    seen = []
    thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    return seen[0]


@pytest.fixture(scope="module")
def data():
    """Series and fitted models: univariate and 2-channel, batch_size 8."""
    X2, _ = two_shapes(n_per_class=12, n_timestamps=24)
    X3, _ = two_shapes(n_per_class=12, n_timestamps=24, n_channels=2)
    return {
        2: (X2, TSCCClusterer(**TINY).fit(X2)),
        3: (X3, TSCCClusterer(**TINY).fit(X3)),
    }


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        memory_limit="2GiB",
    )
    with cluster, distributed.Client(cluster) as client:
        yield client


def _chunked(X, rows):
    """Dask array of X with the given row chunks and split other axes."""
    chunks = (rows, max(1, X.shape[1] // 3)) + ((1,) if X.ndim == 3 else ())
    return da.from_array(X, chunks=chunks)


# Chunks not dividing batch_size=8, a last short chunk, single rows, an empty
# chunk and irregular sizes.
CHUNKINGS = [1, 5, 8, 13, 24, (3, 0, 10, 11)]


# ------------------------------------------------------------ shapes and meta


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shapes_chunks_dtypes_and_meta(data, ndim, dtype):
    X, model = data[ndim]
    dX = _chunked(X.astype(dtype), 5)
    labels, memberships, features = tscc_dask.predict_all(model, dX)
    rows = dX.chunks[0]
    expected = {
        "features": (features, (rows, (8,)), dtype),
        "memberships": (memberships, (rows, (2,)), np.float64),
        "labels": (labels, (rows,), np.int64),
    }
    for name, (result, chunks, result_dtype) in expected.items():
        assert result.chunks == chunks, name
        assert result.dtype == result_dtype, name
        assert type(result._meta) is np.ndarray, name
        assert result._meta.dtype == result_dtype, name
        assert result._meta.ndim == len(chunks), name
        computed = result.compute(scheduler="sync")
        assert computed.shape == result.shape and computed.dtype == result.dtype
    assert tscc_dask.transform(model, dX).chunks == features.chunks
    assert tscc_dask.predict_proba(model, dX).chunks == memberships.chunks
    assert tscc_dask.predict(model, dX).chunks == labels.chunks


def test_integer_series_are_converted_like_the_estimator(data):
    X, model = data[2]
    X_int = np.round(X * 10).astype(np.int32)
    features = tscc_dask.transform(model, da.from_array(X_int, chunks=7))
    assert features.dtype == np.float64
    np.testing.assert_array_equal(features.compute(), model.transform(X_int))


def test_unknown_row_chunks_are_fine(data):
    X, model = data[2]
    dX = da.from_array(X, chunks=5)
    dX = dX[da.from_array(np.ones(len(X), dtype=bool), chunks=5)]
    assert np.isnan(dX.shape[0])
    labels = tscc_dask.predict(model, dX)
    np.testing.assert_array_equal(labels.compute(), model.predict(X))


# ---------------------------------------------------------------- equality


def _assert_equal_to_in_process(model, X, dX, **compute_kwargs):
    # Equality is promised for equal torch thread counts: one on both sides.
    results = tscc_dask.predict_all(model, dX, torch_threads=1)
    labels, memberships, features = dask.compute(*results, **compute_kwargs)
    with tscc_dask.limit_torch_threads(1):
        expected = model.transform(X), model.predict_proba(X), model.predict(X)
    # bit for bit, not allclose
    np.testing.assert_array_equal(features, expected[0], strict=True)
    np.testing.assert_array_equal(memberships, expected[1], strict=True)
    np.testing.assert_array_equal(labels, expected[2], strict=True)


@pytest.mark.parametrize("rows", CHUNKINGS)
@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threaded_scheduler_equals_in_process(data, rows, ndim, dtype):
    X, model = data[ndim]
    X = X.astype(dtype)
    _assert_equal_to_in_process(model, X, _chunked(X, rows), scheduler="threads")


def test_single_functions_equal_predict_all(data):
    X, model = data[3]
    dX = _chunked(X, 5)
    labels, memberships, features = dask.compute(*tscc_dask.predict_all(model, dX))
    np.testing.assert_array_equal(tscc_dask.transform(model, dX).compute(), features)
    np.testing.assert_array_equal(
        tscc_dask.predict_proba(model, dX).compute(), memberships
    )
    np.testing.assert_array_equal(tscc_dask.predict(model, dX).compute(), labels)


def test_predict_all_encodes_each_block_once(data):
    X, model = data[2]
    dX = _chunked(X, 5)
    graph = {}
    for result in tscc_dask.predict_all(model, dX):
        graph.update(dict(result.__dask_graph__()))
    names = [key[0] for key in graph if isinstance(key, tuple)]
    assert names.count(tscc_dask.transform(model, dX).name) == len(dX.chunks[0])
    assert sum(name.startswith("tscc-transform") for name in names) == len(dX.chunks[0])


@pytest.mark.parametrize("rows", [1, 5, (3, 0, 10, 11)])
@pytest.mark.parametrize("ndim", [2, 3])
def test_local_cluster_equals_in_process(client, data, rows, ndim):
    X, model = data[ndim]
    _assert_equal_to_in_process(model, X, _chunked(X, rows))


def test_from_zarr(client, data, tmp_path):
    zarr = pytest.importorskip("zarr")
    X, model = data[3]
    stored = zarr.create_array(
        store=str(tmp_path / "series.zarr"),
        shape=X.shape,
        chunks=(5, 24, 2),
        dtype="float32",
    )
    stored[:] = X.astype(np.float32)
    dX = da.from_zarr(str(tmp_path / "series.zarr"))
    assert dX.chunks[0] == (5, 5, 5, 5, 4)
    _assert_equal_to_in_process(model, X.astype(np.float32), dX)


# ------------------------------------------------------- the model, sent once


class _FindEstimators(pickle.Pickler):
    """Pickler that counts the estimators inside what it pickles."""

    def __init__(self, file):
        super().__init__(file)
        self.found = 0

    def persistent_id(self, obj):
        if isinstance(obj, TSCCClusterer):
            self.found += 1
            return "estimator"
        return None


def _estimators_in(value):
    import io

    pickler = _FindEstimators(io.BytesIO())
    pickler.dump(value)
    return pickler.found


def test_graph_holds_the_model_in_one_key(data):
    X, model = data[2]
    dX = _chunked(X, 1)
    labels, memberships, features = tscc_dask.predict_all(model, dX)
    graph = dict(labels.__dask_graph__())
    holders = [key for key, task in graph.items() if _estimators_in(task)]
    assert len(holders) == 1
    (model_key,) = holders
    # every encoding and membership task depends on it
    dependents = [
        key
        for key, task in graph.items()
        if model_key in dask.core.get_dependencies(graph, key)
    ]
    assert len(dependents) == 2 * len(X)


def test_model_reaches_each_worker_once(client, data):
    X, _ = data[2]
    model = CountingClusterer(**TINY).fit(X)
    dX = _chunked(X, 1)  # 24 block tasks for 2 workers
    client.run(_reset_counters)
    dask.compute(*tscc_dask.predict_all(model, dX))
    loads = [count for count, _ in client.run(_counters).values()]
    assert max(loads) == 1 and sum(loads) >= 1

    # The counter does see a model sent with every task: the estimator passed
    # as a plain argument of map_blocks.
    client.run(_reset_counters)
    da.map_blocks(
        lambda block, estimator: estimator.predict(block),
        dX,
        model,
        drop_axis=1,
        dtype=np.int64,
    ).compute()
    loads = [count for count, _ in client.run(_counters).values()]
    assert sum(loads) == len(X)


# ------------------------------------------------------------------- threads


def test_limit_torch_threads_sets_and_restores():
    before = torch.get_num_threads()
    with tscc_dask.limit_torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError, match="boom"):
        with tscc_dask.limit_torch_threads(1):
            raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_concurrent_limits_leave_every_setting_as_it_was():
    default = _pool_threads()
    barrier = threading.Barrier(4)
    seen = []

    def block():
        before = torch.get_num_threads()
        barrier.wait()  # all four inside at once
        with tscc_dask.limit_torch_threads(1):
            barrier.wait()
            seen.append((torch.get_num_threads(), _pool_threads()))
            barrier.wait()
        seen.append((before, torch.get_num_threads()))

    threads = [threading.Thread(target=block) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    inside, after = seen[:4], seen[4:]
    # inside: one thread, while threads started meanwhile get the default
    assert inside == [(1, default)] * 4
    assert all(before == restored for before, restored in after)
    assert _pool_threads() == default


@pytest.mark.parametrize("value", [0, -1])
def test_torch_threads_must_be_positive(data, value):
    X, model = data[2]
    with pytest.raises(ValueError, match="torch_threads must be >= 1"):
        tscc_dask.transform(model, da.from_array(X), torch_threads=value)


@pytest.mark.parametrize("value", ["2", 1.5, True])
def test_torch_threads_must_be_an_int(data, value):
    X, model = data[2]
    with pytest.raises(TypeError, match="torch_threads must be a positive int"):
        tscc_dask.transform(model, da.from_array(X), torch_threads=value)


def test_thread_rule_without_distributed():
    rule = tscc_dask._ThreadRule(None, {})
    cores = dask.system.cpu_count()
    # the synchronous scheduler runs one block at a time, in the main thread
    assert rule.per_block() == cores
    seen = []
    with dask.config.set(num_workers=2):
        thread = threading.Thread(target=lambda: seen.append(rule.per_block()))
        thread.start()
        thread.join()
    assert seen == [max(1, cores // 2)]
    assert tscc_dask._ThreadRule(3, {}).per_block() == 3


@pytest.mark.parametrize("torch_threads", [None, 1, 2])
def test_threaded_scheduler_limits_and_restores_threads(data, torch_threads):
    X, _ = data[2]
    model = ThreadRecorder(**TINY).fit(X)
    before, before_new = torch.get_num_threads(), _pool_threads()
    features = tscc_dask.transform(model, _chunked(X, 5), torch_threads=torch_threads)
    ThreadRecorder.seen = []  # forget the validation's call, in this thread
    with dask.config.set(scheduler="threads", num_workers=2):
        features.compute()
        # the pool's threads got their previous setting back
        after_in_pool = dask.compute(
            *[dask.delayed(torch.get_num_threads, pure=False)() for _ in range(4)]
        )
    expected = torch_threads or max(1, dask.system.cpu_count() // 2)
    assert ThreadRecorder.seen == [expected] * 5
    assert torch.get_num_threads() == before
    assert _pool_threads() == before_new
    assert set(after_in_pool) == {before_new}


def test_workers_limit_threads_to_their_share(client, data):
    X, _ = data[2]
    assert tscc_dask._threads_per_host() == {"127.0.0.1": 2}
    model = ThreadRecorder(**TINY).fit(X)
    client.run(_reset_counters)
    tscc_dask.transform(model, _chunked(X, 5)).compute()
    seen = [
        threads
        for _, recorded in client.run(_counters).values()
        for threads in recorded
    ]
    assert len(seen) == 5
    # two workers of one thread each share this host's cores
    cores = client.run(dask.system.cpu_count)
    assert set(seen) == {max(1, min(cores.values()) // 2)}

    client.run(_reset_counters)
    tscc_dask.transform(model, _chunked(X, 5), torch_threads=3).compute()
    seen = [
        threads
        for _, recorded in client.run(_counters).values()
        for threads in recorded
    ]
    assert seen == [3] * 5


# ---------------------------------------------------------------- validation


def test_numpy_input_is_a_type_error(data):
    X, model = data[2]
    for function in (
        tscc_dask.transform,
        tscc_dask.predict,
        tscc_dask.predict_proba,
        tscc_dask.predict_all,
    ):
        with pytest.raises(TypeError, match=r"dask\.array\.from_array") as error:
            function(model, X)
        assert "estimator.predict(X)" in str(error.value)


def test_not_a_tscc_estimator(data):
    from sklearn.cluster import KMeans

    X, _ = data[2]
    with pytest.raises(TypeError, match="TSCCClusterer, got KMeans"):
        tscc_dask.predict(KMeans(), da.from_array(X))


def test_unfitted_estimator(data):
    X, _ = data[2]
    with pytest.raises(NotFittedError):
        tscc_dask.predict(TSCCClusterer(), da.from_array(X))


@pytest.mark.parametrize("shape", [(24,), (24, 24, 1, 1)])
def test_wrong_ndim(data, shape):
    _, model = data[2]
    with pytest.raises(ValueError, match=r"Expected series of shape .* dimensions"):
        tscc_dask.transform(model, da.zeros(shape))


def _never_computed(shape):
    """A Dask array that fails if anything computes it."""

    def fail():
        raise AssertionError("X was computed")

    return da.from_delayed(dask.delayed(fail)(), shape=shape, dtype=np.float64)


@pytest.mark.parametrize(
    ("ndim", "shape"),
    [(2, (24, 30)), (3, (24, 30, 2)), (3, (24, 24, 3)), (3, (24, 24)), (2, (0, 24))],
)
def test_shape_errors_match_the_estimator_without_computing(data, ndim, shape):
    _, model = data[ndim]
    with pytest.raises(ValueError) as in_memory:
        model.transform(np.zeros(shape))
    with pytest.raises(ValueError) as lazy:
        tscc_dask.predict_all(model, _never_computed(shape))
    assert str(lazy.value) == str(in_memory.value)


def test_unknown_timestamp_chunks(data):
    X, model = data[2]
    dX = da.from_array(X, chunks=5)
    dX._chunks = (dX.chunks[0], (np.nan,) * len(dX.chunks[1]))
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        tscc_dask.transform(model, dX)


def test_value_errors_come_from_the_blocks(data):
    X, model = data[2]
    X = X.copy()
    X[3] = np.nan
    features = tscc_dask.transform(model, da.from_array(X, chunks=5))
    with pytest.raises(ValueError, match="no observed timestamp"):
        features.compute(scheduler="sync")


def test_write_predictions_to_zarr(data, tmp_path):
    zarr = pytest.importorskip("zarr")
    X, model = data[3]
    dX = _chunked(X.astype(np.float32), 5)
    metadata = {"source": np.array([f"s{i}" for i in range(len(X))])}
    path = tscc_dask.write_predictions(
        model, dX, tmp_path / "p.zarr", metadata=metadata, attrs={"run": "test"}
    )
    group = zarr.open_group(path, mode="r")
    labels, memberships, features = dask.compute(*tscc_dask.predict_all(model, dX))
    np.testing.assert_array_equal(group["labels"][:], labels)
    np.testing.assert_array_equal(group["memberships"][:], memberships)
    np.testing.assert_array_equal(group["features"][:], features)
    assert group["labels"].chunks == (5,)
    assert group["source"][:].tolist() == metadata["source"].tolist()
    assert group.attrs["run"] == "test" and "tscc_version" in group.attrs
    # compute=False hands the writing back, to compute on a client or with a bar
    stored = tscc_dask.write_predictions(model, dX, tmp_path / "q.zarr", compute=False)
    assert not zarr.open_group(tmp_path / "q.zarr")["labels"].nchunks_initialized
    dask.compute(stored)
    np.testing.assert_array_equal(
        zarr.open_group(tmp_path / "q.zarr")["labels"][:], labels
    )


def test_uses_only_public_attributes_of_the_estimator():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(tscc_dask))
    private = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "estimator"
        and node.attr.startswith("_")
    }
    assert private == set()
