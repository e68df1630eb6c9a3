"""Choosing n_clusters without labels: how often is the true number found?

For each data set and seed, the documented recipe (docs/user_guide.md,
"Choosing the number of clusters"): one ``GridSearchCV`` over
``n_clusters = 2..K`` of a ``TSCCClusterer`` that shares a ``memory`` cache, so
the encoder is pretrained once and every k costs only a K-means on the learned
features (``finetune_epochs=0``), scored by the label-free
``silhouette_scorer`` and ``calinski_harabasz_scorer``. The k each scorer picks
is compared with the number of classes; the labels are used for nothing else
(the NMI of each k is reported beside, for context).

Run: python examples/benchmarks/n_clusters.py                 (defaults; ~15 min a seed)
     python examples/benchmarks/n_clusters.py --quick         (smoke run, a minute)
     python examples/benchmarks/n_clusters.py --cache DIR     (keep the pretrained
         encoders, e.g. for quality.py --cache DIR)
"""

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from quality import DATASETS, DEFAULT_DATA_DIR, QUICK, load_dataset, settings_from
from report_tables import n_clusters_table
from sklearn.metrics import normalized_mutual_info_score
from sklearn.model_selection import GridSearchCV

import tscc
from tscc import TSCCClusterer
from tscc.metrics import calinski_harabasz_scorer, silhouette_scorer

SCORERS = {
    "silhouette": silhouette_scorer,
    "calinski_harabasz": calinski_harabasz_scorer,
}
# Seismic default: the synthetic set at the paper's size takes an hour a seed.
DEFAULT_DATASETS = [name for name in DATASETS if name != "synthetic"]


def log(message):
    print(message, file=sys.stderr, flush=True)


def search_n_clusters(X, y, k_values, seed, params, cache):
    """The GridSearchCV of the recipe; returns its ``cv_results_``.

    Beside the label-free scorers it records the NMI of each k against ``y``,
    for the report only: ``y`` is never passed to ``fit``.
    """

    def nmi_against_y(estimator, X, y_ignored=None):
        # The one split fits and scores all series, so the fitted labels are
        # those of the scored series.
        return normalized_mutual_info_score(y, estimator.labels_)

    everything = np.arange(len(X))
    search = GridSearchCV(
        TSCCClusterer(random_state=seed, memory=cache, finetune_epochs=0, **params),
        {"n_clusters": list(k_values)},
        scoring={**SCORERS, "nmi": nmi_against_y},
        refit=False,
        # One "split" that trains and scores on all series: there is nothing
        # to hold out when no labels are predicted.
        cv=[(everything, everything)],
    )
    search.fit(X)
    return search.cv_results_


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="200 series, 2 epochs, depth 3, seed 0"
    )
    parser.add_argument(
        "--datasets", nargs="+", choices=list(DATASETS), default=DEFAULT_DATASETS
    )
    parser.add_argument(
        "--seeds", nargs="+", type=int, default=None, help="default 0 1 2 (--quick: 0)"
    )
    parser.add_argument(
        "--k-max", type=int, default=8, help="largest k tried (default 8)"
    )
    parser.add_argument("--pretrain-epochs", type=int, default=None)
    parser.add_argument(
        "--depth", type=lambda t: t if t == "auto" else int(t), default=None
    )
    parser.add_argument("--max-samples", type=int, default=None)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch.set_num_threads"
    )
    parser.add_argument(
        "--cache", type=Path, default=None, help="memory folder kept after the run"
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--out", type=Path, default=Path("n_clusters_results.json"))
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    quick = QUICK if args.quick else {}
    seeds = args.seeds if args.seeds is not None else ([0] if args.quick else [0, 1, 2])
    max_samples = args.max_samples or quick.get("max_samples")
    params = settings_from(args, quick, ("pretrain_epochs", "depth"))
    k_values = range(2, args.k_max + 1)
    records, start = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        cache = str(args.cache or scratch)
        for name in args.datasets:
            X, y, note = load_dataset(name, args.data_dir, max_samples)
            n_classes = int(np.unique(y).size)
            log(f"{name}: X {X.shape}, {n_classes} classes ({note})")
            for seed in seeds:
                began = time.perf_counter()
                results = search_n_clusters(X, y, k_values, seed, params, cache)
                seconds = time.perf_counter() - began
                curves = {s: results[f"mean_test_{s}"].tolist() for s in SCORERS}
                nmi = results["mean_test_nmi"].tolist()
                chosen = {
                    s: int(k_values[int(np.argmax(c))]) for s, c in curves.items()
                }
                records.append(
                    {
                        "dataset": name,
                        "seed": seed,
                        "n_classes": n_classes,
                        "n_samples": int(X.shape[0]),
                        "k": list(k_values),
                        "scores": curves,
                        "nmi": nmi,
                        "chosen": chosen,
                        "seconds": seconds,
                    }
                )
                log(
                    f"  seed {seed}: chosen {chosen} (true {n_classes}), {seconds:.0f}s"
                )
                write(args, seeds, params, records, start)
    print(n_clusters_table(records))


def write(args, seeds, params, records, start):
    meta = {
        "command": " ".join(["python", *sys.argv]),
        "seeds": seeds,
        "tscc_params": params,
        "tscc_version": tscc.__version__,
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "total_seconds": time.perf_counter() - start,
    }
    args.out.write_text(json.dumps({"meta": meta, "results": records}, indent=2))


if __name__ == "__main__":
    main()
