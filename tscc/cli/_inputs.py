"""The input of fit, predict and transform, and the model predict reads."""

import os

from ..estimator import TSCCClusterer
from ..io import open_series
from ._common import UserError
from ._options import window_options


def read_input(args):
    """The series of the command's INPUT (:func:`tscc.io.open_series`).

    Parameters
    ----------
    args : argparse.Namespace
        With ``inputs``, ``normalize`` and the seismic options.

    Returns
    -------
    series : tscc.io.SeriesInput
    """
    return open_series(
        list(args.inputs), normalize=args.normalize, **window_options(args)
    )


def load_model(path, device=None):
    """The model saved at ``path``; FileNotFoundError naming it if there is none."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such model file: {path}")
    return TSCCClusterer.load(path, device=device)


def check_shape(model, X, args):
    """Refuse series of another length or channel count than the model's."""
    n_channels = 1 if X.ndim == 2 else X.shape[2]
    if (X.shape[1], n_channels) != (model.n_features_in_, model.n_channels_in_):
        raise UserError(
            f"Mismatched shapes: INPUT has series of {X.shape[1]} timestamps x "
            f"{n_channels} channel(s), but the model {args.model} was fitted on "
            f"{model.n_features_in_} timestamps x {model.n_channels_in_} "
            "channel(s); for seismic input use the --window, --sampling-rate and "
            "--channels of the fit."
        )
