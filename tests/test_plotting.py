import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from tscc.plotting import (  # noqa: E402
    plot_cluster_waveforms,
    plot_embedding,
    plot_history,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _save(figure, path):
    figure.savefig(path, dpi=50)
    assert path.stat().st_size > 1000
    with open(path, "rb") as file:
        assert file.read(8) == b"\x89PNG\r\n\x1a\n"


def _data(n=24, t=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, t, 2))
    labels = np.arange(n) % 3
    return X, labels


def test_plot_embedding_png(tmp_path):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(30, 8))
    labels = np.arange(30) % 3
    y_true = np.array(["noise", "event"])[np.arange(30) % 2]
    ax = plot_embedding(features, labels, y_true=y_true)
    assert len(ax.collections) == 2  # one scatter per true class (marker)
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == [
        "cluster 0",
        "cluster 1",
        "cluster 2",
        "class event",
        "class noise",
    ]
    _save(ax.figure, tmp_path / "embedding.png")


def test_plot_embedding_into_given_axes_and_1d_features(tmp_path):
    fig, (left, right) = plt.subplots(1, 2)
    assert (
        plot_embedding(np.arange(10.0)[:, None], np.arange(10) % 2, ax=right) is right
    )
    assert len(right.collections) == 1 and not left.collections
    _save(fig, tmp_path / "one_dim.png")


def test_plot_embedding_checks_shapes():
    with pytest.raises(ValueError, match="one row per label"):
        plot_embedding(np.zeros((5, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="y_true"):
        plot_embedding(np.zeros((5, 3)), np.zeros(5), y_true=np.zeros(4))


def test_plot_cluster_waveforms_png(tmp_path):
    X, labels = _data()
    X[0, :10] = np.nan  # missing timestamps are left out of the means
    fig = plot_cluster_waveforms(X, labels, n_examples=4, sampling_rate=100.0)
    assert len(fig.axes) == 6
    montage = fig.axes[0]
    assert len(montage.lines) == 4
    assert fig.axes[-1].get_xlabel() == "time (s)"
    _save(fig, tmp_path / "waveforms.png")


def test_plot_cluster_waveforms_small_clusters_and_given_figure(tmp_path):
    X, _ = _data(n=5)
    fig = plt.figure()
    labels = np.array([0, 0, 0, 0, 1])
    out = plot_cluster_waveforms(X[:, :, 1], labels, n_examples=3, fig=fig)
    assert out is fig
    assert len(fig.axes[2].lines) == 1  # cluster 1 has one member
    assert fig.axes[-1].get_xlabel() == "sample"
    _save(fig, tmp_path / "small.png")
    with pytest.raises(ValueError, match="channel=5"):
        plot_cluster_waveforms(X, labels, channel=5)
    with pytest.raises(ValueError, match="one series per label"):
        plot_cluster_waveforms(X, labels[:3])


def _history():
    history = [
        {"phase": "pretrain", "epoch": e, "contrastive": 4 - 0.3 * e, "cluster": 0.0}
        for e in range(1, 4)
    ]
    history += [
        {"phase": "finetune", "epoch": e, "contrastive": 3 - 0.1 * e, "cluster": 1 / e}
        for e in range(1, 3)
    ]
    return history


def test_plot_history_png(tmp_path):
    fig = plot_history(_history())
    contrastive, cluster = fig.axes
    assert [len(line.get_xdata()) for line in contrastive.lines[:2]] == [3, 2]
    assert list(cluster.lines[0].get_xdata()) == [4, 5]
    _save(fig, tmp_path / "history.png")


def test_plot_history_of_a_fitted_estimator(tmp_path):
    from _shared import TINY

    from tscc import TSCCClusterer

    X = np.random.default_rng(0).normal(size=(12, 16))
    clusterer = TSCCClusterer(
        **{**TINY, "pretrain_epochs": 2, "finetune_epochs": 0}
    ).fit(X)
    fig = plot_history(clusterer)
    assert "no fine-tuning" in fig.axes[1].texts[0].get_text()
    _save(fig, tmp_path / "pretrain_only.png")
    with pytest.raises(ValueError, match="empty"):
        plot_history([])


def test_missing_matplotlib_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "tscc\[plot\]"'):
        plot_history(_history())


def test_the_timeline_counts_the_windows_of_each_cluster_per_bin():
    from tscc.plotting import plot_cluster_timeline

    start = np.datetime64("2024-03-01T00:00:00")
    times = start + np.array([0, 10, 3700, 3800, 7300]) * np.timedelta64(1, "s")
    labels = np.array([0, 1, 1, 1, 0])
    fig = plot_cluster_timeline(times.astype(str), labels, bin="hour")
    heights = [[bar.get_height() for bar in ax.patches] for ax in fig.axes]
    assert heights == [[1, 0, 1], [1, 2, 0]]
    fig = plot_cluster_timeline(times, labels, bin="day", n_clusters=3)
    assert [[bar.get_height() for bar in ax.patches] for ax in fig.axes] == [
        [2], [3], [0]
    ]  # fmt: skip


def test_time_bins_and_bad_times():
    from tscc.plotting import plot_cluster_rhythms, time_bin

    start = np.datetime64("2024-03-01")
    assert time_bin([start, start + np.timedelta64(14, "D")]) == "hour"
    assert time_bin([start, start + np.timedelta64(15, "D")]) == "day"
    with pytest.raises(ValueError, match="ISO 8601"):
        plot_cluster_rhythms(["yesterday", "today"], [0, 1])
    with pytest.raises(ValueError, match="equal length"):
        plot_cluster_rhythms([start, start], [0])


def test_rhythms_are_each_clusters_share_of_the_hour():
    from tscc.plotting import plot_cluster_rhythms

    hours = np.datetime64("2024-03-04T00") + np.arange(48) * np.timedelta64(1, "h")
    labels = (hours.astype("datetime64[h]").astype(int) % 24 >= 12).astype(int)
    by_hour, _ = plot_cluster_rhythms(hours, labels).axes
    share = by_hour.lines[1].get_ydata()
    np.testing.assert_array_equal(share, np.repeat([0.0, 1.0], 12))


def test_examples_by_ranking_are_the_lowest_scores():
    from tscc.plotting import plot_cluster_waveforms

    X = np.arange(6)[:, None] * np.ones((6, 10)) + 1.0
    ranking = np.array([5.0, 1.0, np.inf, 0.0, 2.0, 3.0])
    fig = plot_cluster_waveforms(X, np.zeros(6, int), n_examples=3, ranking=ranking)
    drawn = [line.get_ydata()[0] for line in fig.axes[0].lines]
    # rows 3, 1, 4 (each scaled to peak 1, offset by 2.2 per example)
    np.testing.assert_allclose(drawn, [1.0, 1.0 - 2.2, 1.0 - 4.4])
    with pytest.raises(ValueError, match="one score per label"):
        plot_cluster_waveforms(X, np.zeros(6, int), ranking=ranking[:3])


def test_spectra_and_membership_histogram_check_their_input():
    from tscc.plotting import plot_cluster_spectra, plot_membership_histogram

    X = np.sin(np.arange(64) * 2 * np.pi * 10 / 64)[None].repeat(4, 0)
    ax = plot_cluster_spectra(X, np.array([0, 0, 1, 1]), sampling_rate=64.0)
    peak = ax.lines[0].get_xdata()[np.argmax(ax.lines[0].get_ydata())]
    assert peak == 10.0
    with pytest.raises(ValueError, match="shape"):
        plot_membership_histogram(np.ones(3))
    with pytest.raises(ValueError, match="one label per row"):
        plot_membership_histogram(np.full((3, 2), 0.5), labels=[0, 1])


def test_sizes_label_a_sample_of_each_cluster():
    from tscc.plotting import plot_cluster_spectra, plot_cluster_waveforms

    X = np.random.default_rng(0).normal(size=(6, 32))
    labels = np.array([0, 0, 0, 1, 1, 1])
    fig = plot_cluster_waveforms(X, labels, n_examples=2, sizes=[1200, 30])
    assert "n=1,200, 3 drawn" in fig.axes[0].get_ylabel()
    ax = plot_cluster_spectra(X, labels, sizes=[1200, 30])
    assert ax.get_legend().get_texts()[1].get_text() == "cluster 1 (n=30, 3 drawn)"
