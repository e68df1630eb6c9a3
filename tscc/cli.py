"""The ``tscc`` command line: demo, fit, predict, transform and windows.

Run ``tscc --help`` or ``python -m tscc --help``; every subcommand takes
``--help`` too. Errors the user can fix (a missing file, an unknown format,
ObsPy not installed, series of the wrong shape, a file that is not a tscc
model, a bad parameter) are reported as one line on stderr with exit status
2; an interrupted run exits with status 130.
"""

import argparse
import contextlib
import csv
import glob
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans

from ._validation import resolve_device
from ._version import __version__
from .datasets import load_phasenet_windows
from .distributed import (
    Ranks,
    launch_local_processes,
    launched_by_torchrun,
    process_group,
)
from .estimator import TSCCClusterer
from .io import (
    ARRAY_SUFFIXES,
    SEISMIC_SUFFIXES,
    expand_paths,
    load_array,
    open_windows,
    read_windows,
    write_windows,
)
from .metrics import clustering_scores
from .plotting import plot_cluster_waveforms, plot_embedding, plot_history
from .preprocessing import WaveformNormalizer

__all__ = ["main"]

PROG = "tscc"

# Estimator parameters offered as options: (name, type, help).
_ESTIMATOR_OPTIONS = (
    ("repr_dims", int, "size of the learned features R"),
    ("hidden_dims", int, "channels of the hidden convolutional blocks"),
    ("depth", "depth", 'number of dilated blocks, or "auto"'),
    ("pretrain_epochs", int, "epochs of contrastive pretraining"),
    ("finetune_epochs", int, "epochs of joint clustering fine-tuning"),
    ("batch_size", int, "series per optimizer step"),
    ("lr", float, "learning rate of pretraining"),
    ("finetune_lr", float, "learning rate of fine-tuning"),
    ("m", float, "fuzzifier of the memberships, > 1"),
    ("cluster_weight", "weight", 'weight of the clustering loss, or "auto"'),
    ("cluster_loss", str, '"fcm" or the scale-free "fcm_ratio" clustering term'),
    ("cluster_fraction", float, "share of a batch in the clustering loss"),
    ("feature_norm", "norm", '"l2": cluster unit-length features; "none": as pooled'),
    ("augment", "augment", '"waveform": random polarity and gain of training crops'),
    ("center_update_interval", int, "fine-tuning epochs between centre updates"),
    ("tol", float, "early stop when fewer labels change (0: never)"),
    ("temporal_unit", int, "smallest pooling scale of the temporal loss"),
    ("max_train_length", "length", 'crop longer series in training ("none": never)'),
    ("n_init", int, "K-means restarts of the centre initialisation"),
    ("max_samples", "samples", "train on a random sample: N series, or a share < 1"),
    ("memory", str, "cache directory for the pretrained encoder"),
    ("device", str, '"auto", "cpu", "cuda" or "cuda:N"'),
    ("precision", str, '"auto", "float32" or "bfloat16" arithmetic'),
)


_METAVARS = {
    "m": "M",
    "n_init": "N",
    "max_samples": "N",
    "memory": "DIR",
    "device": "DEVICE",
}


class _UserError(Exception):
    """A problem with the command's input, reported without a traceback."""


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def main(argv=None):
    """Run the ``tscc`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments, without the program name; ``None`` reads
        ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 2 for an error in the input or the options, 130 when
        interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of our output left (``tscc predict ... | head``): not an
        # error of ours; stdout goes to devnull so that exiting flushes nothing
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (_UserError, ValueError, TypeError, ImportError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{PROG} {args.command}: error: {message}", file=sys.stderr)
        return 2


def build_parser():
    """Return the :class:`argparse.ArgumentParser` of the ``tscc`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser, with one subparser per subcommand; the parsed namespace's
        ``run`` attribute is the function that runs the subcommand.
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Cluster time series and seismic waveforms without labels with "
            "TSCC (time series contrastive clustering)."
        ),
        epilog=(
            "INPUT is a .npy/.npz (array X)/.csv (one series per row) file, or "
            "seismic files, directories or globs read with ObsPy (pip install "
            '"tscc[seismic]") and cut into --window second windows. '
            "Run 'tscc SUBCOMMAND --help' for the options of each."
        ),
    )
    parser.add_argument("--version", action="version", version=f"tscc {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="SUBCOMMAND"
    )
    _add_demo(commands)
    _add_fit(commands)
    _add_predict(commands)
    _add_transform(commands)
    _add_windows(commands)
    return parser


# ---------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _number_or(word, value, number=int):
    """An argparse type: a ``number``, or ``word`` (any case) standing for ``value``."""
    noun = "an integer" if number is int else "a number"

    def parse(text):
        if text.lower() == word:
            return value
        try:
            return number(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f'must be {noun} or "{word}", got {text!r}'
            ) from None

    return parse


_DEPTH = _number_or("auto", "auto")


def _sample_size(text):
    """An argparse type: a number of series (int), or a share of them (float)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number of series or a share in (0, 1], got {text!r}"
        ) from None


def _name_or_none(name):
    """An argparse type: ``name``, or "none" for None."""

    def parse(text):
        if text in (name, "none"):
            return None if text == "none" else text
        raise argparse.ArgumentTypeError(f'must be "{name}" or "none", got {text!r}')

    return parse


_feature_norm = _name_or_none("l2")
_augment = _name_or_none("waveform")


def _add_estimator_options(parser):
    defaults = TSCCClusterer().get_params()
    group = parser.add_argument_group(
        "estimator parameters",
        "Parameters of TSCCClusterer (see its docstring); the estimator's "
        "default when left out.",
    )
    types = {
        "depth": _DEPTH,
        "length": _number_or("none", None),
        "weight": _number_or("auto", "auto", float),
        "samples": _sample_size,
        "norm": _feature_norm,
        "augment": _augment,
    }
    for name, kind, text in _ESTIMATOR_OPTIONS:
        group.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            type=types.get(kind, kind),
            default=argparse.SUPPRESS,
            metavar=_METAVARS.get(name, name.split("_")[-1].upper()),
            help=f"{text} (default: {defaults[name]})",
        )
    group.add_argument(
        "--random-state",
        type=int,
        default=0,
        help="seed of the fit, for reproducible runs (default: 0)",
    )


def _add_input_options(parser, *, fit):
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help=(
            "a .npy, .npz or .csv file, or seismic files, directories or glob "
            "patterns (quote the pattern to let tscc expand it)"
        ),
    )
    _add_seismic_options(
        parser,
        ""
        if fit
        else " Use the --window, --channels, --bandpass and --sampling-rate "
        "of the fit.",
    )
    parser.add_argument(
        "--normalize",
        choices=("auto", "maxabs", "zscore", "none"),
        default="auto",
        help=(
            "demean, detrend and scale each series (WaveformNormalizer) before "
            "clustering; auto: maxabs for seismic input, none for arrays "
            "(default: auto; use the same value for fit and predict)"
        ),
    )


def _add_seismic_options(parser, note=""):
    """The windowing options of seismic input, shared by the subcommands."""
    group = parser.add_argument_group(
        "seismic input",
        "Reading miniSEED, SAC and other ObsPy formats (needs ObsPy: pip "
        'install "tscc[seismic]").' + note,
    )
    group.add_argument(
        "--window", type=float, metavar="SECONDS", help="window length in seconds"
    )
    group.add_argument(
        "--step",
        type=float,
        metavar="SECONDS",
        help="seconds between window starts (default: the window length)",
    )
    group.add_argument(
        "--channels",
        metavar="LETTERS",
        help=(
            'component letters stacked as channels, e.g. "Z" or "ENZ" '
            "(default: every trace on its own)"
        ),
    )
    group.add_argument(
        "--bandpass",
        type=float,
        nargs=2,
        metavar=("FREQMIN", "FREQMAX"),
        help="zero-phase Butterworth bandpass in Hz before windowing",
    )
    group.add_argument(
        "--sampling-rate",
        type=float,
        metavar="HZ",
        help="resample traces recorded at other rates to this one",
    )
    group.add_argument(
        "--gaps",
        choices=("skip", "nan"),
        default="skip",
        help=(
            "windows overlapping a gap: drop them, or keep them with NaN "
            "(missing) samples (default: skip)"
        ),
    )
    group.add_argument("--format", help='ObsPy format name, e.g. "MSEED" or "SAC"')
    return group


def _add_demo(commands):
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
    parser.add_argument(
        "--pretrain-epochs",
        type=int,
        metavar="N",
        help="pretraining epochs (default: 10, --quick: 4)",
    )
    parser.add_argument(
        "--finetune-epochs",
        type=int,
        metavar="N",
        help="fine-tuning epochs (default: 10, --quick: 2)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="series per training step (default: 64, --quick: 16)",
    )
    parser.add_argument(
        "--depth",
        type=_DEPTH,
        help='encoder depth (default: "auto", --quick: 4)',
    )
    parser.add_argument(
        "--hidden-dims",
        type=int,
        metavar="DIMS",
        help="hidden channels (default: 64, --quick: 32)",
    )
    parser.add_argument(
        "--out-dir",
        default="tscc-demo",
        metavar="DIR",
        help="folder for the figures (default: tscc-demo)",
    )
    parser.add_argument("--no-plots", action="store_true", help="write no figures")
    parser.add_argument("--device", default="auto", help="torch device (default: auto)")
    parser.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "float32", "bfloat16"),
        help="encoder arithmetic (default: auto)",
    )
    parser.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")
    parser.set_defaults(run=run_demo)


def _add_fit(commands):
    parser = commands.add_parser(
        "fit",
        help="fit a model, save it and write the cluster of each series",
        description=(
            "Fit TSCCClusterer on INPUT, save the model in tscc's safe format "
            "(no pickle: loading it runs no code) and write the cluster of "
            "each series with its provenance (index, source file, trace id and "
            "window start for seismic input) to a CSV file."
        ),
    )
    _add_input_options(parser, fit=True)
    parser.add_argument(
        "--n-clusters", type=int, required=True, metavar="K", help="number of clusters"
    )
    parser.add_argument(
        "--model",
        default="model.tscc",
        metavar="FILE",
        help="model file to write (default: model.tscc)",
    )
    parser.add_argument(
        "--labels",
        metavar="FILE",
        help="CSV file for the cluster of each series (default: none written)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="show no training progress"
    )
    parser.add_argument(
        "--nproc",
        type=_positive_int,
        default=1,
        metavar="N",
        help=(
            "train data-parallel in N local processes launched with torchrun, "
            "one thread each unless OMP_NUM_THREADS is set (gloo on CPUs; one "
            "GPU each and NCCL with --device cuda); --batch-size is per "
            "process. Under torchrun (several machines), leave it out "
            "(default: 1)"
        ),
    )
    _add_estimator_options(parser)
    parser.set_defaults(run=run_fit)


def _add_model_input_options(parser):
    parser.add_argument(
        "--model", required=True, metavar="FILE", help="model written by tscc fit"
    )
    _add_input_options(parser, fit=False)
    parser.add_argument(
        "--device",
        help="torch device to encode on (default: the model's, else the CPU)",
    )


def _add_predict(commands):
    parser = commands.add_parser(
        "predict",
        help="assign series to the clusters of a saved model",
        description=(
            "Assign each series of INPUT to a cluster of MODEL (a file written "
            "by 'tscc fit' or TSCCClusterer.save) and write a CSV: index, "
            "source, trace id and window start when known, label, and with "
            "--proba the fuzzy membership in each cluster."
        ),
    )
    _add_model_input_options(parser)
    parser.add_argument(
        "--proba",
        action="store_true",
        help="add columns proba_0 ... proba_K-1 with the memberships",
    )
    parser.add_argument(
        "--features",
        action="store_true",
        help="add columns feature_0 ... with the learned features",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        help=(
            "CSV file to write (default: standard output); for a windows store "
            "also a .zarr folder, written block by block with labels, "
            "memberships, features and the provenance of every window"
        ),
    )
    cluster = parser.add_argument_group(
        "Dask (a windows store from 'tscc windows' as INPUT; needs tscc[dask])"
    )
    where = cluster.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786",
    )
    where.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="start a local Dask cluster of N single-threaded worker processes",
    )
    cluster.add_argument(
        "-q", "--quiet", action="store_true", help="show no progress bar"
    )
    parser.set_defaults(run=run_predict)


def _add_transform(commands):
    parser = commands.add_parser(
        "transform",
        help="write the learned features R of series",
        description=(
            "Encode each series of INPUT with MODEL into its learned features "
            "R (n_series x repr_dims) and save them: .npy holds the features, "
            ".npz the array 'features' and the provenance arrays 'source', "
            "'trace_id' and 'starttime'."
        ),
    )
    _add_model_input_options(parser)
    parser.add_argument(
        "--out", required=True, metavar="FILE", help="output .npy or .npz file"
    )
    parser.set_defaults(run=run_transform)


def _add_windows(commands):
    parser = commands.add_parser(
        "windows",
        help="cut a seismic archive into a windows store (Zarr) on disk",
        description=(
            "Cut the seismic files of INPUT into windows, as fit and predict "
            "do, but one group of files at a time (the files of one station "
            "and day), appending them to a Zarr store: for archives larger "
            "than memory. Windows never span two groups (e.g. midnight "
            "between day files). Run the same command again to resume an "
            "interrupted run; a complete store is left as it is. Needs Zarr "
            '(pip install "tscc[dask]") and ObsPy; open the store with '
            "tscc.open_windows."
        ),
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help=(
            "seismic files, directories or glob patterns (quote the pattern to "
            "let tscc expand it, e.g. 'sds/**/*.D.*')"
        ),
    )
    parser.add_argument(
        "--out", required=True, metavar="STORE", help="store directory to write"
    )
    _add_seismic_options(parser)
    parser.add_argument(
        "--chunk-size",
        type=int,
        metavar="N",
        help="windows per chunk of the store (default: chunks of about 4 MiB)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="groups of files cut at the same time, in processes; -1: one per "
        "CPU (default: 1)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="show no progress bar"
    )
    parser.set_defaults(run=run_windows)


# ---------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------


def _input_kind(path, window):
    """``"array"`` or ``"seismic"``; raises for missing files and unknown formats."""
    text = os.fspath(path)
    pattern = glob.has_magic(text)
    # Expanded as read_windows expands it, and before anything else, so that
    # a missing file is said the same way whether ObsPy is installed or not.
    expand_paths(text)
    suffix = Path(text).suffix.lower()
    if suffix in ARRAY_SUFFIXES and not pattern:
        return "array"
    if pattern or os.path.isdir(text) or suffix in SEISMIC_SUFFIXES or window:
        return "seismic"
    raise _UserError(
        f"Unknown input format {suffix or '(no suffix)'!r} of {text}: use "
        f"{', '.join(ARRAY_SUFFIXES)} arrays, or seismic files (miniSEED, SAC, "
        "...) with --window SECONDS."
    )


def _read_input(args):
    """Series and provenance columns of the command's INPUT."""
    kinds = {_input_kind(path, args.window) for path in args.inputs}
    if len(kinds) > 1:
        raise _UserError("INPUT mixes array files and seismic files; give one kind.")
    if kinds == {"array"}:
        X, columns = _read_arrays(args.inputs)
        kind = "array"
    else:
        if args.window is None:
            raise _UserError(
                "Seismic input needs --window SECONDS, the length of the windows "
                "to cut."
            )
        windows = read_windows(list(args.inputs), **_window_options(args))
        X, columns = windows.X, windows.metadata()
        kind = "seismic"
    normalize = args.normalize
    if normalize == "auto":
        normalize = "maxabs" if kind == "seismic" else "none"
    if normalize != "none":
        X = WaveformNormalizer(normalize=normalize).fit_transform(X)
    return X, columns, normalize


def _window_options(args):
    """The options of read_windows and write_windows given on the command line."""
    return {
        "window": args.window,
        "step": args.step,
        "channels": args.channels,
        "bandpass": args.bandpass,
        "sampling_rate": args.sampling_rate,
        "gaps": args.gaps,
        "format": args.format,
    }


def _read_arrays(paths):
    arrays, sources = [], []
    for path in paths:
        X, _ = load_array(path)
        if arrays and X.shape[1:] != arrays[0].shape[1:]:
            raise _UserError(
                f"Mismatched shapes: {path} holds series of shape {X.shape[1:]}, "
                f"{paths[0]} of shape {arrays[0].shape[1:]}."
            )
        arrays.append(X)
        sources.append(np.full(X.shape[0], os.fspath(path)))
    return np.concatenate(arrays), {"source": np.concatenate(sources)}


def _describe(X, columns):
    n_channels = 1 if X.ndim == 2 else X.shape[2]
    n_sources = np.unique(columns["source"]).size
    return (
        f"{X.shape[0]} series of {X.shape[1]} timestamps x {n_channels} "
        f"channel(s) from {n_sources} source(s)"
    )


def _load_model(path, device=None):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such model file: {path}")
    return TSCCClusterer.load(path, device=device)


def _check_shape(model, X, args):
    n_channels = 1 if X.ndim == 2 else X.shape[2]
    if (X.shape[1], n_channels) != (model.n_features_in_, model.n_channels_in_):
        raise _UserError(
            f"Mismatched shapes: INPUT has series of {X.shape[1]} timestamps x "
            f"{n_channels} channel(s), but the model {args.model} was fitted on "
            f"{model.n_features_in_} timestamps x {model.n_channels_in_} "
            "channel(s); for seismic input use the --window, --sampling-rate and "
            "--channels of the fit."
        )


def _write_csv(path, columns):
    names = list(columns)
    rows = zip(*(columns[name] for name in names), strict=True)
    if path is None:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(rows)
        return
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(names)
        writer.writerows(rows)


def _output_columns(columns, labels):
    out = {"index": np.arange(labels.shape[0])}
    out.update(columns)
    out["label"] = labels
    return out


# ---------------------------------------------------------------------------
# Subcommands
# ---------------------------------------------------------------------------


def run_fit(args):
    """Run ``tscc fit``: fit, save the model, write the labels.

    With ``--nproc N`` it starts N copies of itself with ``torchrun``; a copy
    started by ``torchrun`` joins the process group, trains its share, and
    rank 0 alone reports, saves the model and writes the labels.
    """
    if launched_by_torchrun():
        device = resolve_device(getattr(args, "device", "auto"))
        with process_group(device) as ranks:
            return _fit_and_save(args, ranks)
    if args.nproc > 1:
        return _launch_fit(args)
    return _fit_and_save(args, Ranks())


def _launch_fit(args):
    """``tscc fit`` in ``args.nproc`` processes; the exit status of the launch."""
    from torch.distributed.elastic.multiprocessing import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    print(f"Launching {args.nproc} training processes with torchrun.", flush=True)
    try:
        launch_local_processes(args.nproc, args.argv)
    except ChildFailedError as exc:
        failures = ", ".join(
            f"rank {rank} (exit code {failure.exitcode})"
            for rank, failure in sorted(exc.failures.items())
        )
        print(
            f"{PROG} fit: error: training process(es) failed: {failures}; "
            "their messages are above.",
            file=sys.stderr,
        )
        return 1
    except SignalException:
        # torchrun passed Ctrl-C on to the processes and waited for them
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return 0


def _fit_and_save(args, ranks):
    """Fit on this process's input; rank 0 reports and writes the outputs."""
    lead = ranks.rank == 0
    X, columns, normalize = _read_input(args)
    if lead:
        print(f"Read {_describe(X, columns)}; normalize={normalize}.", flush=True)
    # Options left out are absent from args (argparse.SUPPRESS).
    params = {
        name: getattr(args, name)
        for name, _, _ in _ESTIMATOR_OPTIONS
        if hasattr(args, name)
    }
    clusterer = TSCCClusterer(
        n_clusters=args.n_clusters,
        random_state=args.random_state,
        verbose=0 if args.quiet else 1,
        **params,
    )
    start = time.perf_counter()
    labels = clusterer.fit(X).labels_
    seconds = time.perf_counter() - start
    if not lead:
        return 0
    clusterer.save(args.model)
    sizes = ", ".join(
        f"{cluster}: {count}"
        for cluster, count in enumerate(np.bincount(labels, minlength=args.n_clusters))
    )
    print(f"Fitted in {seconds:.1f} s; cluster sizes {sizes}.")
    print(f"Model written to {args.model}.")
    if args.labels:
        _write_csv(args.labels, _output_columns(columns, labels))
        print(f"Labels written to {args.labels}.")
    return 0


def run_predict(args):
    """Run ``tscc predict``: labels (and memberships) of new series."""
    model = _load_model(args.model, args.device)
    if len(args.inputs) == 1 and _is_windows_store(args.inputs[0]):
        return _predict_store(args, model)
    if args.scheduler or args.workers:
        raise _UserError(
            "--scheduler and --workers take a windows store (written by 'tscc "
            "windows') as INPUT."
        )
    if args.out and Path(args.out).suffix.lower() == ".zarr":
        raise _UserError("--out FILE.zarr is for a windows store as INPUT.")
    X, columns, _ = _read_input(args)
    _check_shape(model, X, args)
    memberships = model.predict_proba(X)
    out = _output_columns(columns, memberships.argmax(axis=1))
    _add_prediction_columns(
        out, args, memberships, model.transform(X) if args.features else None
    )
    _write_csv(args.out, out)
    if args.out:
        print(f"Labels of {_describe(X, columns)} written to {args.out}.")
    return 0


def _add_prediction_columns(out, args, memberships, features):
    if args.proba:
        for cluster in range(memberships.shape[1]):
            out[f"proba_{cluster}"] = np.round(memberships[:, cluster], 6)
    if features is not None:
        for dim in range(features.shape[1]):
            out[f"feature_{dim}"] = features[:, dim]


def _predict_store(args, model):
    """``tscc predict`` of a windows store, on a Dask cluster or locally."""
    from . import dask as tscc_dask  # Dask is an optional dependency

    windows = open_windows(args.inputs[0])
    X = windows.X
    _check_shape(model, X, args)
    normalize = "maxabs" if args.normalize == "auto" else args.normalize
    if normalize != "none":
        # per window, so block by block is the same as all at once
        normalizer = WaveformNormalizer(normalize=normalize).fit(X[:1].compute())
        X = X.map_blocks(normalizer.transform, dtype=X.dtype)
    to_zarr = args.out is not None and Path(args.out).suffix.lower() == ".zarr"
    with _dask_client(args) as client:
        where = "locally" if client is None else f"on {_describe_cluster(client)}"
        print(
            f"Predicting {X.shape[0]} windows of {args.inputs[0]} {where}.",
            file=sys.stderr,
            flush=True,
        )
        start = time.perf_counter()
        results = tscc_dask.predict_all(model, X)
        if to_zarr:
            _store_predictions(args, results, windows, client)
        else:
            labels, memberships, features = _compute(results, client, args.quiet)
    seconds = time.perf_counter() - start
    if not to_zarr:
        out = _output_columns(windows.metadata(), labels)
        _add_prediction_columns(
            out, args, memberships, features if args.features else None
        )
        _write_csv(args.out, out)
    if args.out:
        print(
            f"Labels of {X.shape[0]} windows written to {args.out} in "
            f"{seconds:.1f} s ({X.shape[0] / max(seconds, 1e-9):.0f} windows/s)."
        )
    return 0


def run_transform(args):
    """Run ``tscc transform``: learned features of series."""
    suffix = Path(args.out).suffix.lower()
    if suffix not in (".npy", ".npz"):
        raise _UserError(f"--out must be a .npy or .npz file, got {args.out}.")
    model = _load_model(args.model, args.device)
    X, columns, _ = _read_input(args)
    _check_shape(model, X, args)
    features = model.transform(X)
    if suffix == ".npy":
        np.save(args.out, features)
    else:
        np.savez(args.out, features=features, **columns)
    print(
        f"Features of shape {features.shape} of {_describe(X, columns)} written "
        f"to {args.out}.",
        file=sys.stderr,
    )
    return 0


def run_windows(args):
    """Run ``tscc windows``: cut seismic files into a windows store."""
    if args.window is None:
        raise _UserError("tscc windows needs --window SECONDS, the window length.")

    def show(message, category, *_, **__):
        # one line per skipped file, in the command's own words
        text = " ".join(str(message).split())
        print(f"{PROG} windows: warning: {text}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("always", UserWarning)
        warnings.showwarning = show
        summary = write_windows(
            list(args.inputs),
            args.out,
            **_window_options(args),
            chunk_size=args.chunk_size,
            n_jobs=args.jobs,
            progress=not args.quiet,
        )
    shape = (
        f"{summary.n_timestamps} timestamps x {summary.n_channels} channel(s) "
        f"at {summary.sampling_rate:g} Hz"
    )
    if summary.already_complete:
        print(
            f"{summary.path} is already complete: {summary.n_windows} windows of "
            f"{shape}; nothing to do."
        )
        return 0
    resumed = " (resumed)" if summary.resumed else ""
    print(
        f"Wrote {summary.windows_written} windows{resumed} of {shape} from "
        f"{summary.groups_written} group(s) of files in {summary.seconds:.1f} s "
        f"({summary.windows_written / max(summary.seconds, 1e-9):.0f} windows/s)."
    )
    print(
        f"{summary.path}: {summary.n_windows} windows, {summary.n_groups} "
        f"group(s), {_size(_directory_bytes(summary.path))}."
    )
    if summary.skipped_files:
        print(
            f"{len(summary.skipped_files)} file(s) skipped (listed in the store's "
            "skipped_files attribute)."
        )
    return 0


def _is_windows_store(path):
    """Whether ``path`` is a Zarr folder (such as a 'tscc windows' store)."""
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, "zarr.json"))


@contextlib.contextmanager
def _dask_client(args):
    """A Dask client for --scheduler or --workers, else None (local threads)."""
    if not (args.scheduler or args.workers):
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise _UserError('Dask is not installed: pip install "tscc[dask]".') from exc
    if args.scheduler:
        try:
            client = Client(args.scheduler, timeout="30s")
        except OSError as exc:
            raise _UserError(
                f"Could not reach the Dask scheduler at {args.scheduler}: {exc}"
            ) from exc
        with client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _describe_cluster(client):
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    threads = sum(worker["nthreads"] for worker in workers)
    return f"{len(workers)} Dask worker(s) with {threads} thread(s) in all"


def _compute(results, client, quiet):
    """Compute Dask arrays together, with a progress bar unless ``quiet``."""
    import dask

    if client is None:
        from dask.diagnostics import ProgressBar

        bar = contextlib.nullcontext() if quiet else ProgressBar(out=sys.stderr)
        with bar:
            return dask.compute(*results)
    futures = client.compute(list(results))
    if not quiet:
        from distributed import progress

        progress(futures)
        print(file=sys.stderr)
    return client.gather(futures)


def _store_predictions(args, results, windows, client):
    """Write labels, memberships and features with the provenance to Zarr."""
    import dask.array as da
    import zarr

    labels, memberships, features = results
    group = zarr.open_group(args.out, mode="w")
    targets = [
        group.create_array(
            name, shape=array.shape, chunks=array.chunksize, dtype=array.dtype
        )
        for name, array in (
            ("labels", labels),
            ("memberships", memberships),
            ("features", features),
        )
    ]
    for name, values in windows.metadata().items():
        column = group.create_array(
            name,
            shape=values.shape,
            chunks=(max(1, min(len(values), 2**16)),),
            dtype=str,
        )
        column[:] = values
    group.attrs.update(
        {
            "tscc_version": __version__,
            "model": os.path.abspath(args.model),
            "windows_store": os.path.abspath(args.inputs[0]),
        }
    )
    stored = da.store(list(results), targets, lock=False, compute=False)
    _compute([stored], client, args.quiet)


def _directory_bytes(path):
    return sum(
        os.path.getsize(os.path.join(folder, name))
        for folder, _, names in os.walk(path)
        for name in names
    )


def _size(n_bytes):
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1000 or unit == "GB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    return f"{n_bytes:.1f} TB"


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
_DEMO_OPTIONS = (
    "depth",
    "hidden_dims",
    "batch_size",
    "pretrain_epochs",
    "finetune_epochs",
)


def _describe_demo(settings):
    return (
        f"{settings['pretrain_epochs']} pretraining + "
        f"{settings['finetune_epochs']} fine-tuning epochs, "
        f"depth={settings['depth']}, hidden_dims={settings['hidden_dims']}, "
        f"batch_size={settings['batch_size']}, lr={settings['lr']:g}"
    )


def run_demo(args):
    """Run ``tscc demo``: TSCC and K-means on the bundled PhaseNet windows."""
    settings = dict(_QUICK_DEMO if args.quick else _FULL_DEMO)
    for name in _DEMO_OPTIONS:
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)

    data = load_phasenet_windows(task="event_vs_noise", channels="Z")
    X = WaveformNormalizer().fit_transform(data.data)
    y = data.target
    names = list(data.target_names)
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

    clusterer = TSCCClusterer(
        len(names),
        **settings,
        device=args.device,
        precision=args.precision,
        random_state=args.random_state,
        verbose=1,
    )
    print(f"Fitting TSCC: {_describe_demo(settings)}.", flush=True)
    if args.quick:
        print(
            f"Quick run, shortened from the full demo's {_describe_demo(_FULL_DEMO)}.",
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
    print("\nTSCC clusters against the classes (rows: class, columns: cluster):")
    table = np.zeros((len(names), clusterer.n_clusters), dtype=int)
    np.add.at(table, (y, labels), 1)
    print("  " + " " * 8 + "".join(f"{k:>6d}" for k in range(table.shape[1])))
    for name, row in zip(names, table, strict=True):
        print(f"  {name:<8}" + "".join(f"{count:6d}" for count in row))

    if not args.no_plots:
        _demo_plots(args.out_dir, clusterer, X, labels, y, names, data.sampling_rate)
    return 0


def _demo_plots(out_dir, clusterer, X, labels, y, names, sampling_rate):
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
