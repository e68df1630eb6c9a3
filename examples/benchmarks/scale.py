"""Archives larger than memory: store, chunked fit and transform, sample fits, Dask.

Each measurement runs in fresh subprocesses and reports their peak resident
memory (``VmHWM``, Linux) above the baseline of a process that has imported
tscc and loaded the model, so that nothing else counts:

    # chunked transform of a Zarr store vs in-memory transform in batches
    python examples/benchmarks/scale.py transform --n-windows 1000000
    # fit on a memory map vs the same fit in memory
    python examples/benchmarks/scale.py fit --n-samples 50000 200000
    # NMI of fits on 5 %, 20 % and 100 % of 20,000 series
    python examples/benchmarks/scale.py sample --n-samples 20000
    # write_windows over 10 vs 40 files, tscc.dask.predict on a LocalCluster
    python examples/benchmarks/scale.py windows --days 10 40 --hours 1
    python examples/benchmarks/scale.py dask

Results are printed and written to ``examples/benchmarks/results/scale_*.json``.
The model used for timing is stated in each result: speeds are ratios of runs
made in one invocation, interleaved, never numbers from another day.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

PEAK = """
def peak_mb():
    status = open("/proc/self/status").read()
    line = next(l for l in status.splitlines() if l.startswith("VmHWM"))
    return int(line.split()[1]) / 1024

def resident_mb():
    status = open("/proc/self/status").read()
    line = next(l for l in status.splitlines() if l.startswith("VmRSS"))
    return int(line.split()[1]) / 1024
"""

TRANSFORM_WORKER = (
    PEAK
    + """
import json, sys, time
import numpy as np, zarr
from tscc import TSCCClusterer
args = json.loads(sys.argv[1])
model = TSCCClusterer.load(args["model"])
store = zarr.open_array(args["store"], mode="r")
# warm up the encoder's kernels, then take the baseline
model.transform(np.asarray(store[: 2 * model.batch_size]))
baseline = resident_mb()
import resource
start = time.perf_counter()
if args["mode"] == "chunked":
    features = model.transform(store)
    read_seconds = 0.0
else:
    parts, read_seconds = [], 0.0
    for first in range(0, store.shape[0], args["batch"]):
        tick = time.perf_counter()
        X = np.asarray(store[first : first + args["batch"]])
        read_seconds += time.perf_counter() - tick
        parts.append(model.transform(X))
        del X
    features = np.concatenate(parts)
seconds = time.perf_counter() - start
np.save(args["out"], features)
print(json.dumps({"mode": args["mode"], "seconds": seconds,
                  "read_seconds": read_seconds, "baseline_mb": baseline,
                  "peak_above_baseline_mb": peak_mb() - baseline}))
"""
)

FIT_WORKER = (
    PEAK
    + """
import json, sys, time
import numpy as np
from tscc import TSCCClusterer
args = json.loads(sys.argv[1])
est = TSCCClusterer(**args["params"])
# the baseline: tscc imported and a tiny fit made, so torch's kernels are loaded
TSCCClusterer(**{**args["params"], "pretrain_epochs": 1, "finetune_epochs": 0,
                 "n_init": 1}).fit(np.load(args["data"], mmap_mode="r")[:64])
baseline = resident_mb()
X = np.load(args["data"], mmap_mode="r")[: args["n_samples"]]
if args["mode"] == "in-memory":
    X = np.array(X)
start = time.perf_counter()
est.fit(X)
seconds = time.perf_counter() - start
np.save(args["out"], est.labels_)
print(json.dumps({"mode": args["mode"], "seconds": seconds, "baseline_mb": baseline,
                  "peak_above_baseline_mb": peak_mb() - baseline}))
"""
)


def run_worker(code, args):
    """Run ``code`` in a fresh interpreter; return the JSON it prints last."""
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def microseismic_windows(n_windows, n_timestamps, seed=0):
    """Blocks of normalised synthetic windows (20,000 generated, reused with noise)."""
    from tscc import WaveformNormalizer, make_microseismic

    base, _ = make_microseismic(min(n_windows, 20_000), n_timestamps, random_state=0)
    base = WaveformNormalizer().fit_transform(base).astype(np.float32)
    rng = np.random.default_rng(seed)
    for first in range(0, n_windows, base.shape[0]):
        size = min(base.shape[0], n_windows - first)
        noise = 0.05 * rng.standard_normal((size, n_timestamps), dtype=np.float32)
        yield first, base[:size] + noise


def fitted_model(path, params, n_timestamps):
    from tscc import TSCCClusterer

    X = next(microseismic_windows(2_000, n_timestamps))[1]
    TSCCClusterer(**params).fit(X).save(path)


def write_results(name, results):
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"scale_{name}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {path.relative_to(HERE.parent.parent)}")


def run_transform(args):
    """Chunked transform of a Zarr store against in-memory transform in batches."""
    import zarr

    params = {
        "depth": args.depth,
        "hidden_dims": args.hidden_dims,
        "pretrain_epochs": 1,
        "finetune_epochs": 0,
        "device": "cpu",
        "random_state": 0,
    }
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        tmp = Path(tmp)
        store = zarr.open_array(
            tmp / "windows.zarr",
            mode="w",
            shape=(args.n_windows, args.n_timestamps, 1),
            chunks=(4096, args.n_timestamps, 1),
            dtype="f4",
        )
        for first, block in microseismic_windows(args.n_windows, args.n_timestamps):
            store[first : first + block.shape[0]] = block[:, :, None]
        fitted_model(tmp / "model.tscc", params, args.n_timestamps)
        runs = []
        for _ in range(args.repeats):
            for mode in ("chunked", "in-memory"):
                result = run_worker(
                    TRANSFORM_WORKER,
                    {
                        "model": str(tmp / "model.tscc"),
                        "store": str(tmp / "windows.zarr"),
                        "mode": mode,
                        "batch": args.batch,
                        "out": str(tmp / f"{mode}.npy"),
                    },
                )
                result["series_per_s"] = args.n_windows / result["seconds"]
                runs.append(result)
                print(
                    f"{mode:>9}: {result['series_per_s']:8.0f} series/s, peak "
                    f"{result['peak_above_baseline_mb']:6.0f} MB above the baseline "
                    f"of {result['baseline_mb']:.0f} MB",
                    flush=True,
                )
        equal = np.array_equal(
            np.load(tmp / "chunked.npy"), np.load(tmp / "in-memory.npy")
        )
    chunked = [r["series_per_s"] for r in runs if r["mode"] == "chunked"]
    in_memory = [r["series_per_s"] for r in runs if r["mode"] == "in-memory"]
    summary = {
        "n_windows": args.n_windows,
        "n_timestamps": args.n_timestamps,
        "data_mb": args.n_windows * args.n_timestamps * 4 / 2**20,
        "model": params,
        "in_memory_batch": args.batch,
        "runs": runs,
        "throughput_ratio": float(np.median(chunked) / np.median(in_memory)),
        "features_equal": bool(equal),
    }
    print(
        f"chunked / in-memory throughput: {summary['throughput_ratio']:.3f}; "
        f"features identical: {equal}"
    )
    write_results(args.results, summary)


def run_fit(args):
    """Fits on memory maps of several sizes, with and without a sample, and in memory.

    The peak above the baseline grows with the number of series only through
    what is kept per series (features during fine-tuning, labels): the slope
    between two sizes, in bytes per series, is what to compare with the
    series' own size.
    """
    params = {
        "n_clusters": 2,
        "depth": args.depth,
        "hidden_dims": args.hidden_dims,
        "pretrain_epochs": args.epochs,
        "finetune_epochs": args.epochs,
        "max_train_length": args.max_train_length,
        "precision": args.precision,
        "device": "cpu",
        "random_state": 0,
    }
    largest = max(args.n_samples)
    runs = []
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        tmp = Path(tmp)
        data = tmp / "series.npy"
        X = np.lib.format.open_memmap(
            data, mode="w+", dtype=np.float32, shape=(largest, args.n_timestamps)
        )
        for first, block in microseismic_windows(largest, args.n_timestamps):
            X[first : first + block.shape[0]] = block
        X.flush()
        del X
        for n_samples in sorted(args.n_samples):
            for max_samples in args.max_samples:
                for mode in args.modes:
                    if mode == "in-memory" and max_samples is not None:
                        continue
                    name = f"{n_samples}-{max_samples}-{mode}"
                    result = run_worker(
                        FIT_WORKER,
                        {
                            "params": {**params, "max_samples": max_samples},
                            "data": str(data),
                            "n_samples": n_samples,
                            "mode": mode,
                            "out": str(tmp / f"{name}.npy"),
                        },
                    )
                    result.update(n_samples=n_samples, max_samples=max_samples)
                    runs.append(result)
                    print(
                        f"n={n_samples:>8} max_samples={max_samples!s:>6} "
                        f"{mode:>9}: fit in {result['seconds']:.0f} s, peak "
                        f"{result['peak_above_baseline_mb']:.0f} MB above the "
                        f"baseline ({n_samples * args.n_timestamps * 4 / 2**20:.0f} "
                        "MB of series)",
                        flush=True,
                    )
                if len(args.modes) == 2 and max_samples is None:
                    pair = [tmp / f"{n_samples}-None-{m}.npy" for m in args.modes]
                    equal = np.array_equal(np.load(pair[0]), np.load(pair[1]))
                    runs[-1]["labels_equal_to_memmap"] = bool(equal)
                    print(f"labels identical in memory and from the map: {equal}")
    slopes = {}
    memmap = [r for r in runs if r["mode"] == "memmap"]
    for max_samples in args.max_samples:
        same = sorted(
            (r for r in memmap if r["max_samples"] == max_samples),
            key=lambda r: r["n_samples"],
        )
        if len(same) >= 2:
            peaks = [run["peak_above_baseline_mb"] for run in (same[0], same[-1])]
            rise = peaks[1] - peaks[0]
            extra = same[-1]["n_samples"] - same[0]["n_samples"]
            slopes[str(max_samples)] = rise * 2**20 / extra
            print(
                f"max_samples={max_samples}: the peak grows by "
                f"{slopes[str(max_samples)]:.0f} bytes per series "
                f"(a series is {args.n_timestamps * 4} bytes)"
            )
    write_results(
        "fit",
        {
            "n_timestamps": args.n_timestamps,
            "model": params,
            "runs": runs,
            "bytes_per_series": slopes,
        },
    )


def run_sample(args):
    """NMI of fits on a share of the series, labels for all of them.

    Each share is fitted with ``--epochs`` epochs, and with ``--equal-budget``
    also with ``epochs / share`` epochs: the same number of training steps as
    the fit on all series, which is what a sample of a large archive allows.
    """
    from tscc import (
        TSCCClusterer,
        WaveformNormalizer,
        clustering_scores,
        make_microseismic,
    )

    X, y = make_microseismic(args.n_samples, args.n_timestamps, random_state=0)
    X = WaveformNormalizer().fit_transform(X).astype(np.float32)
    runs = [(share, args.epochs) for share in args.shares]
    if args.equal_budget:
        runs += [
            (share, round(args.epochs / share)) for share in args.shares if share < 1
        ]
    rows = []
    for seed in args.seeds:
        for share, epochs in runs:
            est = TSCCClusterer(
                n_clusters=len(np.unique(y)),
                depth=args.depth,
                hidden_dims=args.hidden_dims,
                batch_size=args.batch_size,
                lr=args.lr,
                pretrain_epochs=epochs,
                finetune_epochs=epochs,
                max_samples=None if share == 1 else share,
                random_state=seed,
            )
            start = time.perf_counter()
            labels = est.fit_predict(X)
            seconds = time.perf_counter() - start
            scores = clustering_scores(y, labels)
            rows.append(
                {
                    "share": share,
                    "epochs": epochs,
                    "seed": seed,
                    "seconds": seconds,
                    **scores,
                }
            )
            print(
                f"seed {seed} share {share:>4} epochs {epochs:>3}: "
                f"NMI {scores['nmi']:.3f} "
                f"ACC {scores['acc']:.3f} in {seconds:.0f} s",
                flush=True,
            )
    write_results(
        "sample",
        {
            "n_samples": args.n_samples,
            "n_timestamps": args.n_timestamps,
            "epochs": args.epochs,
            "depth": args.depth,
            "hidden_dims": args.hidden_dims,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "rows": rows,
        },
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    transform = commands.add_parser("transform", help=run_transform.__doc__)
    transform.add_argument("--n-windows", type=int, default=1_000_000)
    transform.add_argument("--n-timestamps", type=int, default=400)
    transform.add_argument("--batch", type=int, default=100_000)
    transform.add_argument("--repeats", type=int, default=1)
    transform.add_argument("--depth", default=10, type=_depth)
    transform.add_argument("--hidden-dims", type=int, default=64)
    transform.add_argument("--tmp", default=None, help="folder for the store")
    transform.add_argument(
        "--results",
        default="transform",
        help="results/scale_RESULTS.json (default: transform)",
    )
    transform.set_defaults(run=run_transform)

    fit = commands.add_parser("fit", help=run_fit.__doc__)
    fit.add_argument("--n-samples", type=int, nargs="+", default=[50_000, 200_000])
    fit.add_argument(
        "--max-samples",
        type=_optional_int,
        nargs="+",
        default=[None, 20_000],
        help="sample sizes to fit on ('none': all series)",
    )
    fit.add_argument("--n-timestamps", type=int, default=400)
    fit.add_argument("--epochs", type=int, default=1)
    fit.add_argument("--depth", default=2, type=_depth)
    fit.add_argument("--hidden-dims", type=int, default=16)
    # Short crops keep the contrastive loss's working set (batch x crop**2
    # similarities) small, so that the peak shows what the data cost.
    fit.add_argument("--max-train-length", type=int, default=64)
    # bfloat16 on the CPU keeps oneDNN kernels per crop shape (hundreds of MB
    # whatever the data size); float32 shows what the data cost.
    fit.add_argument("--precision", default="float32")
    fit.add_argument(
        "--modes", nargs="+", default=["memmap", "in-memory"], help="fits to run"
    )
    fit.add_argument("--tmp", default=None)
    fit.set_defaults(run=run_fit)

    sample = commands.add_parser("sample", help=run_sample.__doc__)
    sample.add_argument("--n-samples", type=int, default=20_000)
    sample.add_argument("--n-timestamps", type=int, default=400)
    sample.add_argument("--shares", type=float, nargs="+", default=[0.05, 0.2, 1])
    sample.add_argument("--seeds", type=int, nargs="+", default=[0])
    sample.add_argument("--epochs", type=int, default=5)
    sample.add_argument("--depth", default="auto", type=_depth)
    sample.add_argument("--hidden-dims", type=int, default=64)
    sample.add_argument("--batch-size", type=int, default=64)
    sample.add_argument("--lr", type=float, default=1e-3)
    sample.add_argument(
        "--equal-budget",
        action="store_true",
        help="also fit each share with epochs / share epochs (equal steps)",
    )
    sample.set_defaults(run=run_sample)

    for name, module in (("windows", "scale_windows"), ("dask", "scale_dask")):
        delegate = commands.add_parser(name, help=f"see {module}.py", add_help=False)
        delegate.set_defaults(run=None, module=module)

    args, rest = parser.parse_known_args(argv)
    if args.run is None:
        sys.path.insert(0, str(HERE))
        return __import__(args.module).main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return args.run(args)


def _optional_int(text):
    return None if text.lower() == "none" else int(text)


def _depth(text):
    return text if text == "auto" else int(text)


if __name__ == "__main__":
    main()
