"""Probe benchmark: how much class information do the TSCC features R hold?

TSCC is fitted without labels on all series of a data set; then logistic
regression, KNN and an SVM are trained with 5-fold stratified cross-validation
on (a) the raw normalised series and (b) the features R = ``transform(X)``.
This measures the quality of the learned features, not the clustering: the
probes see the labels of the training folds. On the PhaseNet windows the folds
are grouped by source trace (``StratifiedGroupKFold``), so the three windows cut
from one recording never sit on both sides of a split.

Reported per probe: ACC (plain accuracy of the out-of-fold predictions), NMI
between out-of-fold predictions and labels, and AUPRC (average precision of the
out-of-fold scores; macro one-vs-rest for more than two classes).

Run: python examples/benchmarks/probes.py            (full run: hours on a CPU)
     python examples/benchmarks/probes.py --quick    (smoke run, about a minute)
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from report_tables import probe_table
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    normalized_mutual_info_score,
)
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, label_binarize
from sklearn.svm import SVC

import tscc
from tscc import (
    TSCCClusterer,
    WaveformNormalizer,
    load_phasenet_windows,
    make_microseismic,
)

DATASETS = ("phasenet-event", "phasenet-phase", "synthetic")
SYNTHETIC_SIZE = (4928, 500)
QUICK = {"max_samples": 200, "pretrain_epochs": 2, "finetune_epochs": 2, "depth": 3}
PROBES = {
    "LogReg": lambda: make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=2000)
    ),
    "KNN": lambda: make_pipeline(StandardScaler(), KNeighborsClassifier(5)),
    "SVM": lambda: make_pipeline(StandardScaler(), SVC(kernel="rbf")),
}


def log(message):
    print(message, file=sys.stderr, flush=True)


def load_dataset(name, max_samples=None):
    """Return ``X`` (n, T, 1) normalised (demean, detrend, maxabs), ``y``, groups."""
    if name == "synthetic":
        n_samples, n_timestamps = SYNTHETIC_SIZE
        if max_samples is not None:
            n_samples = min(n_samples, max_samples)
        X, y = make_microseismic(
            n_samples, n_timestamps, normalize=False, random_state=0
        )
        X, groups = X[:, :, np.newaxis], None
    else:
        task = "event_vs_noise" if name == "phasenet-event" else "phase"
        data = load_phasenet_windows(task=task, channels="Z")
        X, y, groups = data.data, data.target, data.trace_id
        if max_samples is not None and X.shape[0] > max_samples:
            # Keep whole traces, so that grouped folds stay meaningful.
            traces = np.unique(groups)
            per_trace = X.shape[0] // traces.size
            rng = np.random.default_rng(0)
            keep_traces = rng.choice(traces, max_samples // per_trace, replace=False)
            keep = np.isin(groups, keep_traces)
            X, y, groups = X[keep], y[keep], groups[keep]
    X = WaveformNormalizer(normalize="maxabs").fit_transform(X.astype(np.float32))
    return X, np.asarray(y, dtype=np.int64), groups


def probe_scores(features, y, groups, seed):
    """Out-of-fold ACC, NMI and AUPRC of every probe on ``features``."""
    if groups is None:
        folds = StratifiedKFold(5, shuffle=True, random_state=seed).split(features, y)
    else:
        folds = StratifiedGroupKFold(5, shuffle=True, random_state=seed).split(
            features, y, groups
        )
    folds = list(folds)
    classes = np.unique(y)
    results = {}
    for name, make_probe in PROBES.items():
        start = time.perf_counter()
        predicted = np.empty_like(y)
        scores = np.empty((y.size, classes.size))
        for train, test in folds:
            probe = make_probe().fit(features[train], y[train])
            predicted[test] = probe.predict(features[test])
            if hasattr(probe, "predict_proba"):
                score = probe.predict_proba(features[test])
            else:
                score = probe.decision_function(features[test])
            if score.ndim == 1:  # binary decision function: score of class 1
                score = np.column_stack([-score, score])
            scores[test] = score
        if classes.size == 2:
            auprc = average_precision_score(y == classes[1], scores[:, 1])
        else:
            auprc = average_precision_score(
                label_binarize(y, classes=classes), scores, average="macro"
            )
        results[name] = {
            "acc": float(accuracy_score(y, predicted)),
            "nmi": float(normalized_mutual_info_score(y, predicted)),
            "auprc": float(auprc),
            "seconds": time.perf_counter() - start,
        }
    return results


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: at most 200 series per data set, 2 + 2 epochs, depth 3",
    )
    parser.add_argument(
        "--datasets", nargs="+", choices=DATASETS, default=list(DATASETS)
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=[0],
        help="random states of TSCC and of the fold shuffling (default: 0)",
    )
    parser.add_argument("--pretrain-epochs", type=int, default=None)
    parser.add_argument("--finetune-epochs", type=int, default=None)
    parser.add_argument("--depth", type=int, default=None)
    parser.add_argument("--max-samples", type=int, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch.set_num_threads"
    )
    parser.add_argument("--out", type=Path, default=Path("probe_results.json"))
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    quick = QUICK if args.quick else {}
    max_samples = args.max_samples or quick.get("max_samples")
    params = {"device": args.device}
    for key in ("pretrain_epochs", "finetune_epochs", "depth"):
        value = getattr(args, key)
        if value is None:
            value = quick.get(key)
        if value is not None:
            params[key] = value

    records = []
    total_start = time.perf_counter()
    for dataset in args.datasets:
        X, y, groups = load_dataset(dataset, max_samples)
        n_clusters = int(np.unique(y).size)
        log(f"{dataset}: X {X.shape}, {n_clusters} classes")
        for seed in args.seeds:
            start = time.perf_counter()
            model = TSCCClusterer(n_clusters, random_state=seed, **params)
            features = {
                "TSCC R": model.fit_transform(X),  # unsupervised, all series
                "raw": X.reshape(len(X), -1),
            }
            log(f"  seed {seed}: TSCC fit {time.perf_counter() - start:.1f}s")
            for input_name, values in features.items():
                for probe, scores in probe_scores(values, y, groups, seed).items():
                    records.append(
                        {
                            "dataset": dataset,
                            "input": input_name,
                            "probe": probe,
                            "seed": seed,
                            "n_samples": int(X.shape[0]),
                            "grouped_folds": groups is not None,
                            **scores,
                        }
                    )
                    log(
                        f"    {input_name:<7}{probe:<7} ACC {scores['acc']:.3f} "
                        f"NMI {scores['nmi']:.3f} AUPRC {scores['auprc']:.3f}"
                    )

    print(probe_table(records, args.datasets, PROBES))
    meta = {
        "command": " ".join(["python", *sys.argv]),
        "quick": args.quick,
        "seeds": args.seeds,
        "tscc_params": params,
        "tscc_version": tscc.__version__,
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "total_seconds": time.perf_counter() - total_start,
    }
    args.out.write_text(json.dumps({"meta": meta, "results": records}, indent=2))
    log(f"wrote {args.out} ({meta['total_seconds']:.0f}s in all)")


if __name__ == "__main__":
    main()
