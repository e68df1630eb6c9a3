"""Labelled waveform data sets: a synthetic microseismic generator and a loader.

:func:`make_microseismic` gives the library a default data set that needs no
files; :func:`load_npz_dataset` reads real labelled waveforms stored as
``.npz`` archives.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_consistent_length, check_random_state, check_scalar

__all__ = ["CLASS_NAMES", "load_npz_dataset", "make_microseismic"]

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
