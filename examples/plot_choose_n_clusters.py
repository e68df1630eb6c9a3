"""
Choosing the number of clusters without labels
==============================================

How many kinds of signal are in a set of windows? Without labels, fit TSCC
for several ``n_clusters`` and score how well separated the clusters are in
the learned feature space, with the label-free scorers
:func:`tscc.metrics.silhouette_scorer` (mean silhouette) and
:func:`tscc.metrics.calinski_harabasz_scorer` (between- over within-cluster
dispersion).

Pretraining does not depend on ``n_clusters``. With a ``memory`` cache and
``finetune_epochs=0`` the grid pretrains **once**, and every further k costs
one K-means on the features; the chosen k is then fitted in full from the
same cache.

On the benchmark sets this recipe found the number of classes in 6 of 18
searches for each scorer (see the benchmarks page of the documentation): the
curve is a guide to read beside the clusters' waveforms, not an oracle. With
``TSCC_QUICK=1`` (as in the documentation build) the encoder is small and
trained for a few epochs, as in ``tscc demo --quick``.
"""

import os
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV

from tscc import TSCCClusterer, make_microseismic
from tscc.metrics import (
    calinski_harabasz_scorer,
    clustering_scores,
    silhouette_scorer,
)

QUICK = os.environ.get("TSCC_QUICK", "0") not in ("", "0")

# %%
# Windows of three kinds
# ----------------------
# Noise and two kinds of event, scaled to a peak of 1 each. The labels ``y``
# only score the result at the end.

X, y, names = make_microseismic(
    n_samples=300,
    n_timestamps=200,
    n_classes=3,
    noise_fraction=1 / 3,
    random_state=0,
    return_names=True,
)
print(f"{X.shape[0]} windows of {X.shape[1]} samples; {len(names)} kinds (hidden)")

# %%
# One pretraining, a K-means per k
# --------------------------------
# There is nothing to hold out when no labels are predicted, so the search
# has one "split" that fits and scores on all windows. ``refit=False``: the
# chosen k is fitted in full below.

if QUICK:
    settings = dict(depth=4, hidden_dims=32, batch_size=16, lr=2e-3)
    pretrain_epochs, finetune_epochs = 4, 2
else:
    settings = {}
    pretrain_epochs, finetune_epochs = 10, 10

cache = tempfile.TemporaryDirectory(prefix="tscc-cache-")
everything = np.arange(len(X))
search = GridSearchCV(
    TSCCClusterer(
        finetune_epochs=0,
        pretrain_epochs=pretrain_epochs,
        memory=cache.name,
        random_state=0,
        **settings,
    ),
    {"n_clusters": list(range(2, 7))},
    scoring={"silhouette": silhouette_scorer, "CH": calinski_harabasz_scorer},
    refit=False,
    cv=[(everything, everything)],
)
start = time.perf_counter()
search.fit(X)
print(f"searched k = 2..6 in {time.perf_counter() - start:.1f} s")

k_values = np.asarray(search.cv_results_["param_n_clusters"], dtype=int)
silhouette = search.cv_results_["mean_test_silhouette"]
calinski_harabasz = search.cv_results_["mean_test_CH"]
for k, s, ch in zip(k_values, silhouette, calinski_harabasz, strict=True):
    print(f"  k = {k}: silhouette {s:.3f}, Calinski-Harabasz {ch:8.1f}")
best_k = int(k_values[np.argmax(silhouette)])
print(f"the silhouette picks k = {best_k} (the windows hold {len(names)} kinds)")

# %%
# The score against k
# -------------------
# A clear peak says the features group the windows that many ways; a flat
# curve says they do not favour any k. A peak at 2 often means that one split
# dominates the features while finer kinds are still there to find: the
# table at the end shows which split it is.

fig, (ax_s, ax_ch) = plt.subplots(1, 2, figsize=(8, 3), layout="constrained")
ax_s.plot(k_values, silhouette, "o-")
ax_s.set(xlabel="n_clusters", ylabel="mean silhouette", title="silhouette")
ax_ch.plot(k_values, calinski_harabasz, "o-", color="tab:orange")
ax_ch.set(xlabel="n_clusters", ylabel="index", title="Calinski-Harabasz")
for ax in (ax_s, ax_ch):
    ax.axvline(best_k, color="grey", linestyle=":")
    ax.set_xticks(k_values)
plt.show()

# %%
# Fit the chosen k in full
# ------------------------
# The same cache serves the final fit: only K-means and fine-tuning run.

start = time.perf_counter()
model = TSCCClusterer(
    best_k,
    pretrain_epochs=pretrain_epochs,
    finetune_epochs=finetune_epochs,
    memory=cache.name,
    random_state=0,
    **settings,
).fit(X)
print(
    f"fitted k = {best_k} in {time.perf_counter() - start:.1f} s (pretraining cached)"
)
scores = clustering_scores(y, model.labels_)
print(
    "scored against the hidden kinds: "
    + ", ".join(f"{name.upper()} {value:.3f}" for name, value in scores.items())
)
print("clusters against the hidden kinds (rows: kind, columns: cluster):")
table = np.zeros((len(names), best_k), dtype=int)
np.add.at(table, (y, model.labels_), 1)
for name, row in zip(names, table, strict=True):
    print(f"  {name:<10}" + "".join(f"{count:6d}" for count in row))
cache.cleanup()
