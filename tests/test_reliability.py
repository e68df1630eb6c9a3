"""Hard inputs, training failures and interruption of a fit."""

import warnings

import numpy as np
import pytest
import torch
from _shared import TINY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning

import tscc.training
from tscc import TSCCClusterer


def series(n=12, t=16, c=None, seed=0):
    rng = np.random.default_rng(seed)
    shape = (n, t) if c is None else (n, t, c)
    return rng.normal(size=shape)


def with_nan(X, rows, cols):
    X = X.copy()
    X[rows, cols] = np.nan
    return X


def padded():
    X = series()
    X[::2, 10:] = np.nan
    return X


def readonly():
    X = series()
    X.setflags(write=False)
    return X


def frame():
    pd = pytest.importorskip("pandas")
    return pd.DataFrame(series(), columns=[f"t{i}" for i in range(16)])


OK = "works"

# (case id, input factory, extra parameters, expected outcome)
FIT_CASES = [
    ("1-d array", lambda: np.ones(10), {}, (ValueError, "Expected 2D array")),
    ("4-d array", lambda: np.ones((4, 5, 2, 2)), {}, (ValueError, "4 dimensions")),
    ("no samples", lambda: np.ones((0, 10)), {}, (ValueError, "0 sample")),
    ("no timestamps", lambda: np.ones((5, 0)), {}, (ValueError, "0 feature")),
    ("no channels", lambda: np.ones((5, 8, 0)), {}, (ValueError, "0 channels")),
    ("one sample", lambda: np.ones((1, 10)), {}, (ValueError, "1 sample")),
    (
        "fewer samples than clusters",
        lambda: series(n=3),
        {"n_clusters": 4},
        (ValueError, "n_samples=3 should be >= n_clusters=4"),
    ),
    ("inf", lambda: with_nan(series(), 0, 3) * 0 + np.inf, {}, (ValueError, "inf")),
    (
        "one -inf",
        lambda: np.where(np.eye(12, 16) > 0, -np.inf, series()),
        {},
        (ValueError, "infinity"),
    ),
    (
        "all-NaN series",
        lambda: with_nan(series(), 4, slice(None)),
        {},
        (ValueError, "no observed timestamp.*rows 4"),
    ),
    (
        "NaN at one timestamp in every series",
        lambda: with_nan(series(), slice(None), 5),
        {},
        OK,
    ),
    ("NaN-padded variable lengths", padded, {}, OK),
    ("scattered NaN", lambda: with_nan(series(), [0, 3, 7], [1, 9, 15]), {}, OK),
    ("constant series", lambda: np.full((12, 16), 3.0), {}, OK),
    ("all zeros", lambda: np.zeros((12, 16)), {}, OK),
    ("length 1", lambda: series(t=1), {}, OK),
    ("length 2", lambda: series(t=2), {}, OK),
    ("length 3", lambda: series(t=3), {}, OK),
    ("length 3, temporal_unit=2", lambda: series(t=3), {"temporal_unit": 2}, OK),
    ("values around 1e10", lambda: series() * 1e10, {}, OK),
    ("values around 1e30", lambda: series() * 1e30, {}, (ValueError, "magnitude")),
    ("int32", lambda: (series() * 10).astype(np.int32), {}, OK),
    ("int64", lambda: (series() * 10).astype(np.int64), {}, OK),
    ("float16", lambda: series().astype(np.float16), {}, OK),
    ("float32", lambda: series().astype(np.float32), {}, OK),
    ("float64", lambda: series(), {}, OK),
    ("bool", lambda: series() > 0, {}, OK),
    ("list of lists", lambda: series().tolist(), {}, OK),
    ("pandas DataFrame", frame, {}, OK),
    ("non-contiguous view", lambda: series(t=32)[:, ::2], {}, OK),
    ("Fortran order", lambda: np.asfortranarray(series()), {}, OK),
    ("read-only array", readonly, {}, OK),
    ("3 channels", lambda: series(c=3), {}, OK),
    ("object dtype, numbers", lambda: series().astype(object), {}, OK),
    (
        "object dtype, strings",
        lambda: np.array([["a", "b"], ["c", "d"]], dtype=object),
        {},
        (ValueError, "could not convert|Unable to convert"),
    ),
    ("complex", lambda: series() + 1j, {}, (ValueError, "Complex data not supported")),
    (
        "sparse matrix",
        lambda: sparse.csr_matrix(series()),
        {},
        (TypeError, "dense data is required"),
    ),
    (
        "ragged nested list",
        lambda: [[1.0, 2.0], [1.0]],
        {},
        (ValueError, "inhomogeneous|sequence"),
    ),
    ("None", lambda: None, {}, (TypeError, "got None")),
]

PARAM_CASES = [
    ({"m": 1.0}, "'m' parameter"),
    ({"m": 0.5}, "'m' parameter"),
    ({"n_clusters": 0}, "'n_clusters' parameter"),
    ({"n_clusters": 1.5}, "'n_clusters' parameter"),
    ({"pretrain_epochs": -1}, "'pretrain_epochs' parameter"),
    ({"finetune_epochs": -2}, "'finetune_epochs' parameter"),
    ({"batch_size": 0}, "'batch_size' parameter"),
    ({"lr": -1e-3}, "'lr' parameter"),
    ({"finetune_lr": 0.0}, "'finetune_lr' parameter"),
    ({"cluster_weight": -1.0}, "'cluster_weight' parameter"),
    ({"cluster_loss": "kl"}, "'cluster_loss' parameter"),
    ({"center_update_interval": 0}, "'center_update_interval' parameter"),
    ({"depth": -1}, "'depth' parameter"),
    ({"max_train_length": 1}, "'max_train_length' parameter"),
    ({"random_state": "seed"}, "'random_state' parameter"),
    ({"device": "tpu"}, "not a valid device"),
    ({"device": 7}, "'device' parameter"),
    ({"precision": "float16"}, "'precision' parameter"),
    ({"precision": None}, "'precision' parameter"),
]


def check_fitted_outputs(est, X):
    n = len(X) if not hasattr(X, "shape") else X.shape[0]
    features = est.transform(X)
    proba = est.predict_proba(X)
    assert features.shape == (n, est.repr_dims)
    assert np.isfinite(features).all() and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(est.predict(X), proba.argmax(axis=1))
    assert est.labels_.dtype == np.int64 and est.labels_.shape == (n,)


@pytest.mark.parametrize(
    ("make_X", "params", "expected"),
    [case[1:] for case in FIT_CASES],
    ids=[case[0] for case in FIT_CASES],
)
def test_fit_input_table(make_X, params, expected):
    X = make_X()
    before = X.copy() if isinstance(X, np.ndarray) else None
    est = TSCCClusterer(**{**TINY, **params})
    if expected == OK:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X)
        check_fitted_outputs(est, X)
    else:
        error, message = expected
        with pytest.raises(error, match=message):
            est.fit(X)
    if isinstance(X, np.ndarray):
        np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize(("params", "message"), PARAM_CASES)
def test_bad_parameter_table(params, message):
    with pytest.raises(ValueError, match=message):
        TSCCClusterer(**{**TINY, **params}).fit(series())


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_requested_without_cuda():
    with pytest.raises(ValueError, match="CUDA is not available"):
        TSCCClusterer(**{**TINY, "device": "cuda"}).fit(series())


@pytest.fixture(scope="module")
def fitted():
    return TSCCClusterer(**TINY).fit(series())


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (series(t=10), "X has 10 features"),
        (series(c=2), "2 channels"),
        (np.ones(16), "Expected 2D array"),
        (np.full((2, 16), np.inf), "infinity"),
        (np.full((2, 16), np.nan), "no observed timestamp"),
        (np.full((2, 16), 1e20), "magnitude"),
    ],
    ids=["other length", "other channels", "1-d", "inf", "all NaN", "huge"],
)
def test_predict_input_errors(fitted, X, message):
    for method in (fitted.predict, fitted.transform, fitted.predict_proba):
        with pytest.raises(ValueError, match=message):
            method(X)


# ------------------------------------------------------- training failures


@pytest.mark.filterwarnings("ignore:Number of distinct clusters")
def test_collapse_into_one_cluster_is_warned():
    with pytest.warns(ConvergenceWarning, match="Only 1 of n_clusters=2"):
        TSCCClusterer(**TINY).fit(np.zeros((12, 16)))


def test_no_warning_on_separable_data():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(10, 16)), 5 + rng.normal(size=(10, 16))])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        TSCCClusterer(**{**TINY, "pretrain_epochs": 2}).fit(X)


@pytest.mark.parametrize(("phase", "interrupt_at"), [("pretrain", 2), ("finetune", 5)])
def test_ctrl_c_keeps_last_completed_epoch(monkeypatch, phase, interrupt_at):
    real_epoch = tscc.training.train_epoch
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == interrupt_at:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(tscc.training, "train_epoch", interrupted)
    X = series()
    est = TSCCClusterer(**{**TINY, "pretrain_epochs": 3, "finetune_epochs": 3})
    with pytest.warns(UserWarning, match="interrupted during .* epoch"):
        est.fit(X)
    assert len(est.history_) == interrupt_at - 1
    assert est.history_[-1]["phase"] == (
        "pretrain" if phase == "pretrain" else "finetune"
    )
    check_fitted_outputs(est, X)


# ---------------------------------------------------------- property tests


@st.composite
def series_inputs(draw):
    n = draw(st.integers(2, 10))
    t = draw(st.integers(1, 12))
    c = draw(st.sampled_from([None, 1, 2]))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int32]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    shape = (n, t) if c is None else (n, t, c)
    X = (rng.normal(size=shape) * 5).astype(dtype)
    if dtype != np.int32 and draw(st.booleans()):
        X = X.astype(np.float64)
        missing = rng.random((n, t)) < draw(st.floats(0.0, 0.7))
        missing[:, 0] = False  # every series keeps one observed timestamp
        X[missing] = np.nan
    n_clusters = draw(st.integers(1, min(3, n)))
    return X, n_clusters


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(series_inputs())
def test_properties_over_shapes_dtypes_and_nan(case):
    X, n_clusters = case
    before = X.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = TSCCClusterer(**{**TINY, "n_clusters": n_clusters}).fit(X)
    check_fitted_outputs(est, X)
    assert est.predict_proba(X).shape == (X.shape[0], n_clusters)
    np.testing.assert_array_equal(est.transform(X), est.transform(X))
    np.testing.assert_array_equal(X, before)
