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

__all__ = ["FORMAT_VERSION", "save_model", "load_model", "upgrade_state"]

FORMAT_NAME = "tscc.TSCCClusterer"
#: Version 2 stores every fitted attribute by rule; version 1 files (a fixed
#: list of attributes) still load.
FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)

# Parameters added since the first release, with the value that reproduces
# what a model saved before they existed was fitted with.
_PARAMETERS_BEFORE = {
    "cluster_loss": "fcm",  # the paper's term (the default is another now)
    "feature_norm": None,  # the max-pooled features as they are
    "pooling": "max",  # the paper's pooling over time
    "augment": None,  # the crops as they are
}


def upgrade_state(state):
    """Bring the state of a model saved by an older version up to date.

    The one place that knows what older versions saved: unpickling
    (``__setstate__``) and :func:`load_model` both pass through it.

    Parameters
    ----------
    state : dict
        Parameters and fitted attributes, as in the estimator's ``__dict__``;
        not modified.

    Returns
    -------
    state : dict
        With every parameter present (older models get the value they were
        fitted with), the encoder's arguments as ``encoder_kwargs_`` and
        ``max_samples_`` set.
    """
    state = dict(state)
    for name, value in _PARAMETERS_BEFORE.items():
        state.setdefault(name, value)
    if "_encoder_kwargs" in state:
        # models fitted before the encoder followed the paper have no output
        # block: rebuild the blocks they were fitted with
        state["encoder_kwargs_"] = {
            "output_block": False,
            **state.pop("_encoder_kwargs"),
        }
    if "labels_" in state and "max_samples_" not in state:
        state["max_samples_"] = len(state["labels_"])
    return state


def _fitted_attributes(estimator):
    """Every fitted attribute: public, ending in an underscore."""
    return {
        name: value
        for name, value in vars(estimator).items()
        if name.endswith("_") and not name.startswith("_")
    }


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
    fitted, arrays, texts = {}, {}, {}
    for name, value in _fitted_attributes(estimator).items():
        if name == "encoder_":
            continue
        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            arrays[name] = torch.from_numpy(np.ascontiguousarray(value))
        elif isinstance(value, np.ndarray):
            texts[name] = [str(item) for item in value]
        else:
            fitted[name] = value
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
        "text_arrays": json.dumps(texts),
        "arrays": arrays,
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
    if version not in _READABLE_VERSIONS:
        raise ValueError(
            f"{path} was written in model format version {version} (by tscc "
            f"{payload.get('tscc_version')}); this tscc reads format versions "
            f"{', '.join(map(str, _READABLE_VERSIONS))}. Load it with the tscc "
            "version that wrote it."
        )
    params = json.loads(payload["params"])
    state = upgrade_state({**params, **_stored_fitted(payload, version)})
    names = estimator_class().get_params()
    estimator = estimator_class(
        **{name: state.pop(name) for name in names if name in state}
    )
    for name, value in state.items():
        setattr(estimator, name, value)
    target = restore_device(estimator.device_, device)
    estimator.encoder_ = rebuild_encoder(
        estimator.encoder_kwargs_, payload["encoder"], target
    )
    estimator.device_ = str(target)
    return estimator


def _stored_fitted(payload, version):
    """The fitted attributes a model file holds, as in the estimator's ``__dict__``."""
    fitted = json.loads(payload["fitted"])
    if version == 1:
        # a fixed list of attributes, the encoder's arguments under their own key
        fitted["_encoder_kwargs"] = fitted.pop("encoder_kwargs")
        arrays = {
            "labels_": payload["labels"],
            "cluster_centers_": payload["cluster_centers"],
        }
    else:
        arrays = payload["arrays"]
        for name, values in json.loads(payload["text_arrays"]).items():
            fitted[name] = np.asarray(values, dtype=object)
    if "feature_names_in_" in fitted:
        fitted["feature_names_in_"] = np.asarray(
            fitted["feature_names_in_"], dtype=object
        )
    fitted.update({name: tensor.numpy() for name, tensor in arrays.items()})
    return fitted
