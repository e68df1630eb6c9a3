"""``tscc demo``: TSCC and K-means on the bundled PhaseNet windows."""

import os
import time

import numpy as np
from sklearn.cluster import KMeans

from ..datasets import load_phasenet_windows
from ..estimator import TSCCClusterer
from ..metrics import clustering_scores
from ..plotting import plot_cluster_waveforms, plot_embedding, plot_history
from ..preprocessing import WaveformNormalizer
from ._options import add_estimator_options

# Chosen by measurement (3 seeds, bfloat16 and float32; docs/cli.md): a
# 4-block encoder sees 1.25 s of these windows at once, which is enough;
# batches of 16 give the few epochs 4 times as many steps, and a doubled
# learning rate makes 4 pretraining epochs do what 6 do at the default. Fewer
# epochs, or crops shorter than the window, fall back to K-means' accuracy.
_QUICK_DEMO = {
    "depth": 4,
    "hidden_dims": 32,
    "batch_size": 16,
    "lr": 2e-3,
    "pretrain_epochs": 4,
    "finetune_epochs": 2,
}
_FULL_DEMO = {
    "depth": "auto",
    "hidden_dims": 64,
    "batch_size": 64,
    "lr": 1e-3,
    "pretrain_epochs": 10,
    "finetune_epochs": 10,
}
# The estimator parameters the demo offers as options.
_DEMO_OPTIONS = (
    "pretrain_epochs",
    "finetune_epochs",
    "batch_size",
    "depth",
    "hidden_dims",
    "device",
    "precision",
    "random_state",
)


def add_parser(commands):
    """Add the ``demo`` subcommand to ``commands``."""
    parser = commands.add_parser(
        "demo",
        help="cluster the bundled real seismic windows, compare with K-means",
        description=(
            "Fit TSCC on the 462 bundled PhaseNet windows (vertical channel, "
            "4 s at 100 Hz; event vs noise), each demeaned, detrended and "
            "scaled to max |x| = 1, without their labels; score it and K-means "
            "on the same normalised waveforms against the labels; write figures "
            "to --out-dir when matplotlib is installed. The default takes 1.5 "
            "(bfloat16) to 3 (float32) minutes on 2 CPU cores; --quick under 30 s."
        ),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=(
            "a smaller run that still learns: depth 4, hidden dims 32, "
            "batches of 16, lr 2e-3, 4 + 2 epochs"
        ),
    )
    add_estimator_options(
        parser,
        names=_DEMO_OPTIONS,
        default_text=lambda name: (
            f"{_FULL_DEMO[name]}, --quick: {_QUICK_DEMO[name]}"
            if name in _FULL_DEMO
            else None
        ),
    )
    parser.add_argument(
        "--out-dir",
        default="tscc-demo",
        metavar="DIR",
        help="folder for the figures (default: tscc-demo)",
    )
    parser.add_argument("--no-plots", action="store_true", help="write no figures")
    parser.set_defaults(run=run)


def _describe(settings):
    return (
        f"{settings['pretrain_epochs']} pretraining + "
        f"{settings['finetune_epochs']} fine-tuning epochs, "
        f"depth={settings['depth']}, hidden_dims={settings['hidden_dims']}, "
        f"batch_size={settings['batch_size']}, lr={settings['lr']:g}"
    )


def run(args):
    """Run ``tscc demo``: TSCC and K-means on the bundled PhaseNet windows."""
    settings = dict(_QUICK_DEMO if args.quick else _FULL_DEMO)
    # Options left out are absent from args (argparse.SUPPRESS).
    settings.update(
        {name: getattr(args, name) for name in _DEMO_OPTIONS if hasattr(args, name)}
    )
    data = load_phasenet_windows(task="event_vs_noise", channels="Z")
    X = WaveformNormalizer().fit_transform(data.data)
    y, names = data.target, list(data.target_names)
    counts = ", ".join(
        f"{count} {name}" for name, count in zip(names, np.bincount(y), strict=True)
    )
    print(
        f"Data: {X.shape[0]} PhaseNet windows of {X.shape[1]} samples at "
        f"{data.sampling_rate:g} Hz, vertical channel ({counts}); each "
        "demeaned, detrended and scaled to max |x| = 1. The labels only score "
        "the clusterings.",
        flush=True,
    )

    start = time.perf_counter()
    kmeans_labels = KMeans(
        len(names), n_init=10, random_state=args.random_state
    ).fit_predict(X.reshape(X.shape[0], -1))
    kmeans_seconds = time.perf_counter() - start

    clusterer = TSCCClusterer(len(names), **settings, verbose=1)
    print(f"Fitting TSCC: {_describe(settings)}.", flush=True)
    if args.quick:
        print(
            f"Quick run, shortened from the full demo's {_describe(_FULL_DEMO)}.",
            flush=True,
        )
    start = time.perf_counter()
    labels = clusterer.fit(X).labels_
    tscc_seconds = time.perf_counter() - start

    print(
        f"\nTSCC ran in {clusterer.precision_} on {clusterer.device_}; "
        "scores against the labels:"
    )
    print(f"{'method':<28}{'ACC':>7}{'NMI':>7}{'ARI':>7}{'seconds':>9}")
    for name, predicted, seconds in (
        ("TSCC", labels, tscc_seconds),
        ("K-means on the waveforms", kmeans_labels, kmeans_seconds),
    ):
        s = clustering_scores(y, predicted)
        print(f"{name:<28}{s['acc']:7.3f}{s['nmi']:7.3f}{s['ari']:7.3f}{seconds:9.1f}")
    _print_table(y, labels, names, clusterer.n_clusters)
    if not args.no_plots:
        _plots(args.out_dir, clusterer, X, labels, y, names, data.sampling_rate)
    return 0


def _print_table(y, labels, names, n_clusters):
    print("\nTSCC clusters against the classes (rows: class, columns: cluster):")
    table = np.zeros((len(names), n_clusters), dtype=int)
    np.add.at(table, (y, labels), 1)
    print("  " + " " * 8 + "".join(f"{k:>6d}" for k in range(table.shape[1])))
    for name, row in zip(names, table, strict=True):
        print(f"  {name:<8}" + "".join(f"{count:6d}" for count in row))


def _plots(out_dir, clusterer, X, labels, y, names, sampling_rate):
    try:
        import matplotlib
    except ImportError:
        print('\nNo figures: matplotlib is not installed (pip install "tscc[plot]").')
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out_dir, exist_ok=True)
    features = clusterer.transform(X)
    figures = {
        "embedding.png": plot_embedding(features, labels, np.asarray(names)[y]).figure,
        "cluster_waveforms.png": plot_cluster_waveforms(
            X, labels, sampling_rate=sampling_rate
        ),
        "history.png": plot_history(clusterer.history_),
    }
    print()
    for name, figure in figures.items():
        path = os.path.join(out_dir, name)
        figure.savefig(path, dpi=110)
        plt.close(figure)
        print(f"Figure written to {path}")
