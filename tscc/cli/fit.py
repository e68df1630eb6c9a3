"""``tscc fit``: fit a model on INPUT, save it, write the cluster of each series."""

import sys
import time

import numpy as np

from .._validation import resolve_device
from ..distributed import (
    Ranks,
    launch_local_processes,
    launched_by_torchrun,
    process_group,
)
from ..estimator import TSCCClusterer
from ._common import PROG
from ._inputs import read_input
from ._options import add_estimator_options, add_input_options, positive_int
from ._output import output_columns, write_csv


def add_parser(commands):
    """Add the ``fit`` subcommand to ``commands``."""
    parser = commands.add_parser(
        "fit",
        help="fit a model, save it and write the cluster of each series",
        description=(
            "Fit TSCCClusterer on INPUT, save the model in tscc's safe format "
            "(no pickle: loading it runs no code) and write the cluster of "
            "each series with its provenance (index, source file, trace id and "
            "window start for seismic input and windows stores) to a CSV file. "
            "A windows store is read lazily: train on a sample of it with "
            "--max-samples."
        ),
    )
    add_input_options(parser, fit=True)
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
        type=positive_int,
        default=1,
        metavar="N",
        help=(
            "train data-parallel in N local processes launched with torchrun, "
            "one thread each unless OMP_NUM_THREADS is set (gloo on CPUs; one "
            "GPU each and NCCL with --device cuda); --batch-size is the "
            "batch of a step over all N, each taking its share, so N changes "
            "the speed, not what is learned. Under torchrun (several "
            "machines), leave it out (default: 1)"
        ),
    )
    group = parser.add_argument_group(
        "estimator parameters",
        "Parameters of TSCCClusterer (see its docstring); the estimator's "
        "default when left out.",
    )
    parser.set_defaults(run=run, estimator_params=add_estimator_options(group))


def run(args):
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
        return _launch(args)
    return _fit_and_save(args, Ranks())


def _launch(args):
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
    series = read_input(args)
    if lead:
        print(f"Read {series.describe()}; normalize={series.normalize}.", flush=True)
    # Options left out are absent from args (argparse.SUPPRESS).
    params = {
        name: getattr(args, name)
        for name in args.estimator_params
        if hasattr(args, name)
    }
    clusterer = TSCCClusterer(verbose=0 if args.quiet else 1, **params)
    start = time.perf_counter()
    labels = clusterer.fit(series.X).labels_
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
        write_csv(args.labels, output_columns(series.metadata, labels))
        print(f"Labels written to {args.labels}.")
    return 0
