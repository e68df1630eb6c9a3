"""Inference on Dask arrays: features, memberships and labels out of core.

:func:`transform`, :func:`predict_proba` and :func:`predict` are the
:class:`~tscc.TSCCClusterer` methods of the same names for a Dask array of
series of shape ``(n_samples, n_timestamps)`` or ``(n_samples, n_timestamps,
n_channels)``, e.g. one opened with :func:`dask.array.from_zarr` on an archive
larger than memory. They return Dask arrays chunked like the input along the
series axis; nothing is computed until the result is. :func:`predict_all`
gives labels, memberships and features from one encoding of each block, and
:func:`write_predictions` writes them into a Zarr store block by block, with
the provenance of each series.

This module needs Dask (and, for a cluster, distributed): install them with
``pip install "tscc[dask]"``. It is not imported by ``import tscc``; import it
as ``import tscc.dask``.

The fitted estimator enters the graph once, as a single key that every block
task depends on (``dask.delayed(estimator, pure=True)``): a distributed
worker receives it once and shares it between the blocks it runs, instead of
unpickling it once per task. Like every object in a Dask graph, it is also
unpickled once by the scheduler, which therefore needs tscc and torch
installed, as the workers do. Should a worker die, the key is recomputed from
the graph like any other.

Each block is encoded with torch's intra-op threads limited to the block's
share of the cores, so that blocks running at the same time do not
oversubscribe the machine::

    torch threads per block = max(1, cores // concurrent blocks)

``cores`` is :func:`dask.system.cpu_count` of the process running the block
(CPU affinity and cgroup quota count). ``concurrent blocks`` is, on a
distributed worker, the sum of ``nthreads`` of the workers on the same host
(as the scheduler reported them when the graph was built; at least the
worker's own ``nthreads``); on Dask's local threaded scheduler, its thread
count (the ``num_workers`` setting, else the number of cores); on the
synchronous scheduler, 1. ``torch_threads=`` sets the number outright. The
previous setting of the thread running the block is restored when the block is
done.

Results equal the in-process methods (e.g. ``estimator.predict(X.compute())``)
bit for bit, whatever the chunks: :func:`tscc.training.encode_features` pads
every batch to ``batch_size``, so a series' features do not depend on which
other series share its block. Equality is promised for equal torch thread
counts; on the CPU measured (AMD EPYC with AVX-512, float32 and bfloat16
precision, 1 to 8 threads) the thread count did not change a bit either, but
oneDNN may choose other kernels for other thread counts on other CPUs.

The padding also sets the cost of small chunks: each block encodes whole
batches, so a chunk of 1 row costs as much as one of ``batch_size`` rows.
Chunks of a multiple of ``batch_size`` rows, a thousand or more, waste
nothing.
"""

import os
import threading
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

try:
    import dask
    import dask.array as da
    import dask.system
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        'tscc.dask needs Dask: install it with pip install "tscc[dask]".'
    ) from exc

from ._version import __version__
from .encoding import feature_memberships
from .estimator import TSCCClusterer

__all__ = [
    "PREDICTION_OUTPUTS",
    "limit_torch_threads",
    "predict",
    "predict_all",
    "predict_proba",
    "transform",
    "write_predictions",
]

#: The arrays :func:`write_predictions` can write, in the order it writes them.
PREDICTION_OUTPUTS = ("labels", "memberships", "features")


def transform(estimator, X, *, torch_threads=None):
    """Learned features of a Dask array of series, block by block.

    Parameters
    ----------
    estimator : TSCCClusterer
        A fitted estimator.
    X : dask.array.Array of shape (n_samples, n_timestamps) or \
            (n_samples, n_timestamps, n_channels)
        Series of the same length and channel count as in ``fit``; any
        chunks (those along the timestamp and channel axes are merged).
    torch_threads : int or None, default=None
        torch intra-op threads per block; ``None`` takes the block's share of
        the cores (see the module's documentation).

    Returns
    -------
    features : dask.array.Array of shape (n_samples, repr_dims)
        Chunked like ``X`` along the series axis; float32 for float32 input,
        float64 otherwise, as :meth:`TSCCClusterer.transform`.

    Raises
    ------
    TypeError
        If ``X`` is not a Dask array or ``estimator`` not a TSCCClusterer.
    ValueError
        If the shape of ``X`` does not fit the estimator, with the message
        :meth:`TSCCClusterer.transform` gives for such an array.
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import tscc.dask
    >>> from tscc import TSCCClusterer
    >>> X = np.random.default_rng(0).normal(size=(40, 32))
    >>> model = TSCCClusterer(depth=1, hidden_dims=8, pretrain_epochs=1,
    ...                       finetune_epochs=0, device="cpu", random_state=0).fit(X)
    >>> features = tscc.dask.transform(model, da.from_array(X, chunks=15))
    >>> features.chunks
    ((15, 15, 10), (32,))
    >>> bool((features.compute() == model.transform(X)).all())
    True
    """
    return _encode(_Plan(estimator, X, torch_threads))


def predict_proba(estimator, X, *, torch_threads=None):
    """Fuzzy memberships of a Dask array of series, block by block.

    Parameters
    ----------
    estimator : TSCCClusterer
        A fitted estimator.
    X : dask.array.Array of shape (n_samples, n_timestamps) or \
            (n_samples, n_timestamps, n_channels)
        Series of the same length and channel count as in ``fit``.
    torch_threads : int or None, default=None
        torch intra-op threads per block; ``None`` takes the block's share of
        the cores.

    Returns
    -------
    memberships : dask.array.Array of shape (n_samples, n_clusters)
        float64, chunked like ``X`` along the series axis; each row sums to one.

    Raises
    ------
    TypeError
        If ``X`` is not a Dask array or ``estimator`` not a TSCCClusterer.
    ValueError
        If the shape of ``X`` does not fit the estimator.
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import tscc.dask
    >>> from tscc import TSCCClusterer
    >>> X = np.random.default_rng(0).normal(size=(40, 32))
    >>> model = TSCCClusterer(depth=1, hidden_dims=8, pretrain_epochs=1,
    ...                       finetune_epochs=0, device="cpu", random_state=0).fit(X)
    >>> tscc.dask.predict_proba(model, da.from_array(X, chunks=15)).dtype
    dtype('float64')
    """
    plan = _Plan(estimator, X, torch_threads)
    return _memberships(plan, _encode(plan))


def predict(estimator, X, *, torch_threads=None):
    """Cluster labels of a Dask array of series, block by block.

    Parameters
    ----------
    estimator : TSCCClusterer
        A fitted estimator.
    X : dask.array.Array of shape (n_samples, n_timestamps) or \
            (n_samples, n_timestamps, n_channels)
        Series of the same length and channel count as in ``fit``.
    torch_threads : int or None, default=None
        torch intra-op threads per block; ``None`` takes the block's share of
        the cores.

    Returns
    -------
    labels : dask.array.Array of shape (n_samples,)
        int64, chunked like ``X`` along the series axis.

    Raises
    ------
    TypeError
        If ``X`` is not a Dask array or ``estimator`` not a TSCCClusterer.
    ValueError
        If the shape of ``X`` does not fit the estimator.
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import tscc.dask
    >>> from tscc import TSCCClusterer
    >>> X = np.random.default_rng(0).normal(size=(40, 32))
    >>> model = TSCCClusterer(depth=1, hidden_dims=8, pretrain_epochs=1,
    ...                       finetune_epochs=0, device="cpu", random_state=0).fit(X)
    >>> labels = tscc.dask.predict(model, da.from_array(X, chunks=15))
    >>> bool((labels.compute() == model.predict(X)).all())
    True
    """
    plan = _Plan(estimator, X, torch_threads)
    return _labels(_memberships(plan, _encode(plan)))


def predict_all(estimator, X, *, torch_threads=None):
    """Labels, memberships and features of a Dask array, one encoding per block.

    The three arrays share the encoding tasks: compute or store them together,
    e.g. ``dask.compute(*predict_all(estimator, X))`` or one
    :func:`dask.array.store` call, and every block of ``X`` is read and
    encoded once. Computing them one at a time encodes ``X`` again each time.

    Parameters
    ----------
    estimator : TSCCClusterer
        A fitted estimator.
    X : dask.array.Array of shape (n_samples, n_timestamps) or \
            (n_samples, n_timestamps, n_channels)
        Series of the same length and channel count as in ``fit``.
    torch_threads : int or None, default=None
        torch intra-op threads per block; ``None`` takes the block's share of
        the cores.

    Returns
    -------
    labels : dask.array.Array of shape (n_samples,)
        As :func:`predict`.
    memberships : dask.array.Array of shape (n_samples, n_clusters)
        As :func:`predict_proba`.
    features : dask.array.Array of shape (n_samples, repr_dims)
        As :func:`transform`.

    Raises
    ------
    TypeError
        If ``X`` is not a Dask array or ``estimator`` not a TSCCClusterer.
    ValueError
        If the shape of ``X`` does not fit the estimator.
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.

    Examples
    --------
    >>> import dask
    >>> import dask.array as da
    >>> import numpy as np
    >>> import tscc.dask
    >>> from tscc import TSCCClusterer
    >>> X = np.random.default_rng(0).normal(size=(40, 32))
    >>> model = TSCCClusterer(depth=1, hidden_dims=8, pretrain_epochs=1,
    ...                       finetune_epochs=0, device="cpu", random_state=0).fit(X)
    >>> labels, memberships, features = dask.compute(
    ...     *tscc.dask.predict_all(model, da.from_array(X, chunks=15)))
    >>> labels.shape, memberships.shape, features.shape
    ((40,), (40, 2), (40, 32))
    """
    plan = _Plan(estimator, X, torch_threads)
    features = _encode(plan)
    memberships = _memberships(plan, features)
    return _labels(memberships), memberships, features


def write_predictions(
    estimator,
    X,
    store,
    *,
    metadata=None,
    attrs=None,
    torch_threads=None,
    compute=True,
    outputs=PREDICTION_OUTPUTS,
):
    """Write labels, memberships and features of a Dask array into a Zarr store.

    The arrays of :func:`predict_all` are written block by block, by whatever
    runs the computation (the local scheduler, or the workers of a
    distributed client, which must then reach ``store`` at the same path),
    so the store may be larger than any memory.

    Parameters
    ----------
    estimator, X, torch_threads
        As in :func:`predict_all`.
    store : str or path-like
        Folder of the Zarr group to write; replaced if it exists.
    outputs : sequence of {"labels", "memberships", "features"}, \
            default=("labels", "memberships", "features")
        The arrays to write; ``("features",)`` is :func:`transform` written
        to disk (no memberships are computed then).
    metadata : dict of str to array-like, default=None
        Per-series provenance (e.g. ``SeismicWindows.metadata()``): each
        written as a string array of that name, ``n_samples`` long.
    attrs : dict, default=None
        Attributes of the group, besides ``tscc_version`` (always written).
    compute : bool, default=True
        Write now; ``False`` returns the writing as Dask objects to compute
        (with :func:`dask.compute` or ``Client.compute``, e.g. with a
        progress bar) instead.

    Returns
    -------
    written : str or dask collection
        The store's path, written; with ``compute=False``, what
        :func:`dask.array.store` returns, whose computation writes it.

    Notes
    -----
    The group holds ``labels`` (int64, ``(n_samples,)``), ``memberships``
    (float64, ``(n_samples, n_clusters)``) and ``features`` (float32 for
    float32 series, ``(n_samples, repr_dims)``), those of ``outputs``, chunked
    like ``X`` along the series axis, and the ``metadata`` arrays.

    Examples
    --------
    >>> import os, tempfile
    >>> import dask.array as da, numpy as np, zarr
    >>> from tscc import TSCCClusterer
    >>> from tscc.dask import write_predictions
    >>> series = np.random.default_rng(1).normal(size=(30, 16))
    >>> fitted = TSCCClusterer(depth=1, hidden_dims=8, pretrain_epochs=1,
    ...                        finetune_epochs=0, device="cpu").fit(series)
    >>> out = os.path.join(tempfile.mkdtemp(), "predictions.zarr")
    >>> out = write_predictions(fitted, da.from_array(series, chunks=10), out)
    >>> zarr.open_group(out)["memberships"].shape
    (30, 2)
    """
    import zarr  # installed with Dask by the dask extra

    outputs = _check_outputs(outputs)
    if outputs == ("features",):
        results = {"features": transform(estimator, X, torch_threads=torch_threads)}
    else:
        results = dict(
            zip(
                PREDICTION_OUTPUTS,
                predict_all(estimator, X, torch_threads=torch_threads),
                strict=True,
            )
        )
    results = [results[name] for name in outputs]
    path = os.fspath(store)
    group = zarr.open_group(path, mode="w")
    targets = [
        group.create_array(
            name, shape=array.shape, chunks=array.chunksize, dtype=array.dtype
        )
        for name, array in zip(outputs, results, strict=True)
    ]
    for name, values in (metadata or {}).items():
        values = np.asarray(values, dtype=str)
        column = group.create_array(
            name,
            shape=values.shape,
            chunks=(max(1, min(len(values), 2**16)),),
            dtype=str,
        )
        column[:] = values
    group.attrs.update({"tscc_version": __version__, **(attrs or {})})
    stored = da.store(list(results), targets, lock=False, compute=False)
    if not compute:
        return stored
    dask.compute(stored)
    return path


def _check_outputs(outputs):
    outputs = (outputs,) if isinstance(outputs, str) else tuple(outputs)
    unknown = [name for name in outputs if name not in PREDICTION_OUTPUTS]
    if unknown or not outputs or len(set(outputs)) != len(outputs):
        raise ValueError(
            f"outputs must name some of {', '.join(PREDICTION_OUTPUTS)}, each "
            f"once; got {outputs!r}."
        )
    # in the store's order, whatever the order asked
    return tuple(name for name in PREDICTION_OUTPUTS if name in outputs)


# ------------------------------------------------------------------ the graph


class _Plan:
    """Validated input, the estimator's single graph key and the thread rule."""

    def __init__(self, estimator, X, torch_threads):
        _check_estimator(estimator)
        self.dtype = _check_dask_series(estimator, X)
        self.estimator = estimator
        # Axes 1 and 2 in one chunk: each task sees whole series.
        self.series = X.rechunk({axis: -1 for axis in range(1, X.ndim)})
        # One key holds the model; every block task depends on it, so that a
        # worker receives it once, not once per task.
        self.model = dask.delayed(estimator, pure=True)
        self.threads = _ThreadRule(torch_threads, _threads_per_host())


def _encode(plan):
    n_dims = plan.estimator.repr_dims
    return da.map_blocks(
        _encode_block,
        plan.series,
        plan.model,
        plan.threads,
        plan.dtype,
        drop_axis=list(range(1, plan.series.ndim)),
        new_axis=[1],
        chunks=(plan.series.chunks[0], (n_dims,)),
        dtype=plan.dtype,
        meta=np.empty((0, n_dims), dtype=plan.dtype),
        token="tscc-transform",
    )


def _memberships(plan, features):
    n_clusters = plan.estimator.cluster_centers_.shape[0]
    return da.map_blocks(
        _membership_block,
        features,
        plan.model,
        chunks=(features.chunks[0], (n_clusters,)),
        dtype=np.float64,
        meta=np.empty((0, n_clusters), dtype=np.float64),
        token="tscc-predict-proba",
    )


def _labels(memberships):
    return da.map_blocks(
        _label_block,
        memberships,
        drop_axis=[1],
        chunks=(memberships.chunks[0],),
        dtype=np.int64,
        meta=np.empty((0,), dtype=np.int64),
        token="tscc-predict",
    )


# ------------------------------------------------------------------ the tasks


def _encode_block(block, estimator, threads, dtype):
    """Features of one block, as ``estimator.transform`` gives them."""
    if block.shape[0] == 0:
        # transform refuses empty input; an empty chunk is no error here
        return np.empty((0, estimator.repr_dims), dtype=dtype)
    with limit_torch_threads(threads.per_block()):
        return estimator.transform(block)


def _membership_block(features, estimator):
    """Memberships of one block of features, as ``estimator.predict_proba``.

    Features come from float32 tensors, so the cast to float64 is exact; the
    distances and memberships are computed in float64, as the estimator does
    (:func:`~tscc.encoding.feature_memberships`).
    """
    return feature_memberships(features, estimator.cluster_centers_, estimator.m)


def _label_block(memberships):
    return memberships.argmax(axis=1).astype(np.int64)


# ---------------------------------------------------------------- validation


def _check_estimator(estimator):
    if not isinstance(estimator, TSCCClusterer):
        raise TypeError(
            f"estimator must be a fitted TSCCClusterer, got {type(estimator).__name__}."
        )
    check_is_fitted(estimator)


def _check_dask_series(estimator, X):
    """Check ``X``'s type and shape from its metadata; return the feature dtype.

    The estimator's own ``transform`` runs on a one-row stand-in of ``X``'s
    shape and dtype (one padded batch to encode), so the messages are those of
    the in-process methods, given before anything of ``X`` is computed. Values
    (NaN rows, magnitudes) are checked block by block, by the same method.
    """
    if not isinstance(X, da.Array):
        raise TypeError(
            "X must be a dask.array.Array of shape (n_samples, n_timestamps) or "
            f"(n_samples, n_timestamps, n_channels), got {type(X).__name__}. For "
            "an array in memory call the estimator's method directly (e.g. "
            "estimator.predict(X)), or wrap it with dask.array.from_array(X, "
            "chunks=...)."
        )
    if X.ndim not in (2, 3):
        raise ValueError(
            "Expected series of shape (n_samples, n_timestamps) or (n_samples, "
            f"n_timestamps, n_channels), got a Dask array with {X.ndim} "
            f"dimensions of shape {X.shape}."
        )
    if any(np.isnan(size) for size in X.shape[1:]):
        raise ValueError(
            f"X has unknown chunk sizes along its timestamp or channel axis "
            f"(shape {X.shape}); call X.compute_chunk_sizes() first."
        )
    n_rows = 0 if X.shape[0] == 0 else 1  # keeps the estimator's empty-input error
    stand_in = np.zeros((n_rows, *X.shape[1:]), dtype=X.dtype)
    return estimator.transform(stand_in).dtype


# ------------------------------------------------------------------- threads


@contextmanager
def limit_torch_threads(n_threads):
    """Run a block of code with ``n_threads`` torch intra-op threads.

    With torch's OpenMP backend (that of the Linux, Windows and macOS wheels)
    the thread count is a setting of each thread: this sets the calling
    thread's and gives it back its previous one on exit, while other threads
    (blocks running beside it, threads started meanwhile) keep theirs.
    ``torch.set_num_threads`` also changes the default that new threads
    start from; that default is put back at once. With a process-wide
    backend, the first of overlapping calls sets the number and the last one
    out restores it.

    Parameters
    ----------
    n_threads : int
        Positive number of threads.

    Yields
    ------
    None

    Raises
    ------
    TypeError
        If ``n_threads`` is not an int.
    ValueError
        If ``n_threads`` is not positive.

    Examples
    --------
    >>> import torch
    >>> from tscc.dask import limit_torch_threads
    >>> before = torch.get_num_threads()
    >>> with limit_torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    n_threads = _check_thread_count(n_threads)
    if _PER_THREAD_SETTING:
        restore = _limit_this_thread(n_threads)
    else:  # pragma: no cover - torch builds without OpenMP
        restore = _limit_process(n_threads)
    try:
        yield
    finally:
        restore()


# Whether torch.set_num_threads sets the calling thread's count (OpenMP: each
# thread has its own, and new threads start from a process-wide default).
_PER_THREAD_SETTING = "parallel backend: OpenMP" in torch.__config__.parallel_info()
# Serialises the changes, so that the process-wide default is only ever seen
# changed inside this lock.
_settings_lock = threading.Lock()
_process_limit = {"holders": 0, "previous": None}


def _limit_this_thread(n_threads):
    """Set this thread's count; return the function that restores it."""
    with _settings_lock:
        # A thread's first call takes the default, never one changed by us.
        previous = torch.get_num_threads()
        if previous == n_threads:
            return lambda: None
        _set_own_threads(n_threads)

    def restore():
        with _settings_lock:
            _set_own_threads(previous)

    return restore


def _set_own_threads(n_threads):
    """torch.set_num_threads for this thread only: the default is put back."""
    default = _default_threads()
    torch.set_num_threads(n_threads)
    if default != n_threads:
        _in_new_thread(torch.set_num_threads, default)


def _default_threads():
    """The thread count torch gives a thread that has set none: the default."""
    return _in_new_thread(torch.get_num_threads)


def _in_new_thread(function, *args):
    # torch can only read or write the default from a thread of its own.
    result = []
    thread = threading.Thread(target=lambda: result.append(function(*args)))
    thread.start()
    thread.join()
    return result[0]


def _limit_process(n_threads):  # pragma: no cover - torch builds without OpenMP
    with _settings_lock:
        if _process_limit["holders"] == 0:
            _process_limit["previous"] = torch.get_num_threads()
            torch.set_num_threads(n_threads)
        _process_limit["holders"] += 1

    def restore():
        with _settings_lock:
            _process_limit["holders"] -= 1
            if _process_limit["holders"] == 0:
                torch.set_num_threads(_process_limit["previous"])

    return restore


def _check_thread_count(n_threads):
    if isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer)):
        raise TypeError(
            f"torch_threads must be a positive int or None, got {n_threads!r}."
        )
    if n_threads < 1:
        raise ValueError(f"torch_threads must be >= 1 or None, got {n_threads}.")
    return int(n_threads)


class _ThreadRule:
    """torch threads for a block: the explicit number, or the block's core share.

    Travels with every block task, so it holds only small values: the explicit
    number, and the Dask threads of each host's workers when the graph was
    built with a distributed client.
    """

    def __init__(self, torch_threads, threads_per_host):
        self.torch_threads = (
            None if torch_threads is None else _check_thread_count(torch_threads)
        )
        self.threads_per_host = threads_per_host

    def per_block(self):
        if self.torch_threads is not None:
            return self.torch_threads
        return max(1, dask.system.cpu_count() // self._concurrent_blocks())

    def _concurrent_blocks(self):
        worker = _current_worker()
        if worker is not None:
            host = _address_host(worker.address)
            return max(worker.state.nthreads, self.threads_per_host.get(host, 0))
        if threading.current_thread() is threading.main_thread():
            return 1  # the synchronous scheduler runs one block at a time
        return dask.config.get("num_workers", None) or dask.system.CPU_COUNT

    def __dask_tokenize__(self):
        return (type(self).__name__, self.torch_threads, self.threads_per_host)


def _current_worker():
    """The distributed worker running this task, or None."""
    try:
        from distributed import get_worker
    except ImportError:
        return None
    try:
        return get_worker()
    except ValueError:  # not inside a worker task
        return None


def _threads_per_host():
    """Sum of the Dask threads of each host's workers, for an active client."""
    try:
        from distributed import default_client
    except ImportError:
        return {}
    try:
        client = default_client()
    except ValueError:  # no client: the local schedulers
        return {}
    try:
        workers = client.scheduler_info(n_workers=-1)["workers"]  # all, not 5
    except TypeError:  # older distributed has no n_workers and lists them all
        workers = client.scheduler_info()["workers"]
    per_host = {}
    for address, info in workers.items():
        host = _address_host(address)
        per_host[host] = per_host.get(host, 0) + int(info["nthreads"])
    return per_host


def _address_host(address):
    from distributed.comm import get_address_host

    return get_address_host(address)
