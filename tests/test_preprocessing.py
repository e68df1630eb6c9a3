import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from tscc.preprocessing import WaveformNormalizer

RAW = dict(demean=False, detrend=False, normalize=None)


def _series(shape, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=shape) * rng.uniform(0.1, 100.0) + 3.0).astype(dtype)


# ---------------------------------------------------------------------------
# Values against hand-computed cases
# ---------------------------------------------------------------------------


def test_demean_only():
    X = np.array([[1.0, 2.0, 6.0], [-4.0, 0.0, 1.0]])
    Xt = WaveformNormalizer(**{**RAW, "demean": True}).fit_transform(X)
    np.testing.assert_allclose(Xt, [[-2.0, -1.0, 3.0], [-3.0, 1.0, 2.0]])


def test_detrend_of_a_line_gives_zeros():
    times = np.arange(50.0)
    X = np.stack([3.0 * times - 7.0, -0.25 * times + 1e4, np.full(50, 2.5)])
    for normalize in ("maxabs", "zscore", None):
        Xt = WaveformNormalizer(normalize=normalize).fit_transform(X)
        np.testing.assert_array_equal(Xt, 0.0)


def test_detrend_removes_the_least_squares_line():
    times = np.arange(5.0)
    bump = np.array([0.0, 1.0, -2.0, 1.0, 0.0])  # zero mean, no linear part
    X = (2.0 * times + 5.0 + bump)[np.newaxis]
    Xt = WaveformNormalizer(normalize=None).fit_transform(X)
    np.testing.assert_allclose(Xt[0], bump, atol=1e-12)


def test_detrend_without_demean_still_removes_the_intercept():
    X = np.array([[10.0, 12.0, 11.0, 13.0]])
    Xt = WaveformNormalizer(demean=False, normalize=None).fit_transform(X)
    np.testing.assert_allclose(Xt.mean(), 0.0, atol=1e-12)
    np.testing.assert_allclose(Xt, [[-0.3, 0.9, -0.9, 0.3]], atol=1e-12)


def test_maxabs_gives_unit_peak():
    X = _series((20, 64))
    Xt = WaveformNormalizer().fit_transform(X)
    np.testing.assert_allclose(np.abs(Xt).max(axis=1), 1.0)
    np.testing.assert_allclose(Xt.mean(axis=1), 0.0, atol=1e-12)


def test_maxabs_hand_computed():
    X = np.array([[1.0, 4.0, 2.0, 1.0]])
    Xt = WaveformNormalizer(detrend=False).fit_transform(X)
    np.testing.assert_allclose(Xt, [[-0.5, 1.0, 0.0, -0.5]])


def test_zscore_gives_unit_std():
    X = _series((20, 64))
    Xt = WaveformNormalizer(normalize="zscore").fit_transform(X)
    np.testing.assert_allclose(Xt.std(axis=1), 1.0)
    np.testing.assert_allclose(Xt.mean(axis=1), 0.0, atol=1e-12)


def test_zscore_without_demean_only_scales():
    X = np.array([[1.0, 3.0, 1.0, 3.0]])  # std 1
    Xt = WaveformNormalizer(**{**RAW, "normalize": "zscore"}).fit_transform(X)
    np.testing.assert_allclose(Xt, X)


def test_all_off_is_identity():
    X = _series((4, 10))
    np.testing.assert_array_equal(WaveformNormalizer(**RAW).fit_transform(X), X)


def test_scaling_is_invariant_to_amplitude_and_offset():
    X = _series((6, 40))
    for normalize in ("maxabs", "zscore"):
        normalizer = WaveformNormalizer(normalize=normalize)
        np.testing.assert_allclose(
            normalizer.fit_transform(1e12 * X - 5e12),
            normalizer.fit_transform(X),
            atol=1e-9,
        )


@pytest.mark.parametrize("normalize", ["maxabs", "zscore"])
@pytest.mark.parametrize("value", [0.0, 0.1, -7.3, 1e30])
def test_constant_series_become_zero_without_warnings(normalize, value):
    X = np.full((2, 30), value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Xt = WaveformNormalizer(normalize=normalize).fit_transform(X)
    np.testing.assert_array_equal(Xt, 0.0)


def test_undemeaned_constant_series_keep_their_values():
    X = np.array([[5.0, 5.0, 5.0], [0.0, 0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zscored = WaveformNormalizer(**{**RAW, "normalize": "zscore"}).transform(X)
        peaked = WaveformNormalizer(**{**RAW, "normalize": "maxabs"}).transform(X)
    np.testing.assert_array_equal(zscored, X)
    np.testing.assert_array_equal(peaked, [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])


def test_single_timestamp():
    Xt = WaveformNormalizer().fit_transform(np.array([[3.0], [-2.0]]))
    np.testing.assert_array_equal(Xt, [[0.0], [0.0]])


# ---------------------------------------------------------------------------
# Missing values
# ---------------------------------------------------------------------------


def test_nan_stays_nan_and_is_ignored():
    times = np.arange(8.0)
    X = (2.0 * times + 1.0 + np.array([0, 1, -1, 0, 0, 1, -1, 0]))[np.newaxis]
    X_missing = X.copy()
    X_missing[0, [2, 5]] = np.nan
    observed = ~np.isnan(X_missing[0])
    for params in (RAW, dict(detrend=False), dict(), dict(normalize="zscore")):
        normalizer = WaveformNormalizer(**params)
        Xt = normalizer.fit_transform(X_missing)
        assert np.array_equal(np.isnan(Xt), np.isnan(X_missing))
        # Same result as processing only the observed timestamps, at their
        # own times.
        expected = _reference(X[0][observed], times[observed], **params)
        np.testing.assert_allclose(Xt[0][observed], expected, atol=1e-12)


def _reference(x, t, demean=True, detrend=True, normalize="maxabs"):
    """Straightforward one-series implementation."""
    x = x.astype(float)
    if detrend:
        x = x - np.polyval(np.polyfit(t, x, 1), t)
    elif demean:
        x = x - x.mean()
    if normalize == "maxabs":
        x = x / np.abs(x).max()
    elif normalize == "zscore":
        x = x / x.std()
    return x


@pytest.mark.parametrize("normalize", ["maxabs", "zscore", None])
def test_all_nan_channel_stays_nan_without_warnings(normalize):
    X = _series((3, 20, 2))
    X[1, :, 0] = np.nan
    X[2, 3:, 1] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Xt = WaveformNormalizer(normalize=normalize).fit_transform(X)
    assert np.isnan(Xt[1, :, 0]).all()
    assert np.isfinite(Xt[1, :, 1]).all()
    assert np.array_equal(np.isnan(Xt), np.isnan(X))


def test_inf_is_rejected():
    X = _series((3, 10))
    X[1, 4] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        WaveformNormalizer().fit_transform(X)


# ---------------------------------------------------------------------------
# Shapes, channels, dtypes
# ---------------------------------------------------------------------------


def test_2d_and_3d_agree_and_channels_are_independent():
    X = _series((5, 30, 3))
    X[:, :, 1] *= 1e6  # a loud channel must not change the others
    Xt = WaveformNormalizer(normalize="zscore").fit_transform(X)
    assert Xt.shape == X.shape
    for channel in range(3):
        alone = WaveformNormalizer(normalize="zscore").fit_transform(X[:, :, channel])
        np.testing.assert_allclose(Xt[:, :, channel], alone, rtol=1e-12)
        np.testing.assert_allclose(
            WaveformNormalizer().transform(X[:, :, channel : channel + 1])[:, :, 0],
            WaveformNormalizer().transform(X[:, :, channel]),
        )


def test_rows_are_independent():
    X = _series((10, 25, 2))
    full = WaveformNormalizer().fit_transform(X)
    np.testing.assert_array_equal(WaveformNormalizer().transform(X[3:5]), full[3:5])


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        (np.float32, np.float32),
        (np.float64, np.float64),
        (np.float16, np.float64),
        (np.int32, np.float64),
        (np.int64, np.float64),
    ],
)
def test_dtype(dtype, expected):
    X = (_series((4, 16, 2)) * 10).astype(dtype)
    Xt = WaveformNormalizer().fit_transform(X)
    assert Xt.dtype == expected
    np.testing.assert_allclose(np.abs(Xt).max(axis=1), 1.0, rtol=1e-6)


def test_float32_matches_float64():
    X = _series((6, 50), dtype=np.float32)
    np.testing.assert_allclose(
        WaveformNormalizer().transform(X),
        WaveformNormalizer().transform(X.astype(np.float64)),
        rtol=1e-6,
        atol=1e-6,
    )


def test_input_is_not_modified():
    X = _series((4, 20, 2))
    X[0, 3, 1] = np.nan
    before = X.copy()
    WaveformNormalizer().fit(X).transform(X)
    WaveformNormalizer(normalize="zscore").fit_transform(X)
    np.testing.assert_array_equal(X, before)


def test_lists_are_accepted():
    Xt = WaveformNormalizer(detrend=False).transform([[1, 4, 2, 1]])
    np.testing.assert_allclose(Xt, [[-0.5, 1.0, 0.0, -0.5]])


def test_4d_input_is_rejected():
    with pytest.raises(ValueError, match="4 dimensions"):
        WaveformNormalizer().fit(np.zeros((2, 3, 4, 5)))


# ---------------------------------------------------------------------------
# scikit-learn API
# ---------------------------------------------------------------------------


def test_transform_works_unfitted_and_fit_checks_length():
    X = _series((3, 12))
    normalizer = WaveformNormalizer()
    np.testing.assert_array_equal(
        normalizer.transform(X), clone(normalizer).fit_transform(X)
    )
    normalizer.fit(X)
    assert normalizer.n_features_in_ == 12
    with pytest.raises(ValueError, match="12 features"):
        normalizer.transform(_series((3, 13)))


def test_invalid_normalize_raises_in_fit_and_transform():
    X = _series((3, 12))
    with pytest.raises(ValueError, match="normalize"):
        WaveformNormalizer(normalize="l2").fit(X)
    with pytest.raises(ValueError, match="normalize"):
        WaveformNormalizer(normalize="l2").transform(X)


def test_feature_names_out():
    names = WaveformNormalizer().fit(_series((3, 4))).get_feature_names_out()
    assert names.tolist() == ["x0", "x1", "x2", "x3"]


def test_in_pipeline_with_kmeans():
    rng = np.random.default_rng(0)
    times = np.linspace(0.0, 1.0, 60)
    # Two shapes at random amplitudes, offsets and trends: only after
    # normalisation do the shapes, not the amplitudes, decide the clusters.
    shapes = np.stack([np.sin(2 * np.pi * 3 * times), np.sign(times - 0.5)])
    y = np.repeat([0, 1], 20)
    X = (
        rng.uniform(0.1, 100.0, size=(40, 1)) * shapes[y]
        + rng.normal(size=(40, 1)) * 50.0
        + rng.normal(size=(40, 1)) * times * 30.0
        + rng.normal(scale=0.01, size=(40, 60))
    )
    pipe = make_pipeline(WaveformNormalizer(), KMeans(2, n_init=3, random_state=0))
    labels = pipe.fit_predict(X)
    assert abs(np.corrcoef(labels, y)[0, 1]) == pytest.approx(1.0)


@parametrize_with_checks(
    [WaveformNormalizer(), WaveformNormalizer(detrend=False, normalize="zscore")]
)
def test_sklearn_compatible_transformer(estimator, check):
    check(estimator)
