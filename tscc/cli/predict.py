"""``tscc predict``: the clusters of a saved model for the series of INPUT."""

import os
import sys
import time
from pathlib import Path

from ._common import UserError
from ._inputs import check_shape, load_model, read_input
from ._options import add_model_input_options, positive_int
from ._output import add_prediction_columns, output_columns, write_csv


def add_parser(commands):
    """Add the ``predict`` subcommand to ``commands``."""
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
    add_model_input_options(parser)
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
        type=positive_int,
        metavar="N",
        help="start a local Dask cluster of N single-threaded worker processes",
    )
    cluster.add_argument(
        "-q", "--quiet", action="store_true", help="show no progress bar"
    )
    parser.set_defaults(run=run)


def run(args):
    """Run ``tscc predict``: labels (and memberships) of new series."""
    model = load_model(args.model, args.device)
    series = read_input(args)
    if series.kind == "store":
        return _predict_store(args, model, series)
    if args.scheduler or args.workers:
        raise UserError(
            "--scheduler and --workers take a windows store (written by 'tscc "
            "windows') as INPUT."
        )
    if _to_zarr(args):
        raise UserError("--out FILE.zarr is for a windows store as INPUT.")
    check_shape(model, series.X, args)
    memberships = model.predict_proba(series.X)
    out = output_columns(series.metadata, memberships.argmax(axis=1))
    features = model.transform(series.X) if args.features else None
    add_prediction_columns(out, memberships, features, proba=args.proba)
    write_csv(args.out, out)
    if args.out:
        print(f"Labels of {series.describe()} written to {args.out}.")
    return 0


def _to_zarr(args):
    return args.out is not None and Path(args.out).suffix.lower() == ".zarr"


def _predict_store(args, model, series):
    """``tscc predict`` of a windows store, on a Dask cluster or locally."""
    from .. import dask as tscc_dask  # Dask is an optional dependency
    from ._dask import compute, dask_client, describe_cluster

    X = series.X
    check_shape(model, X, args)
    with dask_client(args) as client:
        where = "locally" if client is None else f"on {describe_cluster(client)}"
        print(
            f"Predicting {X.shape[0]} windows of {args.inputs[0]} {where}.",
            file=sys.stderr,
            flush=True,
        )
        start = time.perf_counter()
        if _to_zarr(args):
            written = tscc_dask.write_predictions(
                model,
                X,
                args.out,
                metadata=series.metadata,
                attrs={
                    "model": os.path.abspath(args.model),
                    "windows_store": os.path.abspath(args.inputs[0]),
                },
                compute=False,
            )
            compute([written], client, args.quiet)
        else:
            results = tscc_dask.predict_all(model, X)
            labels, memberships, features = compute(results, client, args.quiet)
    seconds = time.perf_counter() - start
    if not _to_zarr(args):
        out = output_columns(series.metadata, labels)
        features = features if args.features else None
        add_prediction_columns(out, memberships, features, proba=args.proba)
        write_csv(args.out, out)
    if args.out:
        print(
            f"Labels of {X.shape[0]} windows written to {args.out} in "
            f"{seconds:.1f} s ({X.shape[0] / max(seconds, 1e-9):.0f} windows/s)."
        )
    return 0
