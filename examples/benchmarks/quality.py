"""Clustering quality benchmark: TSCC beside the classic baselines and anchors.

Protocol (docs/benchmarks.md): all series of each data set, n_clusters = number
of classes, labels used for scoring only. Methods:

- ``TSCC``: ``TSCCClusterer`` with its defaults (25 + 25 epochs, depth 10);
- ``TSCC pretrain + K-means``: the same fit stopped after pretraining (K-means
  centres on the features R, nearest-centre labels): does fine-tuning help?
- ``K-means raw``: K-means (n_init=10) on the normalised series;
- ``K-means spectrum``: K-means (n_init=10) on the first 20 principal components
  of the log amplitude spectrum (the paper's spectral baseline);
- the anchors of ``anchors.py`` (the ``bench`` extra): ``k-Shape``,
  ``R-Clustering`` (MiniRocket -> scaling -> PCA -> K-means) and, on the
  seismic sets, ``Scattering + GMM``.

Each method runs with every seed; the table gives mean ± std over the seeds of
ACC (Hungarian-matched accuracy), NMI, ARI and the fit time in seconds.
``--report`` merges result files (say TSCC's and the anchors', run apart) into
one table per score with a column per method and a mean-rank row.

Run: python examples/benchmarks/quality.py            (full run: hours on a CPU)
     python examples/benchmarks/quality.py --quick    (smoke run, a few minutes)
     python examples/benchmarks/quality.py --methods kshape random-kernels scattering
     python examples/benchmarks/quality.py --report tscc.json anchors.json
"""

import argparse
import ast
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from anchors import kshape, random_kernel_clustering, scattering_gmm
from report_tables import merge_records, ordered_datasets, report
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

import tscc
import tscc.estimator
import tscc.training
from tscc import (
    TSCCClusterer,
    WaveformNormalizer,
    load_npz_dataset,
    load_phasenet_windows,
    make_microseismic,
)
from tscc.metrics import clustering_scores

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data"

# name -> (kind, argument, per-series normalisation)
DATASETS = {
    "synthetic": ("synthetic", None, "maxabs"),
    "phasenet-event": ("phasenet", "event_vs_noise", "maxabs"),
    "phasenet-phase": ("phasenet", "phase", "maxabs"),
    "GunPoint": ("ucr", "GunPoint", "zscore"),
    "ItalyPowerDemand": ("ucr", "ItalyPowerDemand", "zscore"),
    "ArrowHead": ("ucr", "ArrowHead", "zscore"),
    "Coffee": ("ucr", "Coffee", "zscore"),
}
# --methods names -> the table's methods they run
METHOD_GROUPS = {
    "tscc": ("TSCC", "TSCC pretrain + K-means"),
    "kmeans": ("K-means raw", "K-means spectrum"),
    "kshape": ("k-Shape",),
    "random-kernels": ("R-Clustering",),
    "scattering": ("Scattering + GMM",),
}
# Scattering networks are built for waveforms; the UCR sets are not.
SEISMIC_ONLY = {"Scattering + GMM"}
SYNTHETIC_SIZE = (4928, 500)  # the paper's synthetic set
QUICK = {"max_samples": 200, "pretrain_epochs": 2, "finetune_epochs": 2, "depth": 3}
N_SPECTRUM_COMPONENTS = 20


def log(message):
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def load_dataset(name, data_dir, max_samples=None, seismic_norm="maxabs"):
    """Return ``X`` (n, T, C) float32, normalised per series, ``y`` and a note."""
    kind, arg, norm = DATASETS[name]
    if kind == "synthetic":
        n_samples, n_timestamps = SYNTHETIC_SIZE
        if max_samples is not None:
            n_samples = min(n_samples, max_samples)
        X, y = make_microseismic(
            n_samples, n_timestamps, normalize=False, random_state=0
        )
        X = X[:, :, np.newaxis]
        note = f"make_microseismic({n_samples}, {n_timestamps}, random_state=0)"
    elif kind == "phasenet":
        X, y = load_phasenet_windows(task=arg, channels="Z", return_X_y=True)
        note = f"load_phasenet_windows(task={arg!r}, channels='Z')"
    else:
        X, y = load_npz_dataset(Path(data_dir) / "ucr" / f"{arg}.npz")
        note = f"ucr/{arg}.npz (TRAIN + TEST)"
    if max_samples is not None and X.shape[0] > max_samples:
        X, _, y, _ = train_test_split(
            X, y, train_size=max_samples, stratify=y, random_state=0
        )
        note += f", stratified subsample of {max_samples}"
    if kind != "ucr":
        norm = seismic_norm
    X = WaveformNormalizer(normalize=norm).fit_transform(X.astype(np.float32))
    return X, np.asarray(y, dtype=np.int64), f"{note}; demean, detrend, {norm}"


def log_spectrum(X):
    """Log amplitude spectrum of each channel, channels concatenated."""
    spectrum = np.abs(np.fft.rfft(X, axis=1))
    return np.log(spectrum + 1e-6).reshape(X.shape[0], -1)


# ---------------------------------------------------------------------------
# Methods
# ---------------------------------------------------------------------------


def run_tscc(X, n_clusters, seed, params, cache=None):
    """Return {method: (labels, seconds)} for the two TSCC variants.

    The pretraining-only fit (``finetune_epochs=0``) and the full fit share a
    ``memory`` cache, so the full fit loads the pretrained encoder instead of
    pretraining again; fine-tuning draws from its own random streams, so the
    result is the one a fit without the cache gives.
    """
    with tempfile.TemporaryDirectory() as scratch:
        cache = str(cache or scratch)
        start = time.perf_counter()
        pretrain_only = TSCCClusterer(
            n_clusters,
            random_state=seed,
            memory=cache,
            **{**params, "finetune_epochs": 0},
        ).fit(X)
        pretrain_seconds = time.perf_counter() - start
        start = time.perf_counter()
        model = TSCCClusterer(
            n_clusters, random_state=seed, memory=cache, **params
        ).fit(X)
        finetune_seconds = time.perf_counter() - start
    return {
        "TSCC": (model.labels_, pretrain_seconds + finetune_seconds),
        "TSCC pretrain + K-means": (pretrain_only.labels_, pretrain_seconds),
    }


def timed(method, *args):
    """``(labels, seconds)`` of ``method(*args)``."""
    start = time.perf_counter()
    labels = method(*args)
    return labels, time.perf_counter() - start


def run_methods(groups, X, n_clusters, seed, params, seismic, cache=None):
    """Return {method: (labels, seconds)} for the chosen method groups."""
    results = {}
    if "tscc" in groups:
        results.update(run_tscc(X, n_clusters, seed, params, cache))
    if "kmeans" in groups:
        results["K-means raw"] = run_kmeans(X.reshape(len(X), -1), n_clusters, seed)
        results["K-means spectrum"] = run_spectrum(X, n_clusters, seed)
    if "kshape" in groups:
        results["k-Shape"] = timed(kshape, X, n_clusters, seed)
    if "random-kernels" in groups:
        results["R-Clustering"] = timed(random_kernel_clustering, X, n_clusters, seed)
    if "scattering" in groups and seismic:
        results["Scattering + GMM"] = timed(scattering_gmm, X, n_clusters, seed)
    return results


def run_kmeans(features, n_clusters, seed):
    start = time.perf_counter()
    labels = KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(features)
    return labels, time.perf_counter() - start


def run_spectrum(X, n_clusters, seed):
    start = time.perf_counter()
    spectrum = log_spectrum(X)
    n_components = min(N_SPECTRUM_COMPONENTS, *spectrum.shape)
    reduced = PCA(n_components, random_state=seed).fit_transform(spectrum)
    labels = KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(reduced)
    return labels, time.perf_counter() - start


def settings_from(args, quick, names):
    """Estimator parameters ``names`` given on the command line, else by ``quick``.

    A name neither sets is left out, so the estimator's default applies.
    """
    settings = {}
    for name in names:
        value = getattr(args, name)
        value = quick.get(name) if value is None else value
        if value is not None:
            settings[name] = value
    return settings


def parse_setting(text):
    """``"name=value"`` -> ``(name, value)``, a Python literal where it is one."""
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected PARAM=VALUE, got {text!r}")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: at most 200 series per data set, 2 + 2 epochs, depth 3, "
        "one seed",
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=list(DATASETS),
        default=list(DATASETS),
        metavar="NAME",
        help=f"subset of data sets (default: all of {', '.join(DATASETS)})",
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=None,
        help="random states (default: 0 1 2; --quick: 0)",
    )
    parser.add_argument("--pretrain-epochs", type=int, default=None)
    parser.add_argument("--finetune-epochs", type=int, default=None)
    parser.add_argument(
        "--depth",
        type=lambda text: text if text == "auto" else int(text),
        default=None,
        help='encoder depth, an integer or "auto" (default: 10; --quick: 3)',
    )
    parser.add_argument(
        "--max-samples",
        type=int,
        default=None,
        help="stratified subsample of each data set (default: all; --quick: 200)",
    )
    parser.add_argument(
        "--seismic-norm",
        choices=["maxabs", "zscore"],
        default="maxabs",
        help="per-series scaling of the seismic sets (UCR sets are always z-scored)",
    )
    parser.add_argument(
        "--cluster-loss",
        choices=["fcm", "fcm_ratio"],
        default=None,
        help="TSCCClusterer cluster_loss (default: the estimator's, fcm_ratio)",
    )
    parser.add_argument(
        "--cluster-weight",
        type=float,
        default=None,
        help="TSCCClusterer cluster_weight (default: the estimator's, auto)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        type=parse_setting,
        help="any other TSCCClusterer parameter, e.g. --set batch_size=16 "
        "--set lr=2e-3 (repeatable; the value is read as a Python literal)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="memory folder for TSCC's pretraining, kept after the run (default: "
        "a temporary one per seed); the TSCC fit time then counts a cached "
        "pretraining as the time to load it",
    )
    parser.add_argument(
        "--feature-norm",
        choices=["none", "l2"],
        default="none",
        help="TSCCClusterer feature_norm: l2 clusters unit-length features "
        "(default: none, the paper's max-pooled features)",
    )
    parser.add_argument(
        "--average-from",
        type=int,
        default=None,
        metavar="EPOCH",
        help="experiment, not an estimator setting: end pretraining with the "
        "mean of the weights after epochs EPOCH..last (stochastic weight "
        "averaging); never combine with --cache",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--precision",
        choices=["auto", "float32", "bfloat16"],
        default="auto",
        help="TSCCClusterer precision (default: auto)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch.set_num_threads"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"folder holding ucr/ (default: {DEFAULT_DATA_DIR})",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("quality_results.json"), help="JSON results"
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=list(METHOD_GROUPS),
        default=list(METHOD_GROUPS),
        metavar="GROUP",
        help="methods to run: tscc (TSCC and its pretraining-only fit), kmeans "
        "(raw and spectrum), kshape, random-kernels, scattering (seismic sets "
        "only); default: all",
    )
    parser.add_argument(
        "--report",
        nargs="+",
        type=Path,
        metavar="JSON",
        help="print the tables of these result files merged (runs nothing); "
        "a data set, method and seed found in several files is taken from the "
        "first",
    )
    return parser.parse_args(argv)


class WeightMean:
    """The mean of an encoder's weights over the epochs :meth:`add` saw."""

    def __init__(self):
        self.sums, self.count = {}, 0

    def add(self, encoder):
        for name, value in encoder.state_dict().items():
            value = value.detach().double().cpu()
            self.sums[name] = self.sums[name] + value if name in self.sums else value
        self.count += 1

    def state_dict(self):
        # The encoder has no normalisation layers: averaged weights need no
        # statistics recomputed.
        return {name: (total / self.count).float() for name, total in self.sums.items()}


def average_pretrained_weights(first_epoch):
    """Make every pretraining return its weights averaged over the last epochs.

    An experiment for issue 17 (see ``pretrain_trace.py --average-from``):
    ``tscc.estimator.pretrain_encoder`` is wrapped so that the state after
    each pretraining epoch from ``first_epoch`` on is summed, and the mean
    replaces the final weights. Fine-tuning is untouched. A ``memory`` cache
    filled without it would hand back plain weights, hence no ``--cache``.
    """
    pretrain_encoder = tscc.estimator.pretrain_encoder
    train_epoch = tscc.training.train_epoch

    def averaged(*args, **kwargs):
        mean, epochs = WeightMean(), []

        def summing_epoch(model, *epoch_args, **epoch_kwargs):
            losses = train_epoch(model, *epoch_args, **epoch_kwargs)
            epochs.append(losses)
            if len(epochs) >= first_epoch:
                mean.add(model.encoder)  # the step's losses hold the encoder
            return losses

        tscc.training.train_epoch = summing_epoch
        try:
            state, history, completed = pretrain_encoder(*args, **kwargs)
        finally:
            tscc.training.train_epoch = train_epoch
        return (mean.state_dict() if mean.count else state), history, completed

    tscc.estimator.pretrain_encoder = averaged


def main(argv=None):
    args = parse_args(argv)
    if args.average_from is not None:
        if args.cache is not None:
            raise SystemExit("--average-from cannot use --cache: see its help")
        average_pretrained_weights(args.average_from)
    if args.report:
        # A (data set, method, seed) measured in several files counts once:
        # the first file that has it wins.
        records = merge_records(args.report)
        print(report(records, ordered_datasets(records, DATASETS)))
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    quick = QUICK if args.quick else {}
    seeds = args.seeds if args.seeds is not None else ([0] if args.quick else [0, 1, 2])
    max_samples = args.max_samples or quick.get("max_samples")
    params = {"device": args.device, "precision": args.precision}
    params |= settings_from(
        args,
        quick,
        (
            "pretrain_epochs",
            "finetune_epochs",
            "depth",
            "cluster_loss",
            "cluster_weight",
        ),
    )
    if args.feature_norm != "none":
        params["feature_norm"] = args.feature_norm
    params.update(args.set)

    records, notes = [], {}
    total_start = time.perf_counter()
    for name in args.datasets:
        X, y, note = load_dataset(name, args.data_dir, max_samples, args.seismic_norm)
        n_clusters = int(np.unique(y).size)
        notes[name] = note
        log(f"{name}: X {X.shape}, {n_clusters} classes ({note})")
        for seed in seeds:
            seismic = DATASETS[name][0] != "ucr"
            results = run_methods(
                args.methods, X, n_clusters, seed, params, seismic, args.cache
            )
            for method, (labels, seconds) in results.items():
                scores = clustering_scores(y, labels)
                records.append(
                    {
                        "dataset": name,
                        "method": method,
                        "seed": seed,
                        "n_samples": int(X.shape[0]),
                        "n_timestamps": int(X.shape[1]),
                        "n_channels": int(X.shape[2]),
                        "n_clusters": n_clusters,
                        "n_clusters_found": int(np.unique(labels).size),
                        **{k: float(v) for k, v in scores.items()},
                        "seconds": float(seconds),
                    }
                )
                log(
                    f"  seed {seed} {method:<24} ACC {scores['acc']:.3f} "
                    f"NMI {scores['nmi']:.3f} ARI {scores['ari']:.3f} "
                    f"({seconds:.1f}s)"
                )
            # A run of hours keeps what it measured if it is stopped.
            write_results(
                args, seeds, params, notes, records, total_start, complete=False
            )

    print(report(records, args.datasets))
    total = write_results(
        args, seeds, params, notes, records, total_start, complete=True
    )
    log(f"wrote {args.out} ({total:.0f}s in all)")


def write_results(args, seeds, params, notes, records, total_start, *, complete):
    """Write the JSON results so far; return the seconds since the start."""
    meta = {
        "command": " ".join(["python", *sys.argv]),
        "complete": complete,
        "quick": args.quick,
        "methods": args.methods,
        "feature_norm": args.feature_norm,
        "average_from": args.average_from,
        "seeds": seeds,
        "tscc_params": params,
        "datasets": notes,
        "tscc_version": tscc.__version__,
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "processor": platform.processor(),
        "total_seconds": time.perf_counter() - total_start,
    }
    args.out.write_text(json.dumps({"meta": meta, "results": records}, indent=2))
    return meta["total_seconds"]


if __name__ == "__main__":
    main()
