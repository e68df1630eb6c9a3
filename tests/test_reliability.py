"""Hard inputs, training failures, interruption and safe persistence."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning

import tscc.training
from tscc import TSCCClusterer
from tscc.persistence import FORMAT_VERSION

TINY = dict(
    repr_dims=4,
    hidden_dims=4,
    depth=1,
    pretrain_epochs=1,
    finetune_epochs=1,
    batch_size=8,
    n_init=1,
    device="cpu",
    random_state=0,
)


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


def test_input_table_is_large_enough():
    assert len(FIT_CASES) + len(PARAM_CASES) >= 30


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


def test_non_finite_loss_names_phase_and_epoch(monkeypatch):
    real_epoch = tscc.training.train_epoch
    calls = []

    def nan_in_second_epoch(*args, **kwargs):
        losses = real_epoch(*args, **kwargs)
        calls.append(1)
        if len(calls) == 2:
            losses = {**losses, "contrastive": float("nan")}
        return losses

    monkeypatch.setattr(tscc.training, "train_epoch", nan_in_second_epoch)
    est = TSCCClusterer(**{**TINY, "pretrain_epochs": 3})
    with pytest.raises(FloatingPointError, match="pretraining loss .* epoch 2.*Scale"):
        est.fit(series())


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


def test_ctrl_c_restores_weights_of_last_epoch(monkeypatch):
    """Interrupting epoch 2 gives the model a 1-epoch fit would have had."""
    X = series()
    one_epoch = TSCCClusterer(**{**TINY, "pretrain_epochs": 1, "finetune_epochs": 0})
    one_epoch.fit(X)

    real_epoch = tscc.training.train_epoch

    def fail_after_a_step(encoder, optimizer, *args, **kwargs):
        if fail_after_a_step.calls == 1:
            # change the weights mid-epoch, then interrupt
            real_epoch(encoder, optimizer, *args, **kwargs)
            raise KeyboardInterrupt
        fail_after_a_step.calls += 1
        return real_epoch(encoder, optimizer, *args, **kwargs)

    fail_after_a_step.calls = 0
    monkeypatch.setattr(tscc.training, "train_epoch", fail_after_a_step)
    interrupted = TSCCClusterer(**{**TINY, "pretrain_epochs": 3, "finetune_epochs": 0})
    with pytest.warns(UserWarning, match="keeps the weights of epoch 1"):
        interrupted.fit(X)
    np.testing.assert_array_equal(interrupted.transform(X), one_epoch.transform(X))


# ------------------------------------------------------------ persistence


def test_save_and_load_round_trip(fitted, tmp_path):
    X = series()
    path = tmp_path / "model.tscc"
    assert fitted.save(path) is fitted
    loaded = TSCCClusterer.load(path)
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.labels_, fitted.labels_)
    np.testing.assert_array_equal(loaded.cluster_centers_, fitted.cluster_centers_)
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert loaded.history_ == fitted.history_
    assert (loaded.depth_, loaded.n_iter_) == (fitted.depth_, fitted.n_iter_)
    assert loaded.device_ == "cpu"


def test_models_from_before_cluster_loss_keep_the_papers_term(fitted, tmp_path):
    import json
    import pickle

    path = tmp_path / "model.tscc"
    fitted.save(path)
    payload = torch.load(path, weights_only=True)
    params = json.loads(payload["params"])
    del params["cluster_loss"]
    payload["params"] = json.dumps(params)
    torch.save(payload, path)
    assert TSCCClusterer.load(path).cluster_loss == "fcm"

    state = fitted.__getstate__()
    del state["cluster_loss"]
    restored = TSCCClusterer.__new__(TSCCClusterer)
    restored.__setstate__(pickle.loads(pickle.dumps(state)))
    assert restored.cluster_loss == "fcm"
    X = series()
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))


def test_save_with_memory_object_and_random_state_instance(tmp_path):
    import joblib

    X = series()
    est = TSCCClusterer(
        **{
            **TINY,
            "memory": joblib.Memory(None),
            "random_state": np.random.RandomState(0),
        }
    ).fit(X)
    est.save(tmp_path / "m.tscc")
    loaded = TSCCClusterer.load(tmp_path / "m.tscc")
    assert loaded.memory is None and loaded.random_state is None
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_save_keeps_feature_names(tmp_path):
    X = frame()
    est = TSCCClusterer(**TINY).fit(X)
    est.save(tmp_path / "m.tscc")
    loaded = TSCCClusterer.load(tmp_path / "m.tscc")
    assert list(loaded.feature_names_in_) == list(X.columns)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_save_unfitted_raises(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        TSCCClusterer().save(tmp_path / "m.tscc")


def test_load_rejects_other_format_version(fitted, tmp_path):
    path = tmp_path / "model.tscc"
    fitted.save(path)
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = FORMAT_VERSION + 1
    torch.save(payload, path)
    with pytest.raises(ValueError, match="format version 2 .* reads format version 1"):
        TSCCClusterer.load(path)


def test_load_rejects_files_that_are_not_models(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="not a tscc model"):
        TSCCClusterer.load(path)


@pytest.mark.parametrize(
    "content",
    [b"not a zip file", b"hello\n", b"", b"\x80\x02}q\x00.", bytes(range(256))],
    ids=["text", "short-text", "empty", "truncated-pickle", "binary"],
)
def test_load_rejects_damaged_files_with_value_error(tmp_path, content):
    path = tmp_path / "damaged.tscc"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a (readable )?tscc model"):
        TSCCClusterer.load(path)


def test_load_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        TSCCClusterer.load(tmp_path / "missing.tscc")


class _Exploit:
    """Pickles to a call that creates a file: what a malicious model would do."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (str(self.target), "w"))


def test_load_executes_no_code_from_the_file(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.tscc"
    torch.save({"format": "tscc.TSCCClusterer", "payload": _Exploit(marker)}, path)
    with pytest.raises(ValueError, match="not a readable tscc model"):
        TSCCClusterer.load(path)
    assert not marker.exists()


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
