"""Synthetic microseismic waveforms: a labelled data set that needs no files.

:func:`make_microseismic` draws background noise, impulsive events (P and S
arrivals) and, optionally, emergent signals, with known labels for scoring a
clustering.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_params,
)

__all__ = ["CHANNEL_NAMES", "CLASS_NAMES", "make_microseismic"]

CLASS_NAMES = ("noise", "event", "emergent")

# Channel order of three-component output, as in the shipped PhaseNet windows.
CHANNEL_NAMES = ("E", "N", "Z")

# Frequency bands and time scales of the synthetic waveforms, in Hz, seconds or
# fractions of the window. The noise band covers the event bands, so at low
# SNR an event hides in the noise.
_NOISE_LOW_CORNER_HZ = (0.2, 2.0)  # high-pass corner of the band-limited noise
_NOISE_HIGH_CORNER_HZ = (5.0, 30.0)  # low-pass corner (capped below Nyquist)
_SPIKE_PROBABILITY = 0.1  # chance that a channel holds glitches
_SPIKE_AMPLITUDE = (5.0, 15.0)  # in noise standard deviations
_P_FREQ_HZ = (5.0, 20.0)  # dominant (Ricker peak) frequency of the P wave
_S_FREQ_RATIO = (0.4, 0.7)  # S dominant frequency over P dominant frequency
_P_ONSET = (0.1, 0.45)  # fraction of the window
_SP_DELAY = (0.05, 0.35)  # S-P time, fraction of the window
_S_OVER_P = (1.0, 3.0)  # peak S over peak P amplitude (total motion)
_CODA_LEVEL = (0.2, 0.6)  # coda amplitude relative to its wavelet's peak
_CODA_DECAY_PERIODS = (2.0, 10.0)  # coda e-folding time, in dominant periods
# Share of the motion on the vertical: P is mostly vertical, S mostly
# horizontal (ratios as observed for near-vertical incidence).
_P_VERTICAL = (0.7, 0.95)
_S_VERTICAL = (0.1, 0.4)
_EMERGENT_FREQ_HZ = (1.0, 5.0)
_EMERGENT_RISE_S = (0.5, 1.5)
_EMERGENT_ONSET = (0.0, 0.4)  # fraction of the window


def _unit_rms(waves):
    """Demean each row (along axis 1) and scale it to unit standard deviation."""
    waves = waves - waves.mean(axis=1, keepdims=True)
    std = waves.std(axis=1, keepdims=True)
    # A one-sample series has no spread after demeaning.
    return waves / np.where(std > 0, std, 1.0)


def _band_limited_noise(shape, sampling_rate, rng):
    """Band-pass Gaussian noise with random corners per series and channel.

    Shaping white noise in the frequency domain gives every row its own
    corners at once, which a time-domain filter with per-row coefficients
    cannot.
    """
    n_samples, n_timestamps, n_channels = shape
    white = rng.standard_normal(shape)
    freqs = np.fft.rfftfreq(n_timestamps, d=1.0 / sampling_rate)[:, np.newaxis]
    low = rng.uniform(*_NOISE_LOW_CORNER_HZ, size=(n_samples, 1, n_channels))
    high = np.minimum(
        rng.uniform(*_NOISE_HIGH_CORNER_HZ, size=(n_samples, 1, n_channels)),
        0.4 * sampling_rate,
    )
    # 2nd-order Butterworth low-pass times 1st-order high-pass.
    gain = 1.0 / np.sqrt(1.0 + (freqs / high) ** 4)
    gain = gain * (freqs / low) / np.sqrt(1.0 + (freqs / low) ** 2)
    return np.fft.irfft(np.fft.rfft(white, axis=1) * gain, n=n_timestamps, axis=1)


def _noise(shape, sampling_rate, kind, rng):
    """Background noise with zero mean and unit standard deviation per channel.

    ``"white"``: white Gaussian noise. ``"realistic"``: a random mix of white
    and band-limited Gaussian noise, and in a few channels one to three
    glitches (spikes of 5 to 15 noise standard deviations), in noise and event
    waveforms alike.
    """
    n_samples, n_timestamps, n_channels = shape
    white = _unit_rms(rng.standard_normal(shape))
    if kind == "white":
        return white
    coloured = _unit_rms(_band_limited_noise(shape, sampling_rate, rng))
    share = rng.uniform(0.0, 1.0, size=(n_samples, 1, n_channels))
    noise = np.sqrt(share) * white + np.sqrt(1.0 - share) * coloured
    spiky = rng.uniform(size=(n_samples, n_channels)) < _SPIKE_PROBABILITY
    for series, channel in zip(*np.nonzero(spiky), strict=True):
        n_spikes = rng.randint(1, 4)
        where = rng.randint(0, n_timestamps, size=n_spikes)
        sign = rng.choice([-1.0, 1.0], size=n_spikes)
        noise[series, where, channel] += sign * rng.uniform(
            *_SPIKE_AMPLITUDE, size=n_spikes
        )
    return _unit_rms(noise)


def _ricker(times, centre, freq):
    """Ricker wavelet (peak 1 at ``centre``) of peak frequency ``freq``."""
    arg = (np.pi * freq * (times - centre)) ** 2
    return (1.0 - 2.0 * arg) * np.exp(-arg)


def _damped_wavelet(times, onset, freq, rng):
    """A Ricker pulse starting at ``onset`` followed by a decaying coda.

    The pulse peaks one period after the onset; the coda oscillates at the
    dominant frequency with an envelope that rises from the onset and decays
    exponentially over a few to ten periods.
    """
    n_events = onset.shape[0]
    pulse = _ricker(times, onset + 1.0 / freq, freq)
    level = rng.uniform(*_CODA_LEVEL, size=(n_events, 1))
    decay = rng.uniform(*_CODA_DECAY_PERIODS, size=(n_events, 1)) / freq
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(n_events, 1))
    after = np.clip(times - onset - 1.5 / freq, 0.0, None)
    envelope = (1.0 - np.exp(-after * freq)) * np.exp(-after / decay)
    return pulse + level * envelope * np.sin(2.0 * np.pi * freq * after + phase)


def _split_motion(n_events, vertical_share, transverse, rng):
    """Per-channel gains (E, N, Z) of a wave with given vertical share.

    The horizontal motion points along a random back azimuth (radial, for P)
    or across it (transverse, for S); each wave's gains have unit norm.
    """
    vertical = rng.uniform(*vertical_share, size=n_events)
    horizontal = np.sqrt(1.0 - vertical**2)
    azimuth = rng.uniform(0.0, 2.0 * np.pi, size=n_events)
    if transverse:
        azimuth = azimuth + np.pi / 2.0
    return np.stack(
        [horizontal * np.sin(azimuth), horizontal * np.cos(azimuth), vertical],
        axis=1,
    )


def _impulsive_events(n_events, times, duration, n_channels, rng):
    """P and S arrivals (Ricker pulses with codas), shape (n, T, n_channels).

    Returns the signal and the P and S onset times in seconds.
    """
    p_onset = rng.uniform(*_P_ONSET, size=(n_events, 1)) * duration
    s_onset = p_onset + rng.uniform(*_SP_DELAY, size=(n_events, 1)) * duration
    p_freq = rng.uniform(*_P_FREQ_HZ, size=(n_events, 1))
    s_freq = p_freq * rng.uniform(*_S_FREQ_RATIO, size=(n_events, 1))
    p_wave = _damped_wavelet(times, p_onset, p_freq, rng)
    s_wave = _damped_wavelet(times, s_onset, s_freq, rng)
    p_wave *= rng.choice([-1.0, 1.0], size=(n_events, 1))
    s_wave *= rng.choice([-1.0, 1.0], size=(n_events, 1))
    s_wave *= rng.uniform(*_S_OVER_P, size=(n_events, 1))
    p_gain = _split_motion(n_events, _P_VERTICAL, False, rng)
    s_gain = _split_motion(n_events, _S_VERTICAL, True, rng)
    if n_channels == 1:  # the vertical component
        p_gain, s_gain = p_gain[:, 2:], s_gain[:, 2:]
    signal = p_wave[:, :, None] * p_gain[:, None, :]
    signal += s_wave[:, :, None] * s_gain[:, None, :]
    return signal, p_onset[:, 0], s_onset[:, 0]


def _emergent_events(n_events, times, duration, n_channels, rng):
    """Slowly rising low-frequency signals (tremor, distant blast).

    Same waveform on every channel, with random channel gains in [0.5, 1].
    """
    onset = rng.uniform(*_EMERGENT_ONSET, size=(n_events, 1)) * duration
    freq = rng.uniform(*_EMERGENT_FREQ_HZ, size=(n_events, 1))
    rise = rng.uniform(*_EMERGENT_RISE_S, size=(n_events, 1))
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(n_events, 1))
    after = np.clip(times - onset, 0.0, None)
    u = after / rise
    # Quadratic rise from the onset, peak 1 at u = 1, slow decay afterwards.
    envelope = u**2 * np.exp(2.0 * (1.0 - u))
    wave = envelope * np.sin(2.0 * np.pi * freq * after + phase)
    gain = rng.uniform(0.5, 1.0, size=(n_events, 1, n_channels))
    return wave[:, :, None] * gain


def _class_counts(n_samples, n_classes, noise_fraction):
    """Noise count ``round(noise_fraction * n)``; events split evenly."""
    n_noise = int(np.floor(noise_fraction * n_samples + 0.5))
    n_events = n_samples - n_noise
    n_event_classes = n_classes - 1
    counts = np.full(n_event_classes, n_events // n_event_classes)
    counts[: n_events % n_event_classes] += 1
    return np.concatenate([[n_noise], counts])


def _synthesize(
    n_samples,
    n_timestamps,
    n_channels,
    n_classes,
    sampling_rate,
    snr_db,
    noise_fraction,
    noise,
    rng,
):
    """Draw the parts of a synthetic data set.

    Returns ``signal`` and ``background`` (float64, shape (n, T, C)), the
    labels ``y`` and the SNR in dB of each series (NaN for noise).
    """
    counts = _class_counts(n_samples, n_classes, noise_fraction)
    y = rng.permutation(np.repeat(np.arange(n_classes, dtype=np.int64), counts))
    times = np.arange(n_timestamps) / sampling_rate
    duration = n_timestamps / sampling_rate
    shape = (n_samples, n_timestamps, n_channels)
    background = _noise(shape, sampling_rate, noise, rng)
    signal = np.zeros(shape)
    snr = np.full(n_samples, np.nan)
    for label in range(1, n_classes):
        members = np.flatnonzero(y == label)
        if label == 1:
            waves = _impulsive_events(members.size, times, duration, n_channels, rng)
            waves = waves[0]
        else:
            waves = _emergent_events(members.size, times, duration, n_channels, rng)
        snr[members] = rng.uniform(*snr_db, size=members.size)
        # SNR = 10 log10(signal energy / noise energy), both summed over the
        # window and the channels.
        signal_energy = (waves**2).sum(axis=(1, 2))
        noise_energy = (background[members] ** 2).sum(axis=(1, 2))
        ratio = 10.0 ** (snr[members] / 10.0) * noise_energy
        scale = np.sqrt(ratio / np.where(signal_energy > 0, signal_energy, 1.0))
        signal[members] = waves * scale[:, None, None]
    return signal, background, y, snr


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_timestamps": [Interval(Integral, 1, None, closed="left")],
        "n_channels": [Options(Integral, {1, 3})],
        "n_classes": [Options(Integral, {2, 3})],
        "sampling_rate": [Interval(Real, 2.5 * _P_FREQ_HZ[1], None, closed="neither")],
        "snr_db": ["array-like", Real],
        "noise_fraction": [Interval(Real, 0, 1, closed="both")],
        "noise": [StrOptions({"realistic", "white"})],
        "normalize": ["boolean"],
        "random_state": ["random_state"],
        "return_names": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def make_microseismic(
    n_samples=300,
    n_timestamps=500,
    *,
    n_channels=1,
    n_classes=2,
    sampling_rate=100.0,
    snr_db=(-5.0, 10.0),
    noise_fraction=0.5,
    noise="realistic",
    normalize=True,
    random_state=None,
    return_names=False,
):
    """Generate labelled synthetic microseismic waveforms: events vs noise.

    Every waveform holds background noise; events add a signal on top of it.
    The classes are

    - 0, ``"noise"``: background noise only;
    - 1, ``"event"``: a microseismic event: a P arrival and, later, a
      stronger, lower-frequency S arrival, each a Ricker pulse (dominant
      frequency 5-20 Hz for P, 0.4-0.7 times that for S) followed by an
      exponentially decaying coda, with random polarities, a P onset between
      10 % and 45 % of the window and an S-P time of 5 % to 35 % of it;
    - 2, ``"emergent"`` (only with ``n_classes=3``): an emergent
      low-frequency signal (tremor, distant blast), a 1-5 Hz oscillation whose
      envelope rises slowly over 0.5-1.5 s.

    The paper's synthetic check, a Ricker wavelet in white Gaussian noise at
    -5 dB, is ``snr_db=-5, noise="white"``.

    Parameters
    ----------
    n_samples : int, default=300
        Number of waveforms.
    n_timestamps : int, default=500
        Number of samples per waveform (5 s at the default sampling rate).
    n_channels : {1, 3}, default=1
        1: the vertical component only. 3: the E, N and Z components
        (``CHANNEL_NAMES``): the P wave is mostly vertical (70 %-95 % of
        its amplitude on Z), the S wave mostly horizontal (10 %-40 % on Z,
        the rest across a random back azimuth), the emergent signal on all
        channels with random gains in [0.5, 1].
    n_classes : {2, 3}, default=2
        2: noise and events. 3: also emergent signals.
    sampling_rate : float, default=100.0
        Sampling rate in Hz. It must exceed 50 Hz, 2.5 times the highest
        dominant frequency of the P pulses (a Ricker pulse's band reaches
        about 2.5 times its peak frequency).
    snr_db : float or tuple of two floats, default=(-5.0, 10.0)
        Signal-to-noise ratio of each event in dB, drawn uniformly from the
        range ``(low, high)`` (a float fixes it):
        ``10 * log10(sum(signal**2) / sum(noise**2))``, both sums over the
        whole window and all channels. Lower values give a harder task. At
        -5 dB in a 5 s window, an event's largest peak is typically 3.5 to
        6.5 noise standard deviations.
    noise_fraction : float in [0, 1], default=0.5
        Fraction of the waveforms that are noise only (rounded to the nearest
        count); the events are split evenly among the event classes.
    noise : {"realistic", "white"}, default="realistic"
        Background noise. ``"white"``: white Gaussian noise.
        ``"realistic"``: a random mix, per waveform and channel, of white and
        band-limited Gaussian noise (band-pass between a 0.2-2 Hz and a
        5-30 Hz corner), with glitches (1-3 spikes of 5-15 noise standard
        deviations) in about 10 % of the channels, noise and event waveforms
        alike.
    normalize : bool, default=True
        If True, demean each channel and scale each waveform to a peak
        absolute value of 1 over all its channels (which keeps the amplitude
        ratios between channels), so that amplitude alone does not give the
        class away. If False, the noise has zero mean and unit standard
        deviation on every channel, and the signal is scaled to the SNR.
    random_state : int, RandomState instance or None, default=None
        Seed or random number generator. Pass an int for a reproducible data
        set.
    return_names : bool, default=False
        If True, also return the class names.

    Returns
    -------
    X : ndarray of shape (n_samples, n_timestamps) or \
            (n_samples, n_timestamps, 3), dtype float32
        The waveforms, in shuffled class order: 2-D for ``n_channels=1``,
        3-D with channels E, N, Z for ``n_channels=3``.
    y : ndarray of shape (n_samples,), dtype int64
        The class index of each waveform.
    names : ndarray of shape (n_classes,), dtype str
        The class names, ``names[y]`` naming each waveform. Only returned if
        ``return_names`` is True.

    See Also
    --------
    tscc.datasets.load_phasenet_windows : Real labelled seismic windows.
    tscc.datasets.load_npz_dataset : Load real labelled waveforms.

    Notes
    -----
    The labels are meant for scoring a clustering only. The task is not
    trivial: onsets, frequencies, polarities and SNRs vary from waveform to
    waveform, the noise band overlaps the event bands, glitches occur in
    noise and events alike, and the weakest events barely rise above the
    noise.

    Examples
    --------
    >>> import numpy as np
    >>> from tscc.synthetic import make_microseismic
    >>> X, y = make_microseismic(n_samples=10, random_state=0)
    >>> X.shape, X.dtype, y.dtype
    ((10, 500), dtype('float32'), dtype('int64'))
    >>> np.bincount(y)
    array([5, 5])
    >>> float(np.abs(X).max(axis=1).min())
    1.0
    >>> X, y, names = make_microseismic(12, 200, n_channels=3, n_classes=3,
    ...                                 random_state=0, return_names=True)
    >>> X.shape, np.bincount(y).tolist(), names.tolist()
    ((12, 200, 3), [6, 3, 3], ['noise', 'event', 'emergent'])
    """
    snr_db = _check_snr_db(snr_db)
    rng = check_random_state(random_state)
    signal, background, y, _ = _synthesize(
        n_samples,
        n_timestamps,
        n_channels,
        n_classes,
        sampling_rate,
        snr_db,
        noise_fraction,
        noise,
        rng,
    )
    X = signal + background
    if normalize:
        X -= X.mean(axis=1, keepdims=True)
        peak = np.abs(X).max(axis=(1, 2), keepdims=True)
        X /= np.where(peak > 0, peak, 1.0)
    X = X.astype(np.float32)
    if n_channels == 1:
        X = X[:, :, 0]

    if return_names:
        return X, y, np.asarray(CLASS_NAMES[:n_classes])
    return X, y


def _check_snr_db(snr_db):
    """Return ``snr_db`` as two finite floats ``low <= high``."""
    if isinstance(snr_db, Real):
        snr_db = (snr_db, snr_db)
    try:
        low, high = (float(value) for value in snr_db)
    except (TypeError, ValueError):
        raise ValueError(
            f"snr_db must be a number or a pair of numbers, got {snr_db!r}."
        ) from None
    if not -np.inf < low <= high < np.inf:
        raise ValueError(
            f"snr_db must satisfy -inf < low <= high < inf, got {snr_db!r}."
        )
    return low, high
