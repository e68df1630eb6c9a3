"""Figures of a clustering: the feature space, the waveforms, the losses.

Needs matplotlib, imported when a function is called: install it with
``pip install "tscc[plot]"``. Every function draws into new axes unless it is
given some, and returns what it drew into, for further styling or
``savefig``.
"""

import warnings

import numpy as np
from sklearn.decomposition import PCA

__all__ = ["plot_cluster_waveforms", "plot_embedding", "plot_history"]

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")
_PLOT_HINT = 'pip install "tscc[plot]"'


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"Plotting needs matplotlib, which is not installed: {_PLOT_HINT}"
        ) from exc
    return plt


def _cluster_colors(plt, n):
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]


# ---------------------------------------------------------------------------
# Feature space
# ---------------------------------------------------------------------------


def plot_embedding(features, labels, y_true=None, *, ax=None, random_state=0):
    """Scatter plot of the learned features in their first two principal axes.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        Learned features, e.g. ``TSCCClusterer.transform(X)``.
    labels : array-like of shape (n_samples,)
        Cluster of each sample: the colour of its point.
    y_true : array-like of shape (n_samples,), default=None
        Known classes, if any: the marker shape of each point.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw into; ``None`` makes a new figure.
    random_state : int, default=0
        Seed of the PCA solver.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn into, with a legend of clusters (colours) and classes
        (markers).

    See Also
    --------
    plot_cluster_waveforms : What the series of each cluster look like.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from tscc.plotting import plot_embedding
    >>> rng = np.random.default_rng(0)
    >>> features = rng.normal(size=(30, 8))
    >>> labels = (features[:, 0] > 0).astype(int)
    >>> ax = plot_embedding(features, labels, y_true=labels)
    >>> len(ax.collections)
    2
    """
    plt = _pyplot()
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    if features.ndim != 2 or features.shape[0] != labels.shape[0]:
        raise ValueError(
            "features must be 2-D with one row per label, got shapes "
            f"{features.shape} and {labels.shape}."
        )
    if y_true is not None:
        y_true = np.asarray(y_true)
        if y_true.shape != labels.shape:
            raise ValueError(f"y_true has shape {y_true.shape}, labels {labels.shape}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))

    n_components = min(2, *features.shape)
    points = PCA(n_components, random_state=random_state).fit_transform(features)
    if points.shape[1] < 2:
        points = np.column_stack([points, np.zeros(points.shape[0])])

    clusters = np.unique(labels)
    colors = dict(zip(clusters, _cluster_colors(plt, clusters.size), strict=True))
    classes = np.unique(y_true) if y_true is not None else [None]
    for index, cls in enumerate(classes):
        rows = np.ones(labels.shape, bool) if cls is None else y_true == cls
        ax.scatter(
            points[rows, 0],
            points[rows, 1],
            c=[colors[label] for label in labels[rows]],
            marker=_MARKERS[index % len(_MARKERS)],
            s=22,
            alpha=0.8,
            edgecolors="none",
        )
    handles = [
        plt.Line2D([], [], ls="", marker="o", color=colors[c], label=f"cluster {c}")
        for c in clusters
    ]
    if y_true is not None:
        handles += [
            plt.Line2D(
                [],
                [],
                ls="",
                marker=_MARKERS[i % len(_MARKERS)],
                color="0.35",
                label=f"class {cls}",
            )
            for i, cls in enumerate(classes)
        ]
    ax.legend(handles=handles, fontsize="small", loc="best", framealpha=0.8)
    ax.set_xlabel("principal axis 1")
    ax.set_ylabel("principal axis 2")
    ax.set_title("Learned features (PCA)")
    return ax


# ---------------------------------------------------------------------------
# Waveforms
# ---------------------------------------------------------------------------


def plot_cluster_waveforms(
    X,
    labels,
    *,
    n_examples=5,
    channel=0,
    sampling_rate=None,
    fig=None,
    random_state=0,
):
    """Example waveforms and the mean waveform of each cluster.

    One row per cluster: on the left a montage of ``n_examples`` randomly
    chosen members, each scaled to a peak of 1 and offset vertically; on the
    right the cluster's mean waveform with a band of one standard deviation,
    and the mean absolute amplitude (an envelope that survives the random
    polarities of seismic arrivals, which the mean averages away).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_timestamps) or \
            (n_samples, n_timestamps, n_channels)
        The series; NaN (missing timestamps) is left out of the means.
    labels : array-like of shape (n_samples,)
        Cluster of each series.
    n_examples : int, default=5
        Members shown per cluster (all of them in smaller clusters).
    channel : int, default=0
        Channel drawn for multichannel ``X``.
    sampling_rate : float, default=None
        Samples per second, to label the time axis in seconds; ``None`` uses
        sample indices.
    fig : matplotlib.figure.Figure, default=None
        Figure to draw into (it is cleared); ``None`` makes a new one.
    random_state : int, default=0
        Seed of the choice of examples.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure, with ``2 * n_clusters`` axes.

    See Also
    --------
    plot_embedding : The clusters in feature space.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from tscc.plotting import plot_cluster_waveforms
    >>> X = np.random.default_rng(0).normal(size=(20, 50))
    >>> fig = plot_cluster_waveforms(X, np.arange(20) % 2, n_examples=3)
    >>> len(fig.axes)
    4
    """
    plt = _pyplot()
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    if X.ndim == 3:
        if not -X.shape[2] <= channel < X.shape[2]:
            raise ValueError(
                f"channel={channel} is out of range for {X.shape[2]} channels."
            )
        X = X[:, :, channel]
    if X.ndim != 2 or X.shape[0] != labels.shape[0]:
        raise ValueError(
            "X must hold one series per label, got shapes "
            f"{X.shape} and {labels.shape}."
        )
    if n_examples < 1:
        raise ValueError(f"n_examples must be at least 1, got {n_examples}.")
    clusters = np.unique(labels)
    if fig is None:
        fig = plt.figure(figsize=(10, 1.9 * clusters.size + 0.6))
    else:
        fig.clear()
    axes = fig.subplots(clusters.size, 2, sharex=True, squeeze=False)
    colors = _cluster_colors(plt, clusters.size)
    rng = np.random.default_rng(random_state)
    time = np.arange(X.shape[1]) / (sampling_rate or 1.0)

    for row, (cluster, color) in enumerate(zip(clusters, colors, strict=True)):
        members = X[labels == cluster]
        chosen = rng.choice(
            members.shape[0], min(n_examples, members.shape[0]), replace=False
        )
        montage, summary = axes[row]
        for offset, series in enumerate(members[np.sort(chosen)]):
            peak = np.nanmax(np.abs(series))
            scaled = series / peak if peak > 0 else series
            montage.plot(time, scaled - 2.2 * offset, color=color, lw=0.7)
        montage.set_yticks([])
        montage.set_ylabel(f"cluster {cluster}\n(n={members.shape[0]})")

        with warnings.catch_warnings():  # all-NaN timestamps: "empty slice"
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(members, axis=0)
            std = np.nanstd(members, axis=0)
            envelope = np.nanmean(np.abs(members), axis=0)
        summary.fill_between(time, mean - std, mean + std, color=color, alpha=0.2)
        summary.plot(time, mean, color=color, lw=1.2, label="mean")
        summary.plot(time, envelope, color="0.3", lw=0.8, ls="--", label="mean |x|")
        if row == 0:
            montage.set_title(f"{chosen.size} examples (each scaled to peak 1)")
            summary.set_title("mean ± 1 std")
            summary.legend(fontsize="small", loc="upper right")
    xlabel = "time (s)" if sampling_rate else "sample"
    axes[-1, 0].set_xlabel(xlabel)
    axes[-1, 1].set_xlabel(xlabel)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


def plot_history(history, *, fig=None):
    """Loss curves of pretraining and fine-tuning.

    Parameters
    ----------
    history : list of dict or TSCCClusterer
        ``TSCCClusterer.history_`` (entries with ``phase``, ``epoch``,
        ``contrastive`` and ``cluster``), or a fitted estimator.
    fig : matplotlib.figure.Figure, default=None
        Figure to draw into (it is cleared); ``None`` makes a new one.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Two axes: the contrastive loss of every epoch of both phases, epochs
        numbered on from pretraining into fine-tuning, and the clustering loss
        of the fine-tuning epochs.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from tscc.plotting import plot_history
    >>> history = [
    ...     {"phase": "pretrain", "epoch": 1, "contrastive": 3.0, "cluster": 0.0},
    ...     {"phase": "pretrain", "epoch": 2, "contrastive": 2.5, "cluster": 0.0},
    ...     {"phase": "finetune", "epoch": 1, "contrastive": 2.4, "cluster": 0.7},
    ... ]
    >>> len(plot_history(history).axes)
    2
    """
    plt = _pyplot()
    if hasattr(history, "history_"):
        history = history.history_
    history = list(history)
    if not history:
        raise ValueError("history is empty: there is nothing to plot.")
    if fig is None:
        fig = plt.figure(figsize=(10, 3.6))
    else:
        fig.clear()
    contrastive_ax, cluster_ax = fig.subplots(1, 2)
    step = np.arange(1, len(history) + 1)
    phases = np.array([entry["phase"] for entry in history])
    contrastive = np.array([entry["contrastive"] for entry in history], dtype=float)
    cluster = np.array(
        [
            np.nan if entry.get("cluster") is None else entry["cluster"]
            for entry in history
        ],
        dtype=float,
    )
    styles = {"pretrain": ("C0", "pretraining"), "finetune": ("C1", "fine-tuning")}
    for phase, (color, name) in styles.items():
        rows = phases == phase
        if rows.any():
            contrastive_ax.plot(
                step[rows], contrastive[rows], "o-", ms=3, color=color, label=name
            )
    finetune = phases == "finetune"
    if finetune.any() and (~finetune).any():
        boundary = step[finetune][0] - 0.5
        contrastive_ax.axvline(boundary, color="0.6", ls=":", lw=1)
    contrastive_ax.set_xlabel("epoch")
    contrastive_ax.set_ylabel("contrastive loss")
    contrastive_ax.set_title("Contrastive loss")
    contrastive_ax.legend(fontsize="small")

    if finetune.any():
        cluster_ax.plot(step[finetune], cluster[finetune], "o-", ms=3, color="C1")
    else:
        cluster_ax.text(
            0.5,
            0.5,
            "no fine-tuning epochs",
            ha="center",
            va="center",
            transform=cluster_ax.transAxes,
        )
    cluster_ax.set_xlabel("epoch")
    cluster_ax.set_ylabel("clustering loss")
    cluster_ax.set_title("Fuzzy clustering loss (fine-tuning)")
    fig.tight_layout()
    return fig
