"""TSCC with default parameters against K-means on a UCR data set.

Run:  python examples/benchmarks/gunpoint.py [path/to/Data.npz]
(default: ../shared/data/ucr/GunPoint.npz). TRAIN and TEST are merged in the
file; the labels are used only for scoring.
"""

import argparse
import time
from pathlib import Path

from sklearn.cluster import KMeans

from tscc import TSCCClusterer
from tscc.datasets import load_npz_dataset
from tscc.metrics import clustering_scores

DEFAULT = Path(__file__).resolve().parents[3] / "shared/data/ucr/GunPoint.npz"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "path",
        nargs="?",
        default=DEFAULT,
        help="an .npz file with X and y (default: %(default)s)",
    )
    path = parser.parse_args(argv).path
    X, y = load_npz_dataset(path)
    n_clusters = len(set(y.tolist()))
    print(f"{Path(path).stem}: X {X.shape}, {n_clusters} classes")

    start = time.perf_counter()
    raw = KMeans(n_clusters, n_init=10, random_state=0).fit_predict(X[:, :, 0])
    kmeans_seconds = time.perf_counter() - start

    start = time.perf_counter()
    clusterer = TSCCClusterer(n_clusters, random_state=0, verbose=1).fit(X)
    tscc_seconds = time.perf_counter() - start

    print(f"{'method':<22}{'NMI':>7}{'ACC':>7}{'ARI':>7}{'fit s':>9}")
    for name, labels, seconds in [
        ("KMeans (raw series)", raw, kmeans_seconds),
        ("TSCCClusterer", clusterer.labels_, tscc_seconds),
    ]:
        s = clustering_scores(y, labels)
        print(f"{name:<22}{s['nmi']:7.3f}{s['acc']:7.3f}{s['ari']:7.3f}{seconds:9.1f}")


if __name__ == "__main__":
    main()
