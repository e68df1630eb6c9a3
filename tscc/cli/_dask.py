"""The Dask client of predict and transform on a windows store, and its progress.

Imported by predict and transform when they are given a store, after
:mod:`tscc.dask` (whose import says how to install Dask when it is missing).
"""

import contextlib
import os
import sys

import dask
from dask.callbacks import Callback

from .. import dask as tscc_dask
from ..progress import JobProgress
from ._common import UserError


@contextlib.contextmanager
def dask_client(args):
    """A Dask client for --scheduler or --workers, else None (local threads)."""
    if not (args.scheduler or args.workers):
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise UserError('Dask is not installed: pip install "tscc[dask]".') from exc
    if args.scheduler:
        try:
            client = Client(args.scheduler, timeout="30s")
        except OSError as exc:
            raise UserError(
                f"Could not reach the Dask scheduler at {args.scheduler}: {exc}"
            ) from exc
        with client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def write_store(args, model, series, outputs, verb):
    """Write ``outputs`` of the store ``series`` to the Zarr folder ``args.out``.

    On the Dask client of ``args`` (:func:`dask_client`), with a progress bar
    unless ``args.quiet``; the group's attributes record the model, the
    windows store, the normalisation and the model's cluster count, which
    ``tscc report`` reads.
    """
    with announced_client(args, verb, series.X.shape[0]) as client:
        written = tscc_dask.write_predictions(
            model,
            series.X,
            args.out,
            metadata=series.metadata,
            attrs={
                "model": os.path.abspath(args.model),
                "windows_store": os.path.abspath(args.inputs[0]),
                "normalize": series.normalize,
                "n_clusters": int(model.n_clusters),
            },
            compute=False,
            outputs=outputs,
        )
        compute([written], client, args.quiet)


@contextlib.contextmanager
def announced_client(args, verb, n_windows):
    """:func:`dask_client`, after saying on stderr what runs where."""
    with dask_client(args) as client:
        where = "locally" if client is None else f"on {describe_cluster(client)}"
        print(
            f"{verb} {n_windows} windows of {args.inputs[0]} {where}.",
            file=sys.stderr,
            flush=True,
        )
        yield client


def describe_cluster(client):
    """Where the blocks run: ``"2 Dask worker(s) with 2 thread(s) in all"``."""
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    threads = sum(worker["nthreads"] for worker in workers)
    return f"{len(workers)} Dask worker(s) with {threads} thread(s) in all"


def compute(results, client, quiet):
    """Compute Dask objects together, with a progress bar unless ``quiet``.

    On the local scheduler the bar counts Dask's tasks
    (:class:`~tscc.progress.JobProgress`); on a cluster it is distributed's
    own, which sees the workers' tasks.
    """
    if client is None:
        with _TaskProgress(enabled=not quiet):
            return dask.compute(*results)
    futures = client.compute(list(results))
    if not quiet:
        from distributed import progress

        progress(futures)
        print(file=sys.stderr)
    return client.gather(futures)


class _TaskProgress(Callback):
    """A JobProgress over the tasks of a computation on the local scheduler."""

    def __init__(self, enabled):
        super().__init__()
        self.enabled = enabled
        self.bar = None

    def _start_state(self, dsk, state):
        total = sum(
            len(state[key]) for key in ("ready", "waiting", "running", "finished")
        )
        self.bar = JobProgress(
            total, desc="predicting", unit="task", enabled=self.enabled
        )

    def _posttask(self, key, result, dsk, state, worker_id):
        self.bar.update()

    def _finish(self, dsk, state, errored):
        self.bar.close()
