"""Safe saving and loading of fitted estimators.

A pickle (or joblib) file runs code when it is loaded, so a model file from a
colleague or the internet is a program. :func:`save_model` instead writes
parameters and fitted metadata as JSON text and the weights and arrays as plain
tensors, in one file that :func:`load_model` reads with
``torch.load(weights_only=True)``: loading executes no code from the file.
"""

import json
import pickle
from numbers import Integral
from pathlib import Path

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ._validation import restore_device
from ._version import __version__
from .encoder import rebuild_encoder

__all__ = ["FORMAT_VERSION", "save_model", "load_model"]

FORMAT_NAME = "tscc.TSCCClusterer"
FORMAT_VERSION = 1

# Fitted scalars and lists stored as JSON; arrays and weights go as tensors.
_JSON_ATTRIBUTES = (
    "n_features_in_",
    "n_channels_in_",
    "device_",
    "precision_",
    "depth_",
    "n_iter_",
    "history_",
)


def save_model(estimator, path):
    """Write a fitted :class:`~tscc.TSCCClusterer` to ``path`` without pickle.

    Parameters
    ----------
    estimator : TSCCClusterer
        A fitted estimator.
    path : str or path-like
        File to write (conventionally ``*.tscc``); overwritten if it exists.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    ValueError
        If a parameter cannot be stored as JSON. A ``random_state`` that is a
        ``RandomState`` instance and a ``memory`` that is a ``joblib.Memory``
        are stored as ``None``.
    """
    check_is_fitted(estimator)
    params = estimator.get_params()
    if not isinstance(params["random_state"], Integral | type(None)):
        params["random_state"] = None  # a generator's state is not a parameter
    params["device"] = str(params["device"])
    if not isinstance(params["memory"], str | type(None)):
        params["memory"] = None  # a joblib.Memory is a cache handle, not state
    fitted = {name: getattr(estimator, name) for name in _JSON_ATTRIBUTES}
    fitted["encoder_kwargs"] = estimator._encoder_kwargs
    if hasattr(estimator, "feature_names_in_"):
        fitted["feature_names_in_"] = [str(n) for n in estimator.feature_names_in_]
    try:
        params_json = json.dumps(params)
        fitted_json = json.dumps(fitted)
    except TypeError as exc:
        raise ValueError(f"Cannot store the estimator's parameters: {exc}") from exc
    payload = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "tscc_version": __version__,
        "params": params_json,
        "fitted": fitted_json,
        "labels": torch.from_numpy(np.ascontiguousarray(estimator.labels_)),
        "cluster_centers": torch.from_numpy(
            np.ascontiguousarray(estimator.cluster_centers_)
        ),
        "encoder": {
            name: tensor.detach().cpu()
            for name, tensor in estimator.encoder_.state_dict().items()
        },
    }
    torch.save(payload, Path(path))


def load_model(path, estimator_class, device=None):
    """Read an estimator written by :func:`save_model`; runs no code from the file.

    Parameters
    ----------
    path : str or path-like
        File written by :func:`save_model` or
        :meth:`tscc.TSCCClusterer.save`.
    estimator_class : type
        Class to build, :class:`~tscc.TSCCClusterer` (what
        :meth:`tscc.TSCCClusterer.load` passes).
    device : str, default=None
        Device for the encoder. ``None`` uses the device it was fitted on when
        that is available here, else the CPU.

    Returns
    -------
    estimator : TSCCClusterer
        The fitted estimator, ready to ``predict``.

    Raises
    ------
    ValueError
        If the file is not a tscc model, or was written in another format
        version.
    """
    try:
        payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ValueError(
            f"{path} is not a readable tscc model file: it holds objects other "
            "than tensors and plain data, which could run code when loaded, so it "
            "was refused."
        ) from exc
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as exc:
        # A damaged or foreign file fails inside the unpickler with whatever
        # error its bytes happen to trigger (KeyError, IndexError, ...).
        detail = str(exc) or type(exc).__name__
        raise ValueError(f"{path} is not a readable tscc model file: {detail}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise ValueError(f"{path} is not a tscc model file.")
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{path} was written in model format version {version} (by tscc "
            f"{payload.get('tscc_version')}); this tscc reads format version "
            f"{FORMAT_VERSION}. Load it with the tscc version that wrote it."
        )
    params = json.loads(payload["params"])
    # Files from before cluster_loss existed were fitted with the paper's term;
    # the current default would refit them with another one.
    params.setdefault("cluster_loss", "fcm")
    # ... and clustered the max-pooled features as they are.
    params.setdefault("feature_norm", None)
    estimator = estimator_class(**params)
    fitted = json.loads(payload["fitted"])
    encoder_kwargs = fitted.pop("encoder_kwargs")
    feature_names = fitted.pop("feature_names_in_", None)
    for name, value in fitted.items():
        setattr(estimator, name, value)
    if feature_names is not None:
        estimator.feature_names_in_ = np.asarray(feature_names, dtype=object)
    estimator.labels_ = payload["labels"].numpy()
    estimator.cluster_centers_ = payload["cluster_centers"].numpy()
    estimator._encoder_kwargs = encoder_kwargs
    target = restore_device(estimator.device_, device)
    estimator.encoder_ = rebuild_encoder(encoder_kwargs, payload["encoder"], target)
    estimator.device_ = str(target)
    return estimator
