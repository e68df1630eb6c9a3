"""How clustering accuracy moves during fine-tuning (a diagnostic, uses labels).

Pretrains once (cached with ``memory``), then fine-tunes once per
``--cluster-weights`` value from that same encoder. At every centre update it
scores, against the true labels, the nearest-centre labels and a fresh K-means
on the features at that point. Labels are used for the report only; the fits
never see them.

    python examples/benchmarks/finetune_trace.py --dataset phasenet-event \\
        --cluster-weights 0.1 0
    python examples/benchmarks/finetune_trace.py --dataset phasenet-event \\
        --cluster-loss fcm_ratio --cluster-weights 1

The per-update scores come from wrapping ``tscc.training.update_clusters``,
which fine-tuning calls at every centre update.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans

import tscc.training
from tscc import TSCCClusterer
from tscc.metrics import clustering_accuracy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DATASETS, DEFAULT_DATA_DIR, load_dataset  # noqa: E402


def trace_updates(y, n_clusters, trace):
    """Wrap ``update_clusters`` so that each update appends its two scores."""
    update = tscc.training.update_clusters

    def traced(encoder, series, clusters, settings, progress=None):
        updated = update(encoder, series, clusters, settings, progress)
        kmeans = KMeans(n_clusters, n_init=10, random_state=0)
        fresh = kmeans.fit_predict(updated.features.cpu().numpy())
        trace.append(
            (
                clustering_accuracy(y, updated.labels.cpu().numpy()),
                clustering_accuracy(y, fresh),
            )
        )
        return updated

    tscc.training.update_clusters = traced


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="phasenet-event", choices=DATASETS)
    parser.add_argument("--cluster-weights", type=float, nargs="+", default=[0.1, 0])
    parser.add_argument(
        "--cluster-loss",
        choices=["fcm", "fcm_ratio"],
        default="fcm",
        help="TSCCClusterer cluster_loss of every fine-tuning (default: fcm)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-samples",
        type=int,
        default=None,
        help="stratified subsample of the data set (default: all series)",
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    X, y, _ = load_dataset(args.dataset, args.data_dir, args.max_samples, "maxabs")
    n_clusters = int(np.unique(y).size)
    trace = []
    trace_updates(y, n_clusters, trace)
    with tempfile.TemporaryDirectory() as cache:
        for weight in args.cluster_weights:
            trace.clear()
            start = time.perf_counter()
            model = TSCCClusterer(
                n_clusters,
                cluster_weight=weight,
                cluster_loss=args.cluster_loss,
                random_state=args.seed,
                memory=cache,
            ).fit(X)
            finetune = [h for h in model.history_ if h["phase"] == "finetune"]
            fresh = KMeans(n_clusters, n_init=10, random_state=0).fit_predict(
                model.transform(X)
            )
            accuracy = clustering_accuracy(y, model.labels_)
            print(
                f"cluster_weight={weight:g}: ACC {accuracy:.3f}, K-means on the "
                f"final features {clustering_accuracy(y, fresh):.3f}, clustering "
                f"loss {finetune[0]['cluster']:.3f} -> {finetune[-1]['cluster']:.3f} "
                f"({time.perf_counter() - start:.0f} s)"
            )
            for i, (centre_acc, kmeans_acc) in enumerate(trace, start=1):
                epoch = i * model.center_update_interval
                print(
                    f"  epoch {epoch:>3}: nearest centre {centre_acc:.3f}, "
                    f"fresh K-means {kmeans_acc:.3f}"
                )


if __name__ == "__main__":
    main()
