"""Labelled waveform data sets: a synthetic generator and real seismic windows.

:func:`make_microseismic` gives the library a default data set that needs no
files; :func:`load_phasenet_windows` loads real labelled earthquake and noise
windows shipped with the package; :func:`load_npz_dataset` reads labelled
waveforms stored as ``.npz`` archives.
"""

from importlib import resources
from numbers import Integral, Real

import numpy as np
from sklearn.utils import (
    Bunch,
    check_consistent_length,
    check_random_state,
    check_scalar,
)
from sklearn.utils._param_validation import StrOptions, validate_params

__all__ = [
    "CLASS_NAMES",
    "load_npz_dataset",
    "load_phasenet_windows",
    "make_microseismic",
]

CLASS_NAMES = ("noise", "event", "emergent")

# Frequency bands and time scales of the synthetic classes, in Hz and seconds.
# The bands of the two event classes do not overlap, but the noise band covers
# both, so at low SNR an event hides in the noise.
_NOISE_CORNER_HZ = (2.0, 20.0)
_IMPULSIVE_FREQ_HZ = (10.0, 25.0)
_IMPULSIVE_RISE_S = (0.005, 0.02)
_IMPULSIVE_DECAY_S = (0.1, 0.5)
_IMPULSIVE_ONSET = (0.2, 0.6)  # fraction of the window
_EMERGENT_FREQ_HZ = (1.0, 5.0)
_EMERGENT_RISE_S = (0.5, 1.5)
_EMERGENT_ONSET = (0.0, 0.4)  # fraction of the window


# ---------------------------------------------------------------------------
# Synthetic waveforms
# ---------------------------------------------------------------------------


def _unit_peak(waves):
    """Scale each row to a peak absolute value of 1, leaving all-zero rows."""
    peak = np.abs(waves).max(axis=1, keepdims=True)
    return waves / np.where(peak > 0, peak, 1.0)


def _coloured_noise(n_samples, n_timestamps, sampling_rate, rng):
    """Low-pass Gaussian noise with zero mean and unit standard deviation per row.

    Each row gets its own corner frequency: shaping white noise in the
    frequency domain does that for all rows at once, which a time-domain
    filter with per-row coefficients cannot.
    """
    white = rng.standard_normal((n_samples, n_timestamps))
    freqs = np.fft.rfftfreq(n_timestamps, d=1.0 / sampling_rate)
    corner = rng.uniform(*_NOISE_CORNER_HZ, size=(n_samples, 1))
    gain = 1.0 / np.sqrt(1.0 + (freqs / corner) ** 4)  # 2nd-order Butterworth
    noise = np.fft.irfft(np.fft.rfft(white, axis=1) * gain, n=n_timestamps, axis=1)
    noise -= noise.mean(axis=1, keepdims=True)
    std = noise.std(axis=1, keepdims=True)
    # A one-sample series has no spread after demeaning.
    return noise / np.where(std > 0, std, 1.0)


def _impulsive_events(n_events, times, duration, rng):
    """Sharp-onset high-frequency wavelets with an exponential coda, peak 1."""
    onset = rng.uniform(*_IMPULSIVE_ONSET, size=(n_events, 1)) * duration
    freq = rng.uniform(*_IMPULSIVE_FREQ_HZ, size=(n_events, 1))
    rise = rng.uniform(*_IMPULSIVE_RISE_S, size=(n_events, 1))
    decay = rng.uniform(*_IMPULSIVE_DECAY_S, size=(n_events, 1))
    polarity = rng.choice([-1.0, 1.0], size=(n_events, 1))
    after = np.clip(times - onset, 0.0, None)
    # The rise term is zero up to the onset, then reaches 1 within a few rise
    # times: a sharp but not discontinuous first arrival.
    envelope = (1.0 - np.exp(-after / rise)) * np.exp(-after / decay)
    return polarity * _unit_peak(envelope * np.sin(2.0 * np.pi * freq * after))


def _emergent_events(n_events, times, duration, rng):
    """Slowly rising low-frequency signals (tremor, distant blast), peak 1."""
    onset = rng.uniform(*_EMERGENT_ONSET, size=(n_events, 1)) * duration
    freq = rng.uniform(*_EMERGENT_FREQ_HZ, size=(n_events, 1))
    rise = rng.uniform(*_EMERGENT_RISE_S, size=(n_events, 1))
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(n_events, 1))
    after = np.clip(times - onset, 0.0, None)
    u = after / rise
    # Quadratic rise from the onset, peak 1 at u = 1, slow decay afterwards.
    envelope = u**2 * np.exp(2.0 * (1.0 - u))
    return _unit_peak(envelope * np.sin(2.0 * np.pi * freq * after + phase))


_SIGNALS = (None, _impulsive_events, _emergent_events)


def make_microseismic(
    n_samples=300,
    n_timestamps=400,
    *,
    n_classes=3,
    sampling_rate=100.0,
    snr_range=(2.0, 20.0),
    normalize=True,
    random_state=None,
    return_names=False,
):
    """Generate a labelled set of synthetic single-channel microseismic waveforms.

    Every waveform holds coloured Gaussian background noise; events add a
    signal on top of it. The classes are

    - 0, ``"noise"``: low-pass Gaussian noise only, with a random corner
      frequency between 2 and 20 Hz;
    - 1, ``"event"``: an impulsive microseismic event, a sharp-onset 10-25 Hz
      wavelet with an exponentially decaying coda (e-folding time 0.1-0.5 s),
      random polarity and an onset between 20 % and 60 % of the window;
    - 2, ``"emergent"``: an emergent low-frequency signal (tremor, distant
      blast), a 1-5 Hz oscillation whose envelope rises slowly over 0.5-1.5 s
      from an onset in the first 40 % of the window.

    Parameters
    ----------
    n_samples : int, default=300
        Number of waveforms. The classes are as balanced as possible: their
        counts differ by at most one.
    n_timestamps : int, default=400
        Number of samples per waveform (4 s at the default sampling rate).
    n_classes : {2, 3}, default=3
        Number of classes. With 2, only noise and impulsive events.
    sampling_rate : float, default=100.0
        Sampling rate in Hz. It must exceed 50 Hz, twice the highest frequency
        of the impulsive events.
    snr_range : tuple of two floats, default=(2.0, 20.0)
        Range of the signal-to-noise ratio of the events: the peak absolute
        amplitude of the signal over the standard deviation of the noise. It
        is drawn log-uniformly, so weak events are as common as strong ones
        on a log scale. Lower values give a harder task.
    normalize : bool, default=True
        If True, demean each waveform and scale it to a peak absolute value of
        1, so that amplitude alone does not give the class away. If False, the
        noise has unit standard deviation.
    random_state : int, RandomState instance or None, default=None
        Seed or random number generator. Pass an int for a reproducible data
        set.
    return_names : bool, default=False
        If True, also return the class names.

    Returns
    -------
    X : ndarray of shape (n_samples, n_timestamps), dtype float32
        The waveforms, in shuffled class order.
    y : ndarray of shape (n_samples,), dtype int64
        The class index of each waveform.
    names : ndarray of shape (n_classes,), dtype str
        The class names, ``names[y]`` naming each waveform. Only returned if
        ``return_names`` is True.

    See Also
    --------
    load_npz_dataset : Load real labelled waveforms.

    Notes
    -----
    The labels are meant for scoring a clustering only. The task is not
    trivial: onsets, frequencies, polarities and SNRs vary from waveform to
    waveform, the noise band overlaps both event bands, and the weakest events
    barely rise above the noise.

    Examples
    --------
    >>> import numpy as np
    >>> from tscc.datasets import make_microseismic
    >>> X, y, names = make_microseismic(n_samples=10, random_state=0, return_names=True)
    >>> X.shape, X.dtype, y.dtype
    ((10, 400), dtype('float32'), dtype('int64'))
    >>> np.bincount(y)
    array([4, 3, 3])
    >>> names.tolist()
    ['noise', 'event', 'emergent']
    >>> float(np.abs(X).max(axis=1).min())
    1.0
    """
    check_scalar(n_samples, "n_samples", Integral, min_val=1)
    check_scalar(n_timestamps, "n_timestamps", Integral, min_val=1)
    if n_classes not in (2, 3):
        raise ValueError(f"n_classes must be 2 or 3, got {n_classes!r}.")
    check_scalar(
        sampling_rate,
        "sampling_rate",
        Real,
        min_val=2.0 * _IMPULSIVE_FREQ_HZ[1],
        include_boundaries="neither",
    )
    snr_low, snr_high = _check_snr_range(snr_range)
    rng = check_random_state(random_state)

    counts = np.full(n_classes, n_samples // n_classes)
    counts[: n_samples % n_classes] += 1
    y = rng.permutation(np.repeat(np.arange(n_classes, dtype=np.int64), counts))

    times = np.arange(n_timestamps) / sampling_rate
    duration = n_timestamps / sampling_rate
    X = _coloured_noise(n_samples, n_timestamps, sampling_rate, rng)
    for label in range(1, n_classes):
        members = np.flatnonzero(y == label)
        snr = np.exp(
            rng.uniform(np.log(snr_low), np.log(snr_high), size=(members.size, 1))
        )
        X[members] += snr * _SIGNALS[label](members.size, times, duration, rng)

    if normalize:
        X -= X.mean(axis=1, keepdims=True)
        X = _unit_peak(X)
    X = X.astype(np.float32)

    if return_names:
        return X, y, np.asarray(CLASS_NAMES[:n_classes])
    return X, y


def _check_snr_range(snr_range):
    """Return ``snr_range`` as two floats ``0 < low <= high``."""
    try:
        low, high = (float(value) for value in snr_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"snr_range must be a pair of positive numbers, got {snr_range!r}."
        ) from None
    if not 0.0 < low <= high < np.inf:
        raise ValueError(
            f"snr_range must satisfy 0 < low <= high < inf, got {snr_range!r}."
        )
    return low, high


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------


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
    with np.load(path, allow_pickle=False) as archive:
        keys = ("X", "y", "label_names") if return_names else ("X", "y")
        missing = [key for key in keys if key not in archive.files]
        if missing:
            raise KeyError(
                f"{path!s} lacks the array(s) {missing}; it holds {archive.files}."
            )
        arrays = [archive[key] for key in keys]
    check_consistent_length(arrays[0], arrays[1])
    return tuple(arrays)


# ---------------------------------------------------------------------------
# Data shipped with the package
# ---------------------------------------------------------------------------

_PHASENET_FILE = "phasenet_ncedc_pswin.npz"

_PHASENET_DESCR = """\
PhaseNet P / S / noise windows (NCEDC and SCEDC waveforms)
==========================================================

Real three-component seismograms from Northern and Southern California
networks (FDSN codes NC, BK, BG and CI), cut into 4 s windows at 100 Hz
(400 samples) around hand-picked P and S arrivals.

Content
-------
- 462 windows from 154 traces, one window of each class per trace:
  ``noise`` = samples [itp-1600, itp-1200), 16 s to 12 s before the P pick;
  ``P`` = [itp-200, itp+200), centred on the P pick;
  ``S`` = [its-200, its+200), centred on the S pick (GPD-style windowing,
  Ross et al., 2018). The labels come only from the picks stored in the
  source files.
- Channels E, N, Z. 117 windows (39 traces) come from stations with a
  vertical sensor only: their E and N channels are exactly zero
  (``z_only``).
- Amplitudes in raw counts, not instrument-corrected, from mixed
  instruments (short-period, broadband, strong-motion). Each window and
  channel had its mean removed; nothing was filtered or rescaled. Noise
  windows are far weaker than event windows: normalise each window before
  clustering, or amplitude alone separates them.
- S-P times are short (median 1.68 s), so most P windows also hold the S
  onset and S windows hold P coda: P vs S is hard.

Provenance
----------
GitHub repository AI4EPS/PhaseNet, files ``dataset/waveform_train/*.npz``
(154 files, last changed in commit 2d0692e456ac91855e9f9cd15cd4a2a9d6912106,
2019-07-07) and ``dataset/waveform.csv``, exported at commit
62005c6195638f88d077f8870ea895971062715a.

Licence
-------
The PhaseNet repository is distributed under the MIT licence, Copyright (c)
2021 Weiqiang Zhu (full text in ``tscc/data/PHASENET_LICENSE.txt``). The
waveforms are public network data from the Northern California Earthquake
Data Center (NCEDC) and the Southern California Earthquake Data Center
(SCEDC).

Citation
--------
Zhu, W., & Beroza, G. C. (2019). PhaseNet: a deep-neural-network-based
seismic arrival-time picking method. Geophysical Journal International,
216(1), 261-273. https://doi.org/10.1093/gji/ggy423

NCEDC (2014), Northern California Earthquake Data Center. UC Berkeley
Seismological Laboratory. Dataset. https://doi.org/10.7932/NCEDC

SCEDC (2013): Southern California Earthquake Center. Caltech. Dataset.
https://doi.org/10.7909/C3WD3xH1
"""

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
    tscc.preprocessing.WaveformNormalizer : Normalise each window.

    Notes
    -----
    Noise windows have far smaller amplitudes than event windows, so normalise
    each window (e.g. with :class:`~tscc.preprocessing.WaveformNormalizer`)
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
    path = resources.files("tscc").joinpath("data").joinpath(_PHASENET_FILE)
    with path.open("rb") as file, np.load(file, allow_pickle=False) as archive:
        X = archive["X"]
        stored = archive["y"]
        trace_id = archive["trace_id"]
        z_only = archive["z_only"]
        sampling_rate = float(archive["sampling_rate"])
        channel_order = archive["channel_order"].tolist()

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
        DESCR=_PHASENET_DESCR,
    )
