"""
How much do the learned features know? Probes on real seismic windows
=====================================================================

A clustering score mixes two questions: did the encoder learn features that
separate the classes, and did the clustering stage find that separation? This
example answers the first one. :class:`~tscc.TSCCClusterer` is fitted
**without labels** on the 462 PhaseNet windows bundled with tscc (real
Californian recordings: pre-event noise, P arrivals, S arrivals; vertical
channel, 4 s at 100 Hz). Then three supervised *probes* (logistic regression,
k-nearest neighbours and an RBF support vector machine) are trained with
5-fold cross-validation on

* the raw normalised waveforms (400 samples each), and
* the TSCC features ``R = transform(X)`` (32 numbers each).

The probes see the labels of the training folds, so this measures **feature
quality, not clustering quality**: features that let a simple classifier
recover the classes from 32 numbers have captured what tells them apart.
``examples/benchmarks/probes.py`` runs the same protocol on more data sets and
scores (``docs/benchmarks.md``).

With ``TSCC_QUICK=1`` (as in the documentation build) the training is
shortened as ``tscc demo --quick`` is (a 4-block encoder with 32 hidden
channels, batches of 16, a learning rate of 2e-3, 4 + 2 epochs): about 20 s
instead of minutes.
"""

import os
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from tscc import TSCCClusterer, WaveformNormalizer, load_phasenet_windows

QUICK = os.environ.get("TSCC_QUICK", "0") not in ("", "0")

# %%
# The windows
# -----------
# Amplitudes are raw counts from mixed instruments, and noise windows are
# much weaker than arrivals: each window is demeaned, detrended and scaled to
# a peak of 1 first, or amplitude alone would give the classes away. Each
# recording gave one window of each class, so ``trace_id`` groups the three
# windows of a recording; the folds below keep a recording's windows on one
# side of every split, or a probe could match a P window to the S window of
# the same recording instead of learning what a P arrival looks like.

data = load_phasenet_windows(task="phase", channels="Z")
X = WaveformNormalizer().fit_transform(data.data)  # (462, 400, 1)
groups = data.trace_id
tasks = {
    "event vs noise": (data.target > 0).astype(int),  # P and S merged
    "noise / P / S": data.target,
}
print(
    f"{X.shape[0]} windows of {X.shape[1]} samples from "
    f"{np.unique(groups).size} recordings; classes {data.target_names.tolist()}"
)

# %%
# TSCC features, learned without labels
# -------------------------------------
# One fit serves both tasks, since the labels play no part in it. The encoder
# is fitted on all windows, the test folds' included (as in the TSCC paper's
# probe table): it never sees a label, so nothing about the classes leaks.
# ``depth="auto"`` takes the fewest blocks whose receptive field covers the
# 400 samples (7). The full run uses the default budget (on 462 windows, the
# paper's 25 + 25 epochs): minutes on 2 CPU cores, seconds on a GPU.

if QUICK:
    settings = dict(
        depth=4,
        hidden_dims=32,
        batch_size=16,
        lr=2e-3,
        pretrain_epochs=4,
        finetune_epochs=2,
    )
else:
    settings = dict(depth="auto")
clusterer = TSCCClusterer(n_clusters=3, random_state=0, **settings)
start = time.perf_counter()
R = clusterer.fit_transform(X)
print(f"TSCC fit: {time.perf_counter() - start:.1f} s, features R {R.shape}")

inputs = {"raw": X.reshape(X.shape[0], -1), "TSCC R": R}

# %%
# Probes
# ------
# Each probe standardises its input first (the scaler is fitted on the
# training folds only, inside the pipeline). KNN with k = 5 asks whether
# neighbours in the feature space share a class; logistic regression whether
# the classes are linearly separable; the RBF SVM allows curved boundaries.

probes = {
    "LogReg": lambda: make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=2000)
    ),
    "KNN": lambda: make_pipeline(StandardScaler(), KNeighborsClassifier(5)),
    "SVM": lambda: make_pipeline(StandardScaler(), SVC(kernel="rbf")),
}
cv = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=0)

scores = {}  # (task, probe, input) -> accuracy of each fold
for task, target in tasks.items():
    for probe, make_probe in probes.items():
        for name, features in inputs.items():
            scores[task, probe, name] = cross_val_score(
                make_probe(), features, target, groups=groups, cv=cv
            )

print(f"{'task':<16}{'probe':<8}{'raw':>15}{'TSCC R':>15}")
for task in tasks:
    for probe in probes:
        cells = [scores[task, probe, name] for name in inputs]
        print(
            f"{task:<16}{probe:<8}"
            + "".join(f"{c.mean():9.3f} ± {c.std():.2f}" for c in cells)
        )
print(
    "\n(5-fold accuracy, mean ± std over folds; chance: "
    f"{np.bincount(tasks['event vs noise']).max() / X.shape[0]:.3f} for event "
    "vs noise, 0.333 for the phases)"
)

# %%
# The same numbers as bars. Note the input sizes: 400 raw samples against 32
# learned features.

fig, axes = plt.subplots(1, len(tasks), figsize=(10, 3.8), sharey=True)
width = 0.38
positions = np.arange(len(probes))
for ax, task in zip(axes, tasks, strict=True):
    for offset, (name, color) in zip(
        (-width / 2, width / 2), zip(inputs, ("0.6", "C0"), strict=True), strict=True
    ):
        means = [scores[task, probe, name].mean() for probe in probes]
        stds = [scores[task, probe, name].std() for probe in probes]
        ax.bar(
            positions + offset,
            means,
            width,
            yerr=stds,
            capsize=3,
            color=color,
            label=name,
        )
    ax.set_xticks(positions, list(probes))
    ax.set_title(task)
    ax.set_ylim(0, 1)
axes[0].set_ylabel("5-fold accuracy")
axes[0].legend(loc="lower right")
fig.tight_layout()
plt.show()
