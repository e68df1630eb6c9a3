"""
Pipelines and grid search with a pretraining cache
==================================================

:class:`~tscc.TSCCClusterer` is a scikit-learn estimator, so it sits at the end
of a :class:`~sklearn.pipeline.Pipeline` behind the waveform preprocessing and
is tuned with :class:`~sklearn.model_selection.GridSearchCV` like any other.

About 40 % of the cost of a default fit is the contrastive pretraining of the
encoder (as many steps as fine-tuning, whose steps cost about 1.4 times
more), and pretraining does not depend on ``n_clusters``, ``m``,
``cluster_weight`` or any other fine-tuning parameter. With ``memory=`` (a
cache directory) the pretrained encoder is cached, keyed by the training data
and the pretraining parameters, so a grid over clustering parameters
pretrains **once per fold** instead of once per candidate and fold, and gets
exactly the same results.

This example tunes ``n_clusters`` and ``m`` with labels (adjusted Rand index
and matched accuracy), times the same search without the cache, then runs a
search **without labels**, scored by the estimator's own ``score`` (the
negative fuzzy clustering objective on held-out series).

With ``TSCC_QUICK=1`` (as in the documentation build) the data set, the encoder
and the training are tiny: **a smoke run**. Its timings show the mechanism,
not real costs, and its scores (ARI near 0) are those of an encoder trained
for a few steps on 100 series, not what TSCC achieves; the quickstart and the
miniSEED example show the method's quality at quick settings.
"""

import os
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from tscc import TSCCClusterer, WaveformNormalizer, make_microseismic
from tscc.metrics import clustering_accuracy_scorer

QUICK = os.environ.get("TSCC_QUICK", "0") not in ("", "0")

# %%
# Raw waveforms and a pipeline
# ----------------------------
# ``normalize=False`` returns the waveforms as recorded: unit-variance noise
# with events on top, at signal-to-noise ratios from -5 to 10 dB. The strong
# events are far larger than the noise windows, so the pipeline first
# demeans, detrends and scales each waveform to a peak of 1 with
# :class:`~tscc.WaveformNormalizer`. That transformer is stateless (each
# waveform on its own), so it leaks nothing between the folds.

n_samples = 150 if QUICK else 600
X, y = make_microseismic(
    n_samples,
    200,
    n_classes=3,
    noise_fraction=1 / 3,
    normalize=False,
    random_state=0,
)
print(f"{X.shape[0]} raw waveforms of {X.shape[1]} samples, 3 classes")
print(
    f"peak |x| ranges from {np.abs(X).max(axis=1).min():.1f} to "
    f"{np.abs(X).max(axis=1).max():.1f}"
)

# Without the cache, a grid re-pretrains for every candidate. The settings
# here (10 + 4 epochs, 3 + 1 when quick) give pretraining a larger share of a
# fit than the defaults do, at a size that runs in minutes (seconds when
# quick); the saving scales with that share and the number of candidates.
if QUICK:
    settings = dict(depth=2, hidden_dims=16, pretrain_epochs=3, finetune_epochs=1)
else:
    settings = dict(depth="auto", pretrain_epochs=10, finetune_epochs=4)

cache = tempfile.TemporaryDirectory(prefix="tscc-cache-")
pipeline = make_pipeline(
    WaveformNormalizer(),
    TSCCClusterer(memory=cache.name, random_state=0, **settings),
)
print(pipeline)

# %%
# A supervised search over ``n_clusters`` and ``m``
# -------------------------------------------------
# Parameters of a pipeline step are named ``<step>__<parameter>``. The
# clusterer never sees ``y``: the scorers call ``predict`` on the held-out
# fold and compare the clusters with its labels. ``"adjusted_rand_score"`` is
# scikit-learn's; :data:`tscc.metrics.clustering_accuracy_scorer` is the
# accuracy after matching clusters to classes. Several scorers at once need
# ``refit`` to name the one that picks the final model.

grid = {
    "tsccclusterer__n_clusters": [2, 3] if QUICK else [2, 3, 4],
    "tsccclusterer__m": [1.5, 2.0],
}
n_candidates = len(grid["tsccclusterer__n_clusters"]) * len(grid["tsccclusterer__m"])
search = GridSearchCV(
    pipeline,
    grid,
    scoring={"ARI": "adjusted_rand_score", "ACC": clustering_accuracy_scorer},
    refit="ARI",
    cv=3,
)
start = time.perf_counter()
search.fit(X, y)
cached_seconds = time.perf_counter() - start

results = search.cv_results_
print(f"{'n_clusters':>10}{'m':>6}{'ARI':>8}{'± std':>7}{'ACC':>8}{'rank':>6}")
for i, params in enumerate(results["params"]):
    print(
        f"{params['tsccclusterer__n_clusters']:>10}"
        f"{params['tsccclusterer__m']:>6}"
        f"{results['mean_test_ARI'][i]:8.3f}"
        f"{results['std_test_ARI'][i]:7.3f}"
        f"{results['mean_test_ACC'][i]:8.3f}"
        f"{results['rank_test_ARI'][i]:6d}"
    )
print(f"best: {search.best_params_}, held-out ARI {search.best_score_:.3f}")

# %%
# What the cache saved
# --------------------
# The same search without ``memory`` pretrains for every candidate and fold:
# ``3 * n_candidates + 1`` pretrainings (the ``+ 1`` is the refit on all the
# data) instead of ``3 + 1``. Fine-tuning draws from random streams of its
# own, so a cached pretraining gives the same model as a fresh one, and both
# searches find the same scores.

uncached = clone(search).set_params(estimator__tsccclusterer__memory=None)
start = time.perf_counter()
uncached.fit(X, y)
uncached_seconds = time.perf_counter() - start

same = np.array_equal(
    uncached.cv_results_["mean_test_ARI"], search.cv_results_["mean_test_ARI"]
)
print(f"{n_candidates} candidates x 3 folds")
print(f"with memory:    {cached_seconds:6.1f} s  (4 pretrainings)")
print(
    f"without memory: {uncached_seconds:6.1f} s  ({3 * n_candidates + 1} pretrainings)"
)
print(f"saved {1 - cached_seconds / uncached_seconds:.0%}; identical scores: {same}")

# %%
# A search without labels
# -----------------------
# Without ``y``, ``GridSearchCV`` falls back on the estimator's ``score``:
# minus the fuzzy clustering objective ``sum_i sum_j p_ij**m ||r_i - u_j||**2``
# of the held-out series, the analogue of K-means' negative inertia. Like
# inertia, it improves with every added cluster, so its best ``n_clusters`` is
# simply the largest one tried: read the curve for an elbow instead, the
# point after which more clusters stop paying off. (It is not comparable
# across values of ``m`` either, which reweights the objective; keep ``m``
# fixed.) The folds are the same as above (``cv=3`` on the same series), so
# every pretraining comes from the cache and only fine-tuning is run.

unsupervised = GridSearchCV(
    pipeline,
    {"tsccclusterer__n_clusters": [2, 3, 4] if QUICK else [2, 3, 4, 5, 6]},
    cv=3,
)
start = time.perf_counter()
unsupervised.fit(X)  # no y
unsupervised_seconds = time.perf_counter() - start
ks = [p["tsccclusterer__n_clusters"] for p in unsupervised.cv_results_["params"]]
objective = -unsupervised.cv_results_["mean_test_score"]
for k, value in zip(ks, objective, strict=True):
    print(f"n_clusters={k}: held-out fuzzy objective {value:10.2f}")
print(f"search without labels: {unsupervised_seconds:.1f} s, no pretraining run")

# %%
# The figure: time with and without the cache, and the objective curve.

fig, (time_ax, elbow_ax) = plt.subplots(1, 2, figsize=(10, 3.8))
time_ax.bar(
    ["without memory", "with memory"],
    [uncached_seconds, cached_seconds],
    color=["0.6", "C0"],
)
time_ax.set_ylabel("seconds")
time_ax.set_title(f"GridSearchCV, {n_candidates} candidates x 3 folds")
elbow_ax.plot(ks, objective, "o-")
elbow_ax.set_xticks(ks)
elbow_ax.set_xlabel("n_clusters")
elbow_ax.set_ylabel("held-out fuzzy objective (lower is tighter)")
elbow_ax.set_title("Search without labels: look for the elbow")
fig.tight_layout()
plt.show()

cache.cleanup()
