"""``tscc predict``: the clusters of a saved model for the series of INPUT."""

import time

from ._inputs import check_shape, load_model, read_input
from ._options import add_dask_options, add_model_input_options
from ._output import (
    add_prediction_columns,
    output_columns,
    refuse_store_options,
    to_zarr,
    write_csv,
)


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
    add_dask_options(parser)
    parser.set_defaults(run=run)


def run(args):
    """Run ``tscc predict``: labels (and memberships) of new series."""
    model = load_model(args.model, args.device)
    series = read_input(args)
    if series.kind == "store":
        return _predict_store(args, model, series)
    refuse_store_options(args)
    check_shape(model, series.X, args)
    memberships = model.predict_proba(series.X)
    out = output_columns(series.metadata, memberships.argmax(axis=1))
    features = model.transform(series.X) if args.features else None
    add_prediction_columns(out, memberships, features, proba=args.proba)
    write_csv(args.out, out)
    if args.out:
        print(f"Labels of {series.describe()} written to {args.out}.")
    return 0


def _predict_store(args, model, series):
    """``tscc predict`` of a windows store, on a Dask cluster or locally."""
    from .. import dask as tscc_dask  # Dask is an optional dependency
    from ._dask import announced_client, compute, write_store

    X = series.X
    check_shape(model, X, args)
    start = time.perf_counter()
    if to_zarr(args):
        write_store(args, model, series, tscc_dask.PREDICTION_OUTPUTS, "Predicting")
    else:
        with announced_client(args, "Predicting", X.shape[0]) as client:
            results = tscc_dask.predict_all(model, X)
            labels, memberships, features = compute(results, client, args.quiet)
        out = output_columns(series.metadata, labels)
        features = features if args.features else None
        add_prediction_columns(out, memberships, features, proba=args.proba)
        write_csv(args.out, out)
    seconds = time.perf_counter() - start
    if args.out:
        print(
            f"Labels of {X.shape[0]} windows written to {args.out} in "
            f"{seconds:.1f} s ({X.shape[0] / max(seconds, 1e-9):.0f} windows/s)."
        )
    return 0
