"""Memory maps and chunked arrays: the same results as arrays, block by block."""

import warnings

import joblib
import numpy as np
import pytest
from _shared import TINY, two_shapes

import tscc.series
from tscc import TSCCClusterer
from tscc.series import ChunkedSeries, is_lazy_array

FIT = dict(TINY, pretrain_epochs=2, finetune_epochs=2, center_update_interval=1)


class CountingArray:
    """A lazy array over a NumPy array that counts the rows read from it."""

    def __init__(self, values, chunk_rows=7):
        self.values = values
        self.shape, self.dtype, self.ndim = values.shape, values.dtype, values.ndim
        self.chunks = (chunk_rows, *values.shape[1:])
        self.rows_read = 0

    def __getitem__(self, key):
        part = self.values[key]
        self.rows_read += part.shape[0]
        return part


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    # blocks of a few batches, so that every path crosses block boundaries
    monkeypatch.setattr(tscc.series, "BLOCK_BYTES", 3 * 8 * 40 * 8)


def _memmap(tmp_path, X):
    path = tmp_path / "series.npy"
    np.save(path, X)
    return np.load(path, mmap_mode="r")


def _fitted_results(est, X):
    return {
        "labels": est.labels_,
        "centers": est.cluster_centers_,
        "history": [(h["contrastive"], h["cluster"]) for h in est.history_],
        "transform": est.transform(X),
        "proba": est.predict_proba(X),
        "predict": est.predict(X),
        "score": est.score(X),
    }


def _assert_identical(first, second):
    assert first.keys() == second.keys()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)


def _three_channels_with_gaps():
    X, _ = two_shapes(n_per_class=20, n_timestamps=40, n_channels=3)
    X[3, 5:9, 1] = np.nan
    X[11, -6:, :] = np.nan
    return X


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("three_d", [False, True])
def test_memory_map_fit_and_inference_equal_in_memory(tmp_path, dtype, three_d):
    X = _three_channels_with_gaps() if three_d else two_shapes(20, 40)[0]
    X = X.astype(dtype)
    mapped = _memmap(tmp_path, X)
    assert is_lazy_array(mapped)

    settings = {**FIT, "batch_size": 7}  # does not divide the 40 series
    in_memory = _fitted_results(TSCCClusterer(**settings).fit(X), X)
    chunked = _fitted_results(TSCCClusterer(**settings).fit(mapped), mapped)
    _assert_identical(in_memory, chunked)
    assert chunked["transform"].dtype == dtype


def test_zarr_array_fit_and_inference_equal_in_memory(tmp_path):
    zarr = pytest.importorskip("zarr")
    X = _three_channels_with_gaps().astype(np.float32)
    store = zarr.open_array(
        tmp_path / "x.zarr", mode="w", shape=X.shape, chunks=(6, 40, 3), dtype="f4"
    )
    store[:] = X
    in_memory = _fitted_results(TSCCClusterer(**FIT).fit(X), X)
    chunked = _fitted_results(TSCCClusterer(**FIT).fit(store), store)
    _assert_identical(in_memory, chunked)


def test_fit_transform_and_fit_predict_on_a_memory_map(tmp_path):
    X, _ = two_shapes(20, 40)
    mapped = _memmap(tmp_path, X)
    est = TSCCClusterer(**FIT)
    np.testing.assert_array_equal(
        est.fit_transform(mapped), TSCCClusterer(**FIT).fit_transform(X)
    )
    np.testing.assert_array_equal(
        TSCCClusterer(**FIT).fit_predict(mapped), TSCCClusterer(**FIT).fit_predict(X)
    )


def test_rows_are_read_block_by_block():
    X, _ = two_shapes(20, 40)
    lazy = CountingArray(X)
    est = TSCCClusterer(**FIT).fit(X)
    lazy.rows_read = 0
    np.testing.assert_array_equal(est.transform(lazy), est.transform(X))
    # validation and encoding: one pass each, never the whole array at once
    assert lazy.rows_read == 1 + 2 * X.shape[0]


def test_the_cache_key_costs_no_extra_pass(tmp_path):
    X, _ = two_shapes(20, 40)
    plain, cached = CountingArray(X), CountingArray(X)
    TSCCClusterer(**FIT).fit(plain)
    est = TSCCClusterer(**FIT, memory=str(tmp_path)).fit(cached)
    assert cached.rows_read == plain.rows_read

    # same data: a hit with the same model; other data: a miss
    again = CountingArray(X)
    hit = TSCCClusterer(**FIT, memory=str(tmp_path), verbose=2)
    hit.fit(again)
    np.testing.assert_array_equal(hit.cluster_centers_, est.cluster_centers_)
    assert again.rows_read < cached.rows_read  # no pretraining batches read
    other = CountingArray(X + 0.01)
    TSCCClusterer(**FIT, memory=str(tmp_path)).fit(other)
    assert other.rows_read == plain.rows_read


def test_in_memory_and_memory_map_share_cache_entries(tmp_path, capsys):
    X, _ = two_shapes(20, 40)
    memory = joblib.Memory(tmp_path / "cache", verbose=0)
    TSCCClusterer(**FIT, memory=memory).fit(X)
    TSCCClusterer(**FIT, memory=memory, verbose=2).fit(_memmap(tmp_path, X))
    assert "pretrained encoder loaded" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (lambda X: X[:, :, np.newaxis, np.newaxis], "dimensions"),
        (lambda X: np.where(np.arange(40) == 3, np.inf, X), "infinity"),
        (lambda X: X * 1e16, "magnitude"),
        (lambda X: np.where(np.arange(24)[:, None] == 5, np.nan, X), "rows 5"),
        (lambda X: X[:1], "minimum of 2"),
        (lambda X: X[0], "2D array"),
    ],
)
def test_lazy_input_gets_the_array_errors(bad, message):
    X = bad(two_shapes(12, 40)[0])
    with pytest.raises(ValueError, match=message) as from_array:
        TSCCClusterer(**FIT).fit(X)
    with pytest.raises(ValueError, match=message) as from_lazy:
        TSCCClusterer(**FIT).fit(CountingArray(X))
    if message not in ("minimum of 2", "2D array"):  # these print the array
        assert str(from_array.value) == str(from_lazy.value)


def test_lazy_input_of_the_wrong_shape_at_prediction():
    X, _ = two_shapes(12, 40)
    est = TSCCClusterer(**FIT).fit(X)
    with pytest.raises(ValueError, match="40 features"):
        est.predict(CountingArray(X[:, :30]))
    with pytest.raises(ValueError, match="fitted on series with 1 channels"):
        est.predict(CountingArray(np.stack([X, X], axis=-1)))
    with pytest.raises(ValueError, match="could not convert|numeric"):
        est.predict(CountingArray(np.full(X.shape, "a")))


def test_integer_lazy_arrays_are_read_as_float64():
    X = np.rint(two_shapes(12, 40)[0] * 10).astype(np.int16)
    est = TSCCClusterer(**FIT).fit(X)
    features = est.transform(CountingArray(X))
    assert features.dtype == np.float64
    np.testing.assert_array_equal(features, est.transform(X))


def test_chunked_series_take_restores_the_order():
    X = np.arange(60, dtype=np.float32).reshape(20, 3)
    series = ChunkedSeries(CountingArray(X), np.float32).subset(np.arange(2, 20, 2))
    rows = series.take(np.array([4, 0, 7]))
    np.testing.assert_array_equal(rows[:, :, 0], X[[10, 2, 16]])


# ------------------------------------------------------------------ sampling


def test_max_samples_trains_on_a_sample_and_labels_every_series():
    X, y = two_shapes(30, 40)
    est = TSCCClusterer(**FIT, max_samples=0.5).fit(X)
    assert est.max_samples_ == 30
    assert est.labels_.shape == (60,)
    np.testing.assert_array_equal(est.labels_, est.predict(X))
    again = TSCCClusterer(**FIT, max_samples=30).fit(X)
    np.testing.assert_array_equal(again.cluster_centers_, est.cluster_centers_)
    other_seed = TSCCClusterer(**{**FIT, "random_state": 1}, max_samples=30).fit(X)
    assert not np.array_equal(other_seed.cluster_centers_, est.cluster_centers_)


def test_max_samples_of_all_series_is_the_plain_fit():
    X, _ = two_shapes(15, 40)
    plain = TSCCClusterer(**FIT).fit(X)
    for max_samples in (1.0, 30):
        est = TSCCClusterer(**FIT, max_samples=max_samples).fit(X)
        np.testing.assert_array_equal(est.cluster_centers_, plain.cluster_centers_)
        assert est.max_samples_ == 30


def test_max_samples_on_a_memory_map_equals_in_memory(tmp_path):
    X, _ = two_shapes(20, 40)
    mapped = _memmap(tmp_path, X)
    first = TSCCClusterer(**FIT, max_samples=0.4)
    second = TSCCClusterer(**FIT, max_samples=0.4)
    np.testing.assert_array_equal(first.fit_transform(X), second.fit_transform(mapped))
    np.testing.assert_array_equal(first.labels_, second.labels_)


def test_fit_on_a_sample_never_holds_the_features_of_all_series(monkeypatch):
    import tscc.estimator
    import tscc.training

    encoded = []
    encode = tscc.training.encode_features

    def counting_encode(encoder, series, *args, **kwargs):
        encoded.append(len(series))
        return encode(encoder, series, *args, **kwargs)

    # the estimator and the training pipeline (K-means, centre updates)
    monkeypatch.setattr(tscc.estimator, "encode_features", counting_encode)
    monkeypatch.setattr(tscc.training, "encode_features", counting_encode)
    X, _ = two_shapes(20, 40)
    fitted = TSCCClusterer(**FIT, max_samples=0.4).fit(X)
    assert set(encoded) == {16}  # the sample's features, never the 40 series'
    encoded.clear()
    features = TSCCClusterer(**FIT, max_samples=0.4).fit_transform(X)
    assert encoded.count(40) == 1  # fit_transform returns them: encoded once
    assert set(encoded) == {16, 40}
    np.testing.assert_array_equal(fitted.labels_, fitted.predict(X))
    np.testing.assert_array_equal(fitted.transform(X), features)


def test_blockwise_predictions_equal_the_features_route():
    X, _ = two_shapes(20, 40)
    est = TSCCClusterer(**FIT).fit(X)
    proba = est.predict_proba(X)
    np.testing.assert_array_equal(est.predict(X), proba.argmax(axis=1))
    np.testing.assert_array_equal(est.labels_, est.predict(X))
    features = est.transform(X)
    sq_distances = ((features[:, None, :] - est.cluster_centers_) ** 2).sum(axis=2)
    objective = (proba**est.m * sq_distances).sum()
    np.testing.assert_allclose(est.score(X), -objective, rtol=1e-6)


def test_max_samples_larger_than_the_data_warns_and_too_small_fails():
    X, _ = two_shapes(10, 40)
    with pytest.warns(UserWarning, match="larger than the 20 series"):
        TSCCClusterer(**FIT, max_samples=50).fit(X)
    with pytest.raises(ValueError, match="leaves 1 of the 20 series"):
        TSCCClusterer(**FIT, max_samples=0.05).fit(X)
    with pytest.raises(ValueError, match="max_samples"):
        TSCCClusterer(**FIT, max_samples=1.5).fit(X)
    with pytest.raises(ValueError, match="max_samples"):
        TSCCClusterer(**FIT, max_samples=0).fit(X)


def test_the_sample_is_part_of_the_cache_key(tmp_path):
    X, _ = two_shapes(20, 40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        full = TSCCClusterer(**FIT, memory=str(tmp_path)).fit(X)
        half = TSCCClusterer(**FIT, memory=str(tmp_path), max_samples=0.5).fit(X)
    assert not np.array_equal(full.cluster_centers_, half.cluster_centers_)


def test_a_sample_of_a_lazy_array_is_read_once_in_order(monkeypatch):
    X, _ = two_shapes(20, 40)
    lazy = CountingArray(X)
    fitted = TSCCClusterer(**FIT, max_samples=0.4).fit(lazy)
    plain = TSCCClusterer(**FIT, max_samples=0.4).fit(X)
    np.testing.assert_array_equal(fitted.cluster_centers_, plain.cluster_centers_)
    np.testing.assert_array_equal(fitted.labels_, plain.labels_)
    # validation, the sample once, the labels of every series: no batch reads
    assert lazy.rows_read == 1 + 2 * X.shape[0] + 16


def test_a_sample_too_large_for_memory_is_read_batch_by_batch(monkeypatch):
    import tscc.estimator

    monkeypatch.setattr(tscc.estimator, "SAMPLE_IN_MEMORY_BYTES", 100)
    X, _ = two_shapes(20, 40)
    lazy = CountingArray(X)
    fitted = TSCCClusterer(**FIT, max_samples=0.4).fit(lazy)
    plain = TSCCClusterer(**FIT, max_samples=0.4).fit(X)
    np.testing.assert_array_equal(fitted.cluster_centers_, plain.cluster_centers_)
    assert lazy.rows_read > 1 + 2 * X.shape[0] + 16  # every epoch reads its batches
