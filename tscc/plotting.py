"""Figures of a clustering: the feature space, the waveforms, the losses, time.

Needs matplotlib, imported when a function is called: install it with
``pip install "tscc[plot]"``. Every function draws into new axes unless it is
given some, and returns what it drew into, for further styling or
``savefig``.
"""

import warnings

import numpy as np
from sklearn.decomposition import PCA

from .io.windows import window_times

__all__ = [
    "plot_cluster_rhythms",
    "plot_cluster_spectra",
    "plot_cluster_timeline",
    "plot_cluster_waveforms",
    "plot_embedding",
    "plot_history",
    "plot_membership_histogram",
    "TIME_BINS",
    "time_bin",
]

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
    ranking=None,
    sizes=None,
):
    """Example waveforms and the mean waveform of each cluster.

    One row per cluster: on the left a montage of ``n_examples`` members
    (chosen at random, or the first by ``ranking``), each scaled to a peak of
    1 and offset vertically; on the
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
    ranking : array-like of shape (n_samples,), default=None
        A score of each series, e.g. its distance to its cluster's centre:
        the examples of a cluster are its members of the lowest scores
        (``inf`` for series never to show), in that order. ``None`` chooses
        them at random.
    sizes : array-like of int, default=None
        Size of each cluster (indexed by label) when ``X`` is a sample of
        it: the labels then say "n=SIZE, DRAWN drawn". ``None`` counts the
        members in ``X``.

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
    X, labels = _channel_series(X, labels, channel)
    if n_examples < 1:
        raise ValueError(f"n_examples must be at least 1, got {n_examples}.")
    if ranking is not None:
        ranking = np.asarray(ranking, dtype=np.float64)
        if ranking.shape != labels.shape:
            raise ValueError(
                f"ranking must hold one score per label, got shape {ranking.shape} "
                f"for {labels.shape[0]} labels."
            )
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
        if ranking is None:
            chosen = np.sort(
                rng.choice(
                    members.shape[0], min(n_examples, members.shape[0]), replace=False
                )
            )
        else:
            scores = ranking[labels == cluster]
            chosen = np.argsort(scores, kind="stable")[:n_examples]
            chosen = chosen[np.isfinite(scores[chosen])]
        montage, summary = axes[row]
        for offset, series in enumerate(members[chosen]):
            peak = np.nanmax(np.abs(series))
            scaled = series / peak if peak > 0 else series
            montage.plot(time, scaled - 2.2 * offset, color=color, lw=0.7)
        montage.set_yticks([])
        montage.set_ylabel(
            f"cluster {cluster}\n({_members_text(sizes, cluster, members.shape[0])})"
        )

        with warnings.catch_warnings():  # all-NaN timestamps: "empty slice"
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(members, axis=0)
            std = np.nanstd(members, axis=0)
            envelope = np.nanmean(np.abs(members), axis=0)
        summary.fill_between(time, mean - std, mean + std, color=color, alpha=0.2)
        summary.plot(time, mean, color=color, lw=1.2, label="mean")
        summary.plot(time, envelope, color="0.3", lw=0.8, ls="--", label="mean |x|")
        if row == 0:
            which = "examples" if ranking is None else "most typical"
            montage.set_title(f"{chosen.size} {which} (each scaled to peak 1)")
            summary.set_title("mean ± 1 std")
            summary.legend(fontsize="small", loc="upper right")
    xlabel = "time (s)" if sampling_rate else "sample"
    axes[-1, 0].set_xlabel(xlabel)
    axes[-1, 1].set_xlabel(xlabel)
    fig.tight_layout()
    return fig


def plot_cluster_spectra(
    X, labels, *, sampling_rate=None, channel=0, ax=None, sizes=None
):
    """Mean amplitude spectrum of each cluster.

    Each series is demeaned, tapered with a Hann window and transformed
    (missing timestamps count as zeros); the amplitudes are averaged over the
    members of each cluster, one line per cluster on logarithmic axes.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_timestamps) or \
            (n_samples, n_timestamps, n_channels)
        The series.
    labels : array-like of shape (n_samples,)
        Cluster of each series.
    sampling_rate : float, default=None
        Samples per second, to label the axis in Hz; ``None`` gives cycles
        per sample.
    channel : int, default=0
        Channel drawn for multichannel ``X``.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw into; ``None`` makes a new figure.
    sizes : array-like of int, default=None
        Size of each cluster when ``X`` is a sample of it, as in
        :func:`plot_cluster_waveforms`.

    Returns
    -------
    ax : matplotlib.axes.Axes

    See Also
    --------
    plot_cluster_waveforms : The waveforms the spectra are taken of.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from tscc.plotting import plot_cluster_spectra
    >>> X = np.random.default_rng(0).normal(size=(20, 64))
    >>> ax = plot_cluster_spectra(X, np.arange(20) % 2, sampling_rate=100.0)
    >>> len(ax.lines)
    2
    """
    plt = _pyplot()
    X, labels = _channel_series(X, labels, channel)
    clusters = np.unique(labels)
    if ax is None:
        ax = plt.figure(figsize=(6, 3.6)).subplots()
    series = np.nan_to_num(X - np.nanmean(X, axis=1, keepdims=True))
    amplitudes = np.abs(np.fft.rfft(series * np.hanning(X.shape[1]), axis=1))
    frequencies = np.fft.rfftfreq(X.shape[1], d=1.0 / (sampling_rate or 1.0))
    colors = _cluster_colors(plt, clusters.size)
    for cluster, color in zip(clusters, colors, strict=True):
        members = labels == cluster
        mean = amplitudes[members].mean(axis=0)
        ax.plot(
            frequencies[1:],
            mean[1:],
            color=color,
            lw=1.2,
            label=f"cluster {cluster} ({_members_text(sizes, cluster, members.sum())})",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("frequency (Hz)" if sampling_rate else "frequency (1/sample)")
    ax.set_ylabel("mean amplitude")
    ax.set_title("Mean amplitude spectrum")
    ax.legend(fontsize="small")
    return ax


def _members_text(sizes, cluster, drawn):
    """``"n=12"``, or ``"n=4,858, 305 drawn"`` for a sample of a cluster."""
    if sizes is None:
        return f"n={drawn}"
    return f"n={int(sizes[cluster]):,}, {drawn} drawn"


def _channel_series(X, labels, channel):
    """``X`` as float64 of shape (n, T), one channel; labels as an array."""
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
    return X, labels


# ---------------------------------------------------------------------------
# Occurrences in time, and the certainty of the assignments
# ---------------------------------------------------------------------------

_BIN_UNITS = {"hour": "h", "day": "D"}
#: The widths of a timeline's bins that :func:`time_bin` takes.
TIME_BINS = ("auto", *_BIN_UNITS)


def _check_times(times, labels):
    times = window_times(times)
    labels = np.asarray(labels)
    if times.ndim != 1 or times.shape != labels.shape:
        raise ValueError(
            "times and labels must be 1-D and of equal length, got shapes "
            f"{times.shape} and {labels.shape}."
        )
    if times.size == 0:
        raise ValueError("times is empty: there is nothing to plot.")
    return times, labels


def time_bin(times, bin="auto"):
    """The width of the bins of a timeline: ``"hour"`` or ``"day"``.

    Parameters
    ----------
    times : array-like of datetime64 or ISO 8601 strings
    bin : {"auto", "hour", "day"}, default="auto"
        ``"auto"`` counts per hour over up to 14 days, per day beyond.

    Returns
    -------
    bin : {"hour", "day"}

    Examples
    --------
    >>> import numpy as np
    >>> from tscc.plotting import time_bin
    >>> start = np.datetime64("2024-03-01")
    >>> time_bin([start, start + np.timedelta64(30, "D")])
    'day'
    """
    if bin not in TIME_BINS:
        raise ValueError(f'bin must be "auto", "hour" or "day", got {bin!r}.')
    if bin != "auto":
        return bin
    times = window_times(times)
    span = times.max() - times.min()
    return "hour" if span <= np.timedelta64(14, "D") else "day"


def plot_cluster_timeline(
    times, labels, *, n_clusters=None, bin="auto", title=None, fig=None
):
    """Occurrences of each cluster over time: windows per hour or per day.

    One row of bars per cluster on a shared time axis, so that bursts, gaps
    in the recording and slow changes show at a glance.

    Parameters
    ----------
    times : array-like of shape (n_samples,)
        Start of each window: datetime64 values or ISO 8601 strings (as
        ``starttime`` of :class:`~tscc.io.SeismicWindows`).
    labels : array-like of shape (n_samples,)
        Cluster of each window, integers from 0.
    n_clusters : int, default=None
        Rows to draw; ``None`` is one more than the largest label.
    bin : {"auto", "hour", "day"}, default="auto"
        Width of the bins (see :func:`time_bin`).
    title : str, default=None
        Title of the figure, e.g. the station.
    fig : matplotlib.figure.Figure, default=None
        Figure to draw into (it is cleared); ``None`` makes a new one.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per cluster.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from tscc.plotting import plot_cluster_timeline
    >>> times = np.datetime64("2024-03-01") + np.arange(48) * np.timedelta64(1, "h")
    >>> fig = plot_cluster_timeline(times, np.arange(48) % 3)
    >>> len(fig.axes)
    3
    """
    plt = _pyplot()
    times, labels = _check_times(times, labels)
    n_clusters = int(labels.max()) + 1 if n_clusters is None else int(n_clusters)
    width = time_bin(times, bin)
    unit = _BIN_UNITS[width]
    bins = times.astype(f"datetime64[{unit}]")
    first, last = bins.min(), bins.max()
    n_bins = int((last - first) / np.timedelta64(1, unit)) + 1
    position = ((bins - first) / np.timedelta64(1, unit)).astype(np.intp)
    counts = np.zeros((n_clusters, n_bins), dtype=np.int64)
    np.add.at(counts, (labels.astype(np.intp), position), 1)
    edges = (first + np.arange(n_bins) * np.timedelta64(1, unit)).astype(
        "datetime64[s]"
    )
    if fig is None:
        fig = plt.figure(figsize=(10, 1.2 * n_clusters + 1.0))
    else:
        fig.clear()
    axes = fig.subplots(n_clusters, 1, sharex=True, squeeze=False)[:, 0]
    colors = _cluster_colors(plt, n_clusters)
    bar_width = np.timedelta64(1, unit).astype("timedelta64[s]").astype(float) / 86400
    dates = edges.astype("datetime64[us]").astype(object)
    for cluster, (ax, color) in enumerate(zip(axes, colors, strict=True)):
        ax.bar(dates, counts[cluster], width=bar_width, align="edge", color=color)
        ax.set_ylabel(f"{cluster}", rotation=0, ha="right", va="center")
        ax.margins(x=0)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].set_title(
        (f"{title}: " if title else "") + f"windows per {width} in each cluster"
    )
    axes[-1].set_xlabel("time (UTC)")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def plot_cluster_rhythms(times, labels, *, n_clusters=None, fig=None):
    """Daily and weekly rhythms: each cluster's share of the windows by hour and day.

    For each hour of the day (and each day of the week, UTC), the share of
    the windows of that hour that fall in the cluster: a flat line is a
    cluster with no rhythm, whatever the hours the recordings cover; cultural
    noise rises in the day and on working days, and hours without data are
    left blank.

    Parameters
    ----------
    times : array-like of shape (n_samples,)
        Start of each window: datetime64 values or ISO 8601 strings.
    labels : array-like of shape (n_samples,)
        Cluster of each window, integers from 0.
    n_clusters : int, default=None
        Lines to draw; ``None`` is one more than the largest label.
    fig : matplotlib.figure.Figure, default=None
        Figure to draw into (it is cleared); ``None`` makes a new one.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Two axes: by hour of the day and by day of the week.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from tscc.plotting import plot_cluster_rhythms
    >>> times = np.datetime64("2024-03-01") + np.arange(500) * np.timedelta64(1, "h")
    >>> fig = plot_cluster_rhythms(times, np.arange(500) % 2)
    >>> [len(ax.lines) for ax in fig.axes]
    [2, 2]
    """
    plt = _pyplot()
    times, labels = _check_times(times, labels)
    n_clusters = int(labels.max()) + 1 if n_clusters is None else int(n_clusters)
    hour = (times.astype("datetime64[h]").astype(np.int64) % 24).astype(np.intp)
    # 1970-01-01 was a Thursday: day 0 of the epoch is weekday 3 (Monday = 0)
    weekday = ((times.astype("datetime64[D]").astype(np.int64) + 3) % 7).astype(np.intp)
    if fig is None:
        fig = plt.figure(figsize=(10, 3.4))
    else:
        fig.clear()
    axes = fig.subplots(1, 2, sharey=True)
    colors = _cluster_colors(plt, n_clusters)
    for ax, slot, n_slots, names, xlabel in (
        (axes[0], hour, 24, None, "hour of the day (UTC)"),
        (
            axes[1],
            weekday,
            7,
            ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
            "day of the week (UTC)",
        ),
    ):
        counts = np.zeros((n_clusters, n_slots))
        np.add.at(counts, (labels.astype(np.intp), slot), 1)
        total = counts.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total > 0, counts / total, np.nan)
        for cluster, color in enumerate(colors):
            ax.plot(
                np.arange(n_slots),
                share[cluster],
                "o-",
                ms=3,
                color=color,
                label=f"cluster {cluster}",
            )
        ax.set_xlabel(xlabel)
        ax.set_xticks(np.arange(0, n_slots, 3 if n_slots == 24 else 1))
        if names:
            ax.set_xticklabels(names)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of the windows")
    axes[0].set_title("By hour of the day")
    axes[1].set_title("By day of the week")
    axes[1].legend(fontsize="small", loc="upper right")
    fig.tight_layout()
    return fig


def plot_membership_histogram(memberships, labels=None, *, ax=None):
    """How sure the assignments are: the histogram of each window's highest membership.

    A membership of 1 is a window that belongs to its cluster alone; ``1 / K``
    is a window equally close to all ``K`` centres.

    Parameters
    ----------
    memberships : array-like of shape (n_samples, n_clusters)
        Fuzzy memberships, e.g. ``TSCCClusterer.predict_proba(X)``.
    labels : array-like of shape (n_samples,), default=None
        Cluster of each window, for bars stacked by cluster; ``None`` is the
        cluster of the highest membership.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw into; ``None`` makes a new figure.

    Returns
    -------
    ax : matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from tscc.plotting import plot_membership_histogram
    >>> u = np.random.default_rng(0).dirichlet([1, 1, 1], size=100)
    >>> ax = plot_membership_histogram(u)
    >>> ax.get_xlabel()
    'highest membership'
    """
    plt = _pyplot()
    memberships = np.asarray(memberships, dtype=np.float64)
    if memberships.ndim != 2 or memberships.shape[0] == 0:
        raise ValueError(
            "memberships must be of shape (n_samples, n_clusters), got "
            f"{memberships.shape}."
        )
    n_clusters = memberships.shape[1]
    labels = memberships.argmax(axis=1) if labels is None else np.asarray(labels)
    if labels.shape != (memberships.shape[0],):
        raise ValueError(
            f"labels must hold one label per row of memberships, got shape "
            f"{labels.shape} for {memberships.shape[0]} rows."
        )
    highest = memberships.max(axis=1)
    if ax is None:
        ax = plt.figure(figsize=(6, 3.6)).subplots()
    edges = np.linspace(1.0 / n_clusters, 1.0, 21)
    colors = _cluster_colors(plt, n_clusters)
    ax.hist(
        [highest[labels == cluster] for cluster in range(n_clusters)],
        bins=edges,
        stacked=True,
        color=colors,
        label=[f"cluster {cluster}" for cluster in range(n_clusters)],
    )
    ax.set_xlabel("highest membership")
    ax.set_ylabel("windows")
    ax.set_title(f"Certainty of the assignments (median {np.median(highest):.2f})")
    ax.legend(fontsize="small", loc="upper left")
    return ax


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
