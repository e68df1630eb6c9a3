"""Labelled waveform data sets: real seismic windows and ``.npz`` archives.

:func:`load_phasenet_windows` loads real labelled earthquake and noise
windows shipped with the package; :func:`load_npz_dataset` reads labelled
waveforms stored as ``.npz`` archives. The synthetic generator
:func:`~tscc.make_microseismic` lives in :mod:`tscc.synthetic` and is
importable from here too.
"""

from importlib import resources

import numpy as np
from sklearn.utils import Bunch, check_consistent_length
from sklearn.utils._param_validation import StrOptions, validate_params

from .io.arrays import _read_npz
from .synthetic import CHANNEL_NAMES, CLASS_NAMES, make_microseismic

__all__ = [
    "CHANNEL_NAMES",
    "CLASS_NAMES",
    "load_npz_dataset",
    "load_phasenet_windows",
    "make_microseismic",
]


def load_npz_dataset(path, *, return_names=False):
    """Load a labelled waveform data set from an ``.npz`` archive.

    The archive must hold an array ``X`` of waveforms and an array ``y`` of
    class indices, and may hold ``label_names`` with ``label_names[y]`` naming
    each waveform. Other arrays in it (sampling rate, trace ids...) are
    ignored. Pickled objects are refused.

    Parameters
    ----------
    path : str, path-like or file-like object
        The ``.npz`` file.
    return_names : bool, default=False
        If True, also return the class names.

    Returns
    -------
    X : ndarray of shape (n_samples, n_timestamps, n_channels)
        The waveforms as stored, usually float32. ``X[:, :, 0]`` is the first
        channel as univariate series.
    y : ndarray of shape (n_samples,)
        The class index of each waveform, as stored (usually int64).
    names : ndarray of shape (n_classes,)
        The class names. Only returned if ``return_names`` is True.

    Raises
    ------
    KeyError
        If ``X`` or ``y`` is missing, or if ``return_names`` is True and
        ``label_names`` is missing.
    ValueError
        If ``X`` and ``y`` hold different numbers of samples, or the file
        holds pickled objects.

    See Also
    --------
    make_microseismic : Synthetic labelled waveforms, no file needed.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from tscc.datasets import load_npz_dataset
    >>> file = io.BytesIO()
    >>> np.savez(file, X=np.zeros((4, 50, 1), dtype=np.float32),
    ...          y=np.array([0, 1, 0, 1]), label_names=np.array(["noise", "event"]))
    >>> _ = file.seek(0)
    >>> X, y, names = load_npz_dataset(file, return_names=True)
    >>> X.shape, y.tolist(), names[y].tolist()
    ((4, 50, 1), [0, 1, 0, 1], ['noise', 'event', 'noise', 'event'])
    """
    keys = ("X", "y", "label_names") if return_names else ("X", "y")

    def pick(names):
        missing = [key for key in keys if key not in names]
        if missing:
            raise KeyError(f"{path!s} lacks the array(s) {missing}; it holds {names}.")
        return keys

    arrays = _read_npz(path, pick)
    check_consistent_length(arrays["X"], arrays["y"])
    return tuple(arrays[key] for key in keys)


# ---------------------------------------------------------------------------
# Data shipped with the package
# ---------------------------------------------------------------------------

_DATA = resources.files("tscc") / "data"
_PHASENET_FILE = "phasenet_ncedc_pswin.npz"

# Description of the data set (DESCR), kept in a text file beside the data as
# scikit-learn keeps those of its bundled data sets.
_PHASENET_DESCR_FILE = "phasenet_ncedc_pswin.rst"

# Class names and the map from the stored labels (noise, P, S) to each task's.
_PHASENET_TASKS = {
    "phase": (("noise", "P", "S"), np.array([0, 1, 2])),
    "event_vs_noise": (("noise", "event"), np.array([0, 1, 1])),
}
_PHASENET_CHANNELS = {"Z": ["Z"], "ENZ": ["E", "N", "Z"]}


@validate_params(
    {
        "task": [StrOptions(set(_PHASENET_TASKS))],
        "channels": [StrOptions(set(_PHASENET_CHANNELS))],
        "return_X_y": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_phasenet_windows(*, task="event_vs_noise", channels="Z", return_X_y=False):
    """Load real labelled seismic windows: noise, P and S arrivals.

    462 windows of 4 s (400 samples at 100 Hz) cut from 154 Californian
    earthquake recordings distributed with PhaseNet: for each recording one
    window of pre-event noise, one centred on the P arrival and one centred on
    the S arrival. The data ship with the package; nothing is downloaded.
    Provenance, licence and citations are in ``DESCR`` (see also
    ``docs/data.md``).

    Parameters
    ----------
    task : {"event_vs_noise", "phase"}, default="event_vs_noise"
        The labels. ``"event_vs_noise"``: 0 = ``"noise"`` (154 windows),
        1 = ``"event"`` (the P and S windows, 308). ``"phase"``: 0 =
        ``"noise"``, 1 = ``"P"``, 2 = ``"S"`` (154 each).
    channels : {"Z", "ENZ"}, default="Z"
        ``"Z"``: the vertical channel of all 462 windows, shape
        ``(462, 400, 1)``. ``"ENZ"``: the E, N and Z channels of the 345
        windows recorded by three-component stations, shape
        ``(345, 400, 3)``. The other 117 windows come from vertical-only
        stations and have all-zero E and N channels; kept, they make a
        clusterer split the windows by sensor type instead of by content.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes

        data : ndarray of shape (n_samples, 400, n_channels), dtype float32
            The windows, in raw counts with each channel demeaned; not
            normalised (see Notes).
        target : ndarray of shape (n_samples,), dtype int64
            The class of each window.
        target_names : ndarray of shape (n_classes,), dtype str
            The class names, ``target_names[target]`` naming each window.
        trace_id : ndarray of shape (n_samples,), dtype str
            The recording each window was cut from, e.g. for group-aware
            splits (each recording gives one window per class).
        z_only : ndarray of shape (n_samples,), dtype bool
            Whether the station has a vertical sensor only (always False
            with ``channels="ENZ"``).
        channel_names : list of str
            The channel of each index of the last axis of ``data``.
        sampling_rate : float
            Sampling rate in Hz (100.0).
        DESCR : str
            Description of the data set: content, provenance, licence,
            citations.

    (data, target) : tuple
        If ``return_X_y`` is True: the arrays described above.

    See Also
    --------
    make_microseismic : Synthetic labelled waveforms.
    tscc.WaveformNormalizer : Normalise each window.

    Notes
    -----
    Noise windows have far smaller amplitudes than event windows, so normalise
    each window (e.g. with :class:`~tscc.WaveformNormalizer`)
    before clustering, or the task reduces to an amplitude threshold. The
    labels are for scoring a clustering only.

    The data come from the PhaseNet repository (MIT licence, Copyright (c)
    2021 Weiqiang Zhu) and the NCEDC and SCEDC data centres. If you use or
    redistribute them, cite Zhu & Beroza (2019), PhaseNet: a
    deep-neural-network-based seismic arrival-time picking method,
    Geophysical Journal International 216(1), 261-273, and the data centres.

    Examples
    --------
    >>> import numpy as np
    >>> from tscc.datasets import load_phasenet_windows
    >>> data = load_phasenet_windows(task="phase")
    >>> data.data.shape, data.data.dtype
    ((462, 400, 1), dtype('float32'))
    >>> data.target_names.tolist(), np.bincount(data.target).tolist()
    (['noise', 'P', 'S'], [154, 154, 154])
    >>> X, y = load_phasenet_windows(channels="ENZ", return_X_y=True)
    >>> X.shape, np.bincount(y).tolist()
    ((345, 400, 3), [115, 230])
    """
    names, relabel = _PHASENET_TASKS[task]
    keys = ("X", "y", "trace_id", "z_only", "sampling_rate", "channel_order")
    with (_DATA / _PHASENET_FILE).open("rb") as file:
        arrays = _read_npz(file, lambda _: keys)
    X, stored, trace_id, z_only = (arrays[key] for key in keys[:4])
    sampling_rate = float(arrays["sampling_rate"])
    channel_order = arrays["channel_order"].tolist()

    if channels == "Z":
        X = X[:, :, [channel_order.index("Z")]]
    else:
        keep = ~z_only
        X, stored, trace_id, z_only = (
            X[keep],
            stored[keep],
            trace_id[keep],
            z_only[keep],
        )
        X = X[
            :, :, [channel_order.index(name) for name in _PHASENET_CHANNELS[channels]]
        ]
    X = np.ascontiguousarray(X, dtype=np.float32)
    y = relabel[stored].astype(np.int64)

    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        target_names=np.asarray(names),
        trace_id=trace_id,
        z_only=z_only,
        channel_names=list(_PHASENET_CHANNELS[channels]),
        sampling_rate=sampling_rate,
        DESCR=(_DATA / _PHASENET_DESCR_FILE).read_text(encoding="utf-8"),
    )
