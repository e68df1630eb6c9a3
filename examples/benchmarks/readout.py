"""Feature readouts and consensus on pretrained TSCC encoders (issue 17 levers).

The contrastive loss compares dot products of the features, while TSCC's
K-means initialisation and clustering term use Euclidean distances on the raw
features. This script measures, with no training beyond the pretraining
already cached by ``n_clusters.py --cache DIR`` (or done here), how K-means
does on readouts of the same pretrained features ``R`` (``finetune_epochs=0``):

- ``R`` (TSCC's own: the labels of the pretraining-only fit);
- ``L2-normalised R`` (R / ||R||, the geometry the contrastive loss trains);
- ``standardised R`` (each feature to unit variance);
- ``whitened R`` (PCA whitening: every direction of R equally weighted);
- ``pyramid R``: the per-timestamp representations max-pooled over the whole
  series, its halves and its quarters, concatenated (7 x repr_dims numbers):
  where in the window things happen, which one max over the window discards;
- ``consensus``: the seeds' ``R`` labels combined by co-association
  (average-linkage clustering of how often two series share a cluster);
- ``concatenated seeds``: K-means on the seeds' L2-normalised R side by side.

The last two use every seed at once, so they have one value per data set.

Run: python examples/benchmarks/readout.py --cache DIR [--threads 2]
     python examples/benchmarks/readout.py --cache DIR --quick   (smoke run)
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from n_clusters import DEFAULT_DATASETS
from quality import DATASETS, DEFAULT_DATA_DIR, QUICK, load_dataset
from report_tables import readout_table
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler, normalize

from tscc import TSCCClusterer
from tscc.metrics import clustering_scores

PER_SEED = ("R", "L2-normalised R", "standardised R", "whitened R", "pyramid R")
PYRAMID_LEVELS = (1, 2, 4)
ACROSS_SEEDS = ("consensus", "concatenated seeds")


def log(message):
    print(message, file=sys.stderr, flush=True)


def kmeans(features, n_clusters, seed):
    return KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(features)


def pyramid_features(encoder, X, batch_size=64):
    """Max-pools of the per-timestamp representations over 1, 2 and 4 segments."""
    encoder.eval()
    pooled = []
    with torch.inference_mode():
        for start in range(0, len(X), batch_size):
            z = encoder(torch.as_tensor(X[start : start + batch_size]))
            pooled.append(
                torch.cat(
                    [
                        segment.amax(dim=1)
                        for parts in PYRAMID_LEVELS
                        for segment in torch.tensor_split(z, parts, dim=1)
                    ],
                    dim=1,
                )
            )
    return torch.cat(pooled).double().numpy()


def per_seed_readouts(model, X, features, n_clusters, seed):
    return {
        "R": model.labels_,
        "L2-normalised R": kmeans(normalize(features), n_clusters, seed),
        "standardised R": kmeans(
            StandardScaler().fit_transform(features), n_clusters, seed
        ),
        "whitened R": kmeans(
            PCA(whiten=True, random_state=seed).fit_transform(features),
            n_clusters,
            seed,
        ),
        "pyramid R": kmeans(pyramid_features(model.encoder_, X), n_clusters, seed),
    }


def co_association_consensus(labelings, n_clusters):
    """Average-linkage clusters of 1 - (share of labelings that pair two series)."""
    labelings = np.asarray(labelings)
    together = np.mean(
        [labels[:, None] == labels[None, :] for labels in labelings], axis=0
    )
    return AgglomerativeClustering(
        n_clusters, metric="precomputed", linkage="average"
    ).fit_predict(1.0 - together)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument(
        "--quick", action="store_true", help="200 series, 2 epochs, depth 3"
    )
    parser.add_argument(
        "--datasets", nargs="+", choices=list(DATASETS), default=DEFAULT_DATASETS
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--out", type=Path, default=Path("readout_results.json"))
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    quick = QUICK if args.quick else {}
    params = {k: quick[k] for k in ("pretrain_epochs", "depth") if k in quick}
    records = []
    for name in args.datasets:
        X, y, note = load_dataset(name, args.data_dir, quick.get("max_samples"))
        n_clusters = int(np.unique(y).size)
        log(f"{name}: X {X.shape}, {n_clusters} classes ({note})")
        labelings, features_of_seeds = [], []
        for seed in args.seeds:
            model = TSCCClusterer(
                n_clusters,
                finetune_epochs=0,
                memory=str(args.cache),
                random_state=seed,
                **params,
            ).fit(X)
            features = model.transform(X).astype(np.float64)
            for readout, labels in per_seed_readouts(
                model, X, features, n_clusters, seed
            ).items():
                records.append(
                    {"dataset": name, "readout": readout, "seed": seed}
                    | clustering_scores(y, labels)
                )
            labelings.append(model.labels_)
            features_of_seeds.append(normalize(features))
        across = {
            "consensus": co_association_consensus(labelings, n_clusters),
            "concatenated seeds": kmeans(
                np.concatenate(features_of_seeds, axis=1), n_clusters, 0
            ),
        }
        for readout, labels in across.items():
            records.append(
                {"dataset": name, "readout": readout, "seed": None}
                | clustering_scores(y, labels)
            )
        for r in records:
            if r["dataset"] == name:
                log(f"  {r['readout']:<20} seed {r['seed']}: NMI {r['nmi']:.3f}")
    args.out.write_text(json.dumps({"command": sys.argv, "results": records}, indent=2))
    print(readout_table(records, "nmi", PER_SEED + ACROSS_SEEDS))
    print()
    print(readout_table(records, "acc", PER_SEED + ACROSS_SEEDS))


if __name__ == "__main__":
    main()
