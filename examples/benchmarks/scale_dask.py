"""Dask inference benchmark: series/s of tscc.dask.predict against one process.

Fits a default-size ``TSCCClusterer`` (depth 10, hidden 64, repr 32, batch 64;
one pretraining epoch, no fine-tuning) on a few hundred synthetic
microseismic windows, writes ``--n-windows`` windows to a Zarr array in a
temporary directory, and times

* ``estimator.predict`` on the windows in memory, in this process, with
  ``--torch-threads`` torch threads (default 2);
* ``tscc.dask.predict`` on ``dask.array.from_zarr`` of the same windows, on a
  ``LocalCluster`` of ``--workers`` worker processes of ``--threads-per-worker``
  threads and ``--memory-limit`` each, once with the default torch thread rule
  of :mod:`tscc.dask` and once per ``--dask-torch-threads`` value;
* ``tscc.dask.predict_all`` stored to Zarr in one pass (labels, memberships,
  features), with the default rule.

Each Dask run follows a warm-up on a few blocks (workers import torch and
receive the model), is checked against the in-process labels (bit for bit),
and reports whether any worker process was restarted (its pid changed) and
the workers' peak RSS.

Run:  python examples/benchmarks/scale_dask.py
      python examples/benchmarks/scale_dask.py --n-windows 2000 --quick
"""

import argparse
import json
import os
import resource
import tempfile
import time

import numpy as np
import torch

import tscc.dask
from tscc import TSCCClusterer, make_microseismic


def _peak_rss_mb():
    """This process's peak RSS (VmHWM: unlike ru_maxrss, not inherited at exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fit(args):
    X, _ = make_microseismic(args.n_train, args.n_timestamps, random_state=0)
    model = TSCCClusterer(
        pretrain_epochs=1,
        finetune_epochs=0,
        max_train_length=args.n_timestamps,
        device="cpu",
        random_state=0,
    )
    return model.fit(X.astype(np.float32))


def _windows(args, path):
    """Write the windows to Zarr in blocks; return them in memory too."""
    import zarr

    stored = zarr.create_array(
        store=path,
        shape=(args.n_windows, args.n_timestamps),
        chunks=(args.chunk, args.n_timestamps),
        dtype="float32",
    )
    parts = []
    for start in range(0, args.n_windows, 5000):
        n = min(5000, args.n_windows - start)
        X, _ = make_microseismic(n, args.n_timestamps, random_state=start + 1)
        stored[start : start + n] = X.astype(np.float32)
        parts.append(X.astype(np.float32))
    return np.concatenate(parts)


def _in_process(model, X, n_threads):
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        start = time.perf_counter()
        labels = model.predict(X)
        seconds = time.perf_counter() - start
    finally:
        torch.set_num_threads(previous)
    return labels, {
        "run": f"estimator.predict, {n_threads} torch threads",
        "seconds": round(seconds, 2),
        "series_per_s": round(len(X) / seconds, 1),
        "peak_rss_mb": round(_peak_rss_mb()),
    }


def _dask_runs(args, model, path, reference):
    import dask.array as da
    from distributed import Client, LocalCluster

    runs = []
    cluster = LocalCluster(
        n_workers=args.workers,
        threads_per_worker=args.threads_per_worker,
        memory_limit=args.memory_limit,
        host="127.0.0.1",
        dashboard_address=None,
    )
    with cluster, Client(cluster) as client:
        X = da.from_zarr(path)
        # warm-up: workers import torch and tscc and receive the model
        warm = min(len(reference), args.chunk * args.workers * 2)
        tscc.dask.predict(model, X[:warm]).compute()
        pids = client.run(os.getpid)
        settings = [None, *args.dask_torch_threads]
        for torch_threads in settings:
            start = time.perf_counter()
            labels = tscc.dask.predict(model, X, torch_threads=torch_threads).compute()
            seconds = time.perf_counter() - start
            runs.append(
                {
                    "run": "tscc.dask.predict, torch threads per block: "
                    + ("rule" if torch_threads is None else str(torch_threads)),
                    "seconds": round(seconds, 2),
                    "series_per_s": round(len(labels) / seconds, 1),
                    "equal_to_in_process": bool(np.array_equal(labels, reference)),
                }
            )
            print(json.dumps(runs[-1]), flush=True)
        with tempfile.TemporaryDirectory() as out:
            import zarr

            results = tscc.dask.predict_all(model, X)
            targets = [
                zarr.create_array(
                    store=os.path.join(out, name),
                    shape=result.shape,
                    chunks=result.chunksize,
                    dtype=result.dtype,
                )
                for name, result in zip(
                    ("labels", "memberships", "features"), results, strict=True
                )
            ]
            start = time.perf_counter()
            da.store(list(results), targets)
            seconds = time.perf_counter() - start
            runs.append(
                {
                    "run": "tscc.dask.predict_all stored to Zarr, rule",
                    "seconds": round(seconds, 2),
                    "series_per_s": round(len(reference) / seconds, 1),
                    "equal_to_in_process": bool(
                        np.array_equal(targets[0][:], reference)
                    ),
                }
            )
            print(json.dumps(runs[-1]), flush=True)
        after = client.run(os.getpid)
        workers = {
            "workers_restarted": sorted(set(pids.values()) - set(after.values())) != []
            or len(after) != len(pids),
            "worker_peak_rss_mb": sorted(
                round(value) for value in client.run(_peak_rss_mb).values()
            ),
        }
    return runs, workers


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-windows", type=int, default=20_000)
    parser.add_argument("--n-timestamps", type=int, default=400)
    parser.add_argument("--n-train", type=int, default=300)
    parser.add_argument("--chunk", type=int, default=1000, help="rows per block")
    parser.add_argument("--torch-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads-per-worker", type=int, default=1)
    parser.add_argument("--memory-limit", default="1GiB")
    parser.add_argument(
        "--dask-torch-threads",
        type=int,
        nargs="*",
        default=[2],
        help="explicit torch_threads values to time besides the rule",
    )
    parser.add_argument("--out", help="write the results to this JSON file")
    args = parser.parse_args(argv)

    model = _fit(args)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "windows.zarr")
        X = _windows(args, path)
        reference, single = _in_process(model, X, args.torch_threads)
        print(json.dumps(single), flush=True)
        runs, workers = _dask_runs(args, model, path, reference)
    result = {
        "settings": vars(args),
        "precision": model.precision_,
        "cores": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "runs": [single, *runs],
        **workers,
    }
    print(json.dumps(result, indent=2))
    if args.out:
        with open(args.out, "w") as file:
            json.dump(result, file, indent=2)


if __name__ == "__main__":
    main()
