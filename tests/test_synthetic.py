import numpy as np
import pytest

from tscc.synthetic import (
    CLASS_NAMES,
    _check_snr_db,
    _impulsive_events,
    _synthesize,
    make_microseismic,
)


def _parts(
    n_samples=200,
    n_timestamps=500,
    n_channels=1,
    n_classes=2,
    *,
    snr_db=(-5.0, 10.0),
    noise_fraction=0.5,
    noise="realistic",
    seed=0,
):
    """Signal, background, labels and drawn SNR, as make_microseismic draws them."""
    return _synthesize(
        n_samples,
        n_timestamps,
        n_channels,
        n_classes,
        100.0,
        _check_snr_db(snr_db),
        noise_fraction,
        noise,
        np.random.RandomState(seed),
    )


def test_default_shapes_and_dtypes():
    X, y = make_microseismic(random_state=0)
    assert X.shape == (300, 500)
    assert X.dtype == np.float32
    assert y.shape == (300,)
    assert y.dtype == np.int64
    assert np.isfinite(X).all()
    assert np.bincount(y).tolist() == [150, 150]


def test_three_channels_shape():
    X, y = make_microseismic(20, 100, n_channels=3, random_state=0)
    assert X.shape == (20, 100, 3)
    assert X.dtype == np.float32
    assert np.isfinite(X).all()


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("n_samples", [1, 2, 10, 11, 301])
@pytest.mark.parametrize("noise_fraction", [0.0, 0.3, 0.5, 1.0])
def test_class_counts_follow_noise_fraction(n_samples, n_classes, noise_fraction):
    _, y = make_microseismic(
        n_samples,
        n_timestamps=20,
        n_classes=n_classes,
        noise_fraction=noise_fraction,
        random_state=0,
    )
    counts = np.bincount(y, minlength=n_classes)
    assert y.shape == (n_samples,)
    assert set(np.unique(y)) <= set(range(n_classes))
    assert abs(counts[0] - noise_fraction * n_samples) <= 0.5
    assert counts[1:].max() - counts[1:].min() <= 1


def test_classes_are_shuffled():
    _, y = make_microseismic(60, n_timestamps=50, random_state=0)
    assert not np.all(np.diff(y) >= 0)


@pytest.mark.parametrize("n_channels", [1, 3])
def test_same_seed_gives_same_data(n_channels):
    X1, y1 = make_microseismic(40, 100, n_channels=n_channels, random_state=7)
    X2, y2 = make_microseismic(40, 100, n_channels=n_channels, random_state=7)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)


def test_random_state_instance_is_accepted_and_advanced():
    rng = np.random.RandomState(7)
    X1, _ = make_microseismic(20, random_state=rng)
    X2, _ = make_microseismic(20, random_state=rng)
    np.testing.assert_array_equal(X1, make_microseismic(20, random_state=7)[0])
    assert not np.array_equal(X1, X2)


def test_different_seeds_give_different_data():
    X1, y1 = make_microseismic(40, random_state=0)
    X2, y2 = make_microseismic(40, random_state=1)
    assert not np.array_equal(X1, X2)
    assert not np.array_equal(y1, y2)


def test_normalized_waveforms_have_zero_mean_and_unit_peak():
    X, _ = make_microseismic(50, random_state=0)
    np.testing.assert_array_equal(np.abs(X).max(axis=1), 1.0)
    np.testing.assert_allclose(X.mean(axis=1), 0.0, atol=1e-6)


def test_normalization_keeps_channel_ratios():
    X, _ = make_microseismic(30, 200, n_channels=3, random_state=0)
    raw, _ = make_microseismic(30, 200, n_channels=3, normalize=False, random_state=0)
    np.testing.assert_array_equal(np.abs(X).max(axis=(1, 2)), 1.0)
    raw = raw - raw.mean(axis=1, keepdims=True)
    scale = np.abs(raw).max(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(X, raw / scale, atol=1e-6)


def test_unnormalized_noise_has_unit_standard_deviation():
    X, y = make_microseismic(60, normalize=False, random_state=0)
    noise = X[y == 0]
    np.testing.assert_allclose(noise.std(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(noise.mean(axis=1), 0.0, atol=1e-6)


def test_output_is_signal_plus_noise():
    signal, background, y, _ = _parts(40, 200, 3)
    X, y_public = make_microseismic(
        40, 200, n_channels=3, normalize=False, random_state=0
    )
    np.testing.assert_array_equal(y_public, y)
    np.testing.assert_allclose(X, signal + background, rtol=1e-6, atol=1e-5)
    assert np.all(signal[y == 0] == 0)


@pytest.mark.parametrize("n_channels", [1, 3])
@pytest.mark.parametrize("noise", ["realistic", "white"])
def test_snr_is_achieved(n_channels, noise):
    signal, background, y, snr = _parts(
        100, 300, n_channels, 3, snr_db=(-5.0, 10.0), noise=noise
    )
    events = y > 0
    achieved = 10 * np.log10(
        (signal[events] ** 2).sum(axis=(1, 2))
        / (background[events] ** 2).sum(axis=(1, 2))
    )
    np.testing.assert_allclose(achieved, snr[events], atol=1e-9)
    assert np.all((achieved >= -5.0 - 1e-9) & (achieved <= 10.0 + 1e-9))
    assert achieved.max() - achieved.min() > 10.0  # the range is used
    assert np.isnan(snr[~events]).all()


def test_snr_is_visible_in_the_public_output():
    # Noise has unit power, so an event's mean square is about 1 + 10**(snr/10).
    X, y = make_microseismic(
        200, snr_db=(6.0, 6.0), noise="white", normalize=False, random_state=0
    )
    power = (X[y == 1].astype(np.float64) ** 2).mean(axis=1)
    measured = 10 * np.log10(power - 1.0)
    assert abs(np.median(measured) - 6.0) < 0.3
    np.testing.assert_allclose((X[y == 0] ** 2).mean(axis=1), 1.0, rtol=1e-4)


def test_scalar_snr_db_fixes_the_snr():
    _, _, y, snr = _parts(20, snr_db=-5.0)
    np.testing.assert_array_equal(snr[y == 1], -5.0)


def test_paper_setting_is_white_noise_without_spikes():
    _, background, _, _ = _parts(200, snr_db=-5.0, noise="white")
    # No glitches: white Gaussian noise of unit variance stays below 6 sigma.
    assert np.abs(background).max() < 6.0
    _, background, _, _ = _parts(200, snr_db=-5.0, noise="realistic")
    assert np.abs(background).max() > 6.0


def test_realistic_noise_is_coloured():
    # White noise has a flat spectrum; the realistic mix puts less power
    # above 30 Hz than below 10 Hz on average.
    _, background, _, _ = _parts(200, noise="realistic")
    spectrum = np.abs(np.fft.rfft(background[:, :, 0], axis=1)) ** 2
    freqs = np.fft.rfftfreq(500, d=0.01)
    high = spectrum[:, freqs > 30].mean()
    low = spectrum[:, (freqs > 1) & (freqs < 10)].mean()
    assert high < 0.7 * low


def test_three_channel_amplitude_ratios_are_plausible():
    # P is strongest on the vertical, S on the horizontals.
    n_timestamps = 500
    rng = np.random.RandomState(0)
    times = np.arange(n_timestamps) / 100.0
    signal, p_onset, s_onset = _impulsive_events(200, times, 5.0, 3, rng)
    ratio_p, ratio_s = [], []
    for wave, p, s in zip(signal, p_onset, s_onset, strict=True):
        p_win = wave[int(p * 100) : int(s * 100)]  # P and its coda, before S
        s_win = wave[int(s * 100) :]
        if len(p_win) < 10:
            continue
        ratio_p.append(np.abs(p_win[:, 2]).max() / np.abs(p_win[:, :2]).max())
        ratio_s.append(np.abs(s_win[:, 2]).max() / np.abs(s_win[:, :2]).max())
    assert np.median(ratio_p) > 1.5  # vertical P
    assert np.median(ratio_s) < 0.7  # horizontal S


def test_single_channel_is_the_vertical_component():
    times = np.arange(300) / 100.0
    three, _, _ = _impulsive_events(5, times, 3.0, 3, np.random.RandomState(0))
    one, _, _ = _impulsive_events(5, times, 3.0, 1, np.random.RandomState(0))
    np.testing.assert_allclose(one[:, :, 0], three[:, :, 2])


def test_two_classes_are_noise_and_events():
    X, y, names = make_microseismic(20, random_state=0, return_names=True)
    assert set(np.unique(y)) == {0, 1}
    assert names.tolist() == ["noise", "event"]


def test_return_names_three_classes():
    _, y, names = make_microseismic(9, n_classes=3, random_state=0, return_names=True)
    assert names.tolist() == list(CLASS_NAMES) == ["noise", "event", "emergent"]
    assert set(names[y]) == set(CLASS_NAMES)


def _dominant_frequency(X, sampling_rate):
    spectrum = np.abs(np.fft.rfft(X, axis=1))
    freqs = np.fft.rfftfreq(X.shape[1], d=1.0 / sampling_rate)
    return freqs[spectrum.argmax(axis=1)]


@pytest.mark.parametrize("sampling_rate", [100.0, 200.0])
def test_event_classes_have_their_frequency_bands(sampling_rate):
    # Loud events so that the signal, not the noise, sets the spectrum; twice
    # the rate and twice the samples cover the same 5 s window.
    n_timestamps = int(5 * sampling_rate)
    X, y = make_microseismic(
        90,
        n_timestamps,
        n_classes=3,
        sampling_rate=sampling_rate,
        snr_db=30.0,
        normalize=False,
        random_state=0,
    )
    peak_freq = _dominant_frequency(X, sampling_rate)
    # S runs at 0.4-0.7 times the 5-20 Hz of P; Ricker spectra are broad.
    assert np.all((peak_freq[y == 1] >= 1.0) & (peak_freq[y == 1] <= 25.0))
    assert np.all(peak_freq[y == 2] <= 6.0)


def test_p_onsets_lie_in_the_documented_window():
    n_timestamps = 500
    X, y = make_microseismic(
        60, n_timestamps, snr_db=30.0, noise="white", normalize=False, random_state=0
    )
    # White unit-variance noise never reaches 8 here; a 30 dB event does soon
    # after its P onset, which is between 10 % and 45 % of the window.
    onset = np.argmax(np.abs(X[y == 1]) > 8.0, axis=1)
    assert onset.min() >= 0.1 * n_timestamps
    assert onset.max() <= 0.45 * n_timestamps + 25
    assert np.abs(X[y == 0]).max() < 8.0


def test_very_short_series_stay_finite():
    X, _ = make_microseismic(6, n_timestamps=1, random_state=0)
    assert X.shape == (6, 1)
    assert np.isfinite(X).all()


def test_kmeans_on_raw_waveforms_is_far_from_perfect():
    # The data set must not be solved by K-means on the normalised waveforms.
    from sklearn.cluster import KMeans

    from tscc.metrics import clustering_accuracy

    X, y = make_microseismic(150, random_state=0)
    labels = KMeans(2, n_init=3, random_state=0).fit_predict(X)
    assert clustering_accuracy(y, labels) < 0.7


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_samples": 0}, "n_samples"),
        ({"n_samples": 2.5}, "n_samples"),
        ({"n_timestamps": 0}, "n_timestamps"),
        ({"n_channels": 2}, "n_channels"),
        ({"n_classes": 4}, "n_classes"),
        ({"n_classes": 1}, "n_classes"),
        ({"sampling_rate": 50.0}, "sampling_rate"),
        ({"snr_db": (5.0, 2.0)}, "snr_db"),
        ({"snr_db": (1.0, np.inf)}, "snr_db"),
        ({"snr_db": "loud"}, "snr_db"),
        ({"snr_db": (1.0, 2.0, 3.0)}, "snr_db"),
        ({"noise_fraction": 1.5}, "noise_fraction"),
        ({"noise": "pink"}, "noise"),
        ({"random_state": "seed"}, "random_state"),
    ],
)
def test_invalid_parameters_raise(params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make_microseismic(**params)
