"""``tscc transform``: the learned features R of the series of INPUT."""

import sys
import time
from pathlib import Path

import numpy as np

from ._common import UserError
from ._inputs import check_shape, load_model, read_input
from ._options import add_dask_options, add_model_input_options
from ._output import refuse_store_options, to_zarr

_SUFFIXES = (".npy", ".npz", ".zarr")


def add_parser(commands):
    """Add the ``transform`` subcommand to ``commands``."""
    parser = commands.add_parser(
        "transform",
        help="write the learned features R of series",
        description=(
            "Encode each series of INPUT with MODEL into its learned features "
            "R (n_series x repr_dims) and save them: .npy holds the features, "
            ".npz the array 'features' and the provenance arrays 'source', "
            "'trace_id' and 'starttime'. A windows store is encoded a block "
            "at a time, on Dask with --workers or --scheduler; with --out "
            "FILE.zarr the blocks are written as they are encoded, with the "
            "provenance of every window, so the features need not fit in "
            "memory."
        ),
    )
    add_model_input_options(parser)
    parser.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="output .npy or .npz file, or a .zarr folder for a windows store",
    )
    add_dask_options(parser)
    parser.set_defaults(run=run)


def run(args):
    """Run ``tscc transform``: learned features of series."""
    suffix = Path(args.out).suffix.lower()
    if suffix not in _SUFFIXES:
        raise UserError(f"--out must be a .npy, .npz or .zarr path, got {args.out}.")
    model = load_model(args.model, args.device)
    series = read_input(args)
    check_shape(model, series.X, args)
    if series.kind == "store":
        return _transform_store(args, model, series)
    refuse_store_options(args)
    features = model.transform(series.X)
    _save(args.out, features, series)
    print(
        f"Features of shape {features.shape} of {series.describe()} written "
        f"to {args.out}.",
        file=sys.stderr,
    )
    return 0


def _transform_store(args, model, series):
    """``tscc transform`` of a windows store, on a Dask cluster or locally."""
    from .. import dask as tscc_dask  # Dask is an optional dependency
    from ._dask import announced_client, compute, write_store

    start = time.perf_counter()
    if to_zarr(args):
        write_store(args, model, series, ("features",), "Encoding")
        shape = (series.X.shape[0], model.repr_dims)
    else:
        with announced_client(args, "Encoding", series.X.shape[0]) as client:
            (features,) = compute(
                [tscc_dask.transform(model, series.X)], client, args.quiet
            )
        _save(args.out, features, series)
        shape = features.shape
    seconds = time.perf_counter() - start
    print(
        f"Features of shape {shape} of {series.describe()} written to "
        f"{args.out} in {seconds:.1f} s.",
        file=sys.stderr,
    )
    return 0


def _save(path, features, series):
    """Features as .npy, or as .npz with the provenance of every series."""
    if Path(path).suffix.lower() == ".npy":
        np.save(path, features)
    else:
        np.savez(path, features=features, **series.metadata)
