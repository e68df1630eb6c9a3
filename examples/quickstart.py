"""Cluster synthetic microseismic waveforms with TSCC and compare with K-means.

Generates 300 labelled waveforms (noise, impulsive events, emergent events;
2 s at 100 Hz, each scaled to max |x| = 1), fits ``TSCCClusterer`` without the
labels, and scores both TSCC and K-means on the raw waveforms against them.

Run: python examples/quickstart.py   (about a minute on a 2-core CPU)
"""

import time

import numpy as np
from sklearn.cluster import KMeans

from tscc import TSCCClusterer, clustering_scores, make_microseismic

X, y, names = make_microseismic(
    n_samples=300,
    n_timestamps=200,
    n_classes=3,
    noise_fraction=1 / 3,
    random_state=0,
    return_names=True,
)
n_clusters = len(names)
print(
    f"Data: {X.shape[0]} waveforms of {X.shape[1]} samples, classes {', '.join(names)}"
)

start = time.perf_counter()
kmeans_labels = KMeans(n_clusters, n_init=10, random_state=0).fit_predict(X)
kmeans_seconds = time.perf_counter() - start

clusterer = TSCCClusterer(
    n_clusters, pretrain_epochs=10, finetune_epochs=10, random_state=0, verbose=1
)
start = time.perf_counter()
labels = clusterer.fit_predict(X)
tscc_seconds = time.perf_counter() - start

print()
print(f"{'method':<24}{'ACC':>7}{'NMI':>7}{'ARI':>7}{'seconds':>9}")
for name, pred, seconds in [
    ("KMeans on waveforms", kmeans_labels, kmeans_seconds),
    ("TSCCClusterer", labels, tscc_seconds),
]:
    s = clustering_scores(y, pred)
    print(f"{name:<24}{s['acc']:7.3f}{s['nmi']:7.3f}{s['ari']:7.3f}{seconds:9.1f}")

print("\nTSCC clusters against the true classes (rows: class, columns: cluster):")
table = np.zeros((len(names), n_clusters), dtype=int)
np.add.at(table, (y, labels), 1)
for name, row in zip(names, table, strict=True):
    print(f"  {name:<10}" + "".join(f"{count:6d}" for count in row))
