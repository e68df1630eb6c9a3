"""``tscc transform``: the learned features R of the series of INPUT."""

import sys
from pathlib import Path

import numpy as np

from ._common import UserError
from ._inputs import check_shape, load_model, read_input
from ._options import add_model_input_options


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
            "at a time."
        ),
    )
    add_model_input_options(parser)
    parser.add_argument(
        "--out", required=True, metavar="FILE", help="output .npy or .npz file"
    )
    parser.set_defaults(run=run)


def run(args):
    """Run ``tscc transform``: learned features of series."""
    suffix = Path(args.out).suffix.lower()
    if suffix not in (".npy", ".npz"):
        raise UserError(f"--out must be a .npy or .npz file, got {args.out}.")
    model = load_model(args.model, args.device)
    series = read_input(args)
    check_shape(model, series.X, args)
    features = model.transform(series.X)
    if suffix == ".npy":
        np.save(args.out, features)
    else:
        np.savez(args.out, features=features, **series.metadata)
    print(
        f"Features of shape {features.shape} of {series.describe()} written "
        f"to {args.out}.",
        file=sys.stderr,
    )
    return 0
