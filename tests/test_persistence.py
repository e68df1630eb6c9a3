"""Saving and loading fitted models: model files, pickles and old files."""

import json
import pickle
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from _shared import TINY, two_shapes
from sklearn.exceptions import NotFittedError

from tscc import TSCCClusterer
from tscc.persistence import FORMAT_VERSION, load_model

DATA = Path(__file__).parent / "data"
CPU_ONLY = pytest.mark.skipif(
    torch.cuda.is_available(), reason="CUDA is available here"
)
X, _ = two_shapes()


@pytest.fixture(scope="module")
def fitted():
    return TSCCClusterer(**TINY).fit(X)


def edit_payload(path, edit):
    """Rewrite a saved model file after ``edit(payload)`` changed it."""
    payload = torch.load(path, weights_only=True)
    edit(payload)
    torch.save(payload, path)


def edit_fitted(path, **changes):
    def edit(payload):
        fitted = json.loads(payload["fitted"])
        fitted.update(changes)
        payload["fitted"] = json.dumps(fitted)

    edit_payload(path, edit)


def assert_same_predictions(loaded, reference, X):
    np.testing.assert_array_equal(loaded.transform(X), reference.transform(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), reference.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), reference.predict(X))


# ---------------------------------------------------------------- model files


def test_save_and_load_round_trip(fitted, tmp_path):
    path = tmp_path / "model.tscc"
    assert fitted.save(path) is fitted
    loaded = TSCCClusterer.load(path)
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.labels_, fitted.labels_)
    np.testing.assert_array_equal(loaded.cluster_centers_, fitted.cluster_centers_)
    assert_same_predictions(loaded, fitted, X)
    assert loaded.history_ == fitted.history_
    assert (loaded.depth_, loaded.n_iter_) == (fitted.depth_, fitted.n_iter_)
    assert loaded.device_ == "cpu"


def test_a_new_model_records_its_output_block(fitted, tmp_path):
    path = tmp_path / "model.tscc"
    fitted.save(path)
    payload = torch.load(path, weights_only=True)
    assert json.loads(payload["fitted"])["encoder_kwargs_"]["output_block"] is True
    loaded = load_model(path, TSCCClusterer)
    assert len(loaded.encoder_.blocks) == TINY["depth"] + 1
    assert loaded.encoder_kwargs_ == fitted.encoder_kwargs_


def fitted_attributes(estimator):
    return {
        name: value
        for name, value in vars(estimator).items()
        if name.endswith("_") and not name.startswith("_")
    }


def assert_same_fitted_attributes(loaded, fitted):
    """Every fitted attribute of ``fitted`` is in ``loaded``, with its value."""
    expected, got = fitted_attributes(fitted), fitted_attributes(loaded)
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        if name == "encoder_":
            assert got[name].state_dict().keys() == value.state_dict().keys()
        elif isinstance(value, np.ndarray):
            np.testing.assert_array_equal(got[name], value)
            assert got[name].dtype == value.dtype, name
        else:
            assert got[name] == value, name


@pytest.mark.parametrize("max_samples", [None, 20])
def test_a_loaded_model_has_every_fitted_attribute(tmp_path, max_samples):
    import pandas as pd

    frame = pd.DataFrame(X, columns=[f"t{i}" for i in range(X.shape[1])])
    fitted = TSCCClusterer(**TINY, max_samples=max_samples).fit(frame)
    assert hasattr(fitted, "feature_names_in_") and hasattr(fitted, "max_samples_")
    fitted.save(tmp_path / "model.tscc")
    assert_same_fitted_attributes(TSCCClusterer.load(tmp_path / "model.tscc"), fitted)
    assert_same_fitted_attributes(pickle.loads(pickle.dumps(fitted)), fitted)


def test_models_from_before_cluster_loss_keep_the_papers_term(fitted, tmp_path):
    path = tmp_path / "model.tscc"
    fitted.save(path)

    def drop_cluster_loss(payload):
        params = json.loads(payload["params"])
        del params["cluster_loss"]
        payload["params"] = json.dumps(params)

    edit_payload(path, drop_cluster_loss)
    assert TSCCClusterer.load(path).cluster_loss == "fcm"

    state = fitted.__getstate__()
    del state["cluster_loss"]
    restored = TSCCClusterer.__new__(TSCCClusterer)
    restored.__setstate__(pickle.loads(pickle.dumps(state)))
    assert restored.cluster_loss == "fcm"
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))


def test_save_with_memory_object_and_random_state_instance(tmp_path):
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
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=[f"t{i}" for i in range(X.shape[1])])
    est = TSCCClusterer(**TINY).fit(frame)
    est.save(tmp_path / "m.tscc")
    loaded = TSCCClusterer.load(tmp_path / "m.tscc")
    assert list(loaded.feature_names_in_) == list(frame.columns)
    np.testing.assert_array_equal(loaded.predict(frame), est.predict(frame))


def test_save_unfitted_raises(tmp_path):
    with pytest.raises(NotFittedError):
        TSCCClusterer().save(tmp_path / "m.tscc")


def test_load_rejects_other_format_version(fitted, tmp_path):
    path = tmp_path / "model.tscc"
    fitted.save(path)
    edit_payload(path, lambda p: p.update(format_version=FORMAT_VERSION + 1))
    expected = "format version 3 .* reads format versions 1, 2"
    with pytest.raises(ValueError, match=expected):
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


# -------------------------------------------------------------------- devices


@pytest.mark.skipif(torch.cuda.device_count() > 3, reason="cuda:3 exists here")
def test_model_fitted_on_a_missing_gpu_loads_on_the_cpu(fitted, tmp_path):
    path = tmp_path / "model.tscc"
    fitted.save(path)
    edit_fitted(path, device_="cuda:3")
    loaded = load_model(path, TSCCClusterer)
    assert loaded.device_ == "cpu"
    assert next(loaded.encoder_.parameters()).device.type == "cpu"
    assert_same_predictions(loaded, fitted, X)
    explicit = load_model(path, TSCCClusterer, device="cpu")
    assert explicit.device_ == "cpu"


@pytest.mark.parametrize(
    "device",
    [
        "gpu0",
        pytest.param("cuda:3", marks=CPU_ONLY),
    ],
)
def test_load_on_an_unusable_device_raises(fitted, tmp_path, device):
    path = tmp_path / "model.tscc"
    fitted.save(path)
    with pytest.raises(ValueError, match="device"):
        load_model(path, TSCCClusterer, device=device)
    with pytest.raises(ValueError, match="device"):
        TSCCClusterer.load(path, device=device)


def test_pickle_and_joblib_round_trip(fitted, tmp_path):
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(X), fitted.transform(X))
    path = tmp_path / "tscc.joblib"
    joblib.dump(fitted, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert hasattr(fitted, "encoder_")  # pickling does not strip the original


@CPU_ONLY
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:3"])
def test_model_saved_from_gpu_loads_on_cpu_only_machine(fitted, device, tmp_path):
    gpu_like = pickle.loads(pickle.dumps(fitted))
    gpu_like.device_ = device  # as recorded by a fit on a GPU
    restored = pickle.loads(pickle.dumps(gpu_like))
    assert restored.device_ == "cpu"
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))
    joblib.dump(gpu_like, tmp_path / "gpu.joblib")
    loaded = joblib.load(tmp_path / "gpu.joblib")
    assert loaded.device_ == "cpu"
    assert_same_predictions(loaded, fitted, X)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fit_on_gpu_and_predict_on_cpu(tmp_path):
    est = TSCCClusterer(**{**TINY, "device": "cuda"}).fit(X)
    assert est.device_ == "cuda:0"
    assert next(est.encoder_.parameters()).is_cuda
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_loading_leaves_the_global_rng_alone(fitted, tmp_path):
    path = tmp_path / "model.tscc"
    fitted.save(path)
    joblib.dump(fitted, tmp_path / "model.joblib")
    torch.manual_seed(3)
    before = torch.random.get_rng_state()
    load_model(path, TSCCClusterer)
    pickle.loads(pickle.dumps(fitted))
    joblib.load(tmp_path / "model.joblib")
    TSCCClusterer.load(DATA / "legacy_e144771.tscc")
    assert torch.equal(torch.random.get_rng_state(), before)


# ------------------------------------------------------------ files of old tscc


LEGACY_LOADERS = {
    "model file": lambda: TSCCClusterer.load(DATA / "legacy_e144771.tscc"),
    "joblib": lambda: joblib.load(DATA / "legacy_e144771.joblib"),
}


@pytest.mark.parametrize("loader", LEGACY_LOADERS.values(), ids=LEGACY_LOADERS)
def test_files_from_before_the_output_block_predict_the_same(loader):
    """Written at e144771 (tests/data/make_legacy.py): 3 blocks, the last one output."""
    expected = np.load(DATA / "legacy_e144771_expected.npz")
    est = loader()
    assert len(est.encoder_.blocks) == 3  # depth 3 in their layout
    assert est.encoder_kwargs_["output_block"] is False
    assert est.max_samples_ == len(est.labels_)
    assert est.cluster_loss == "fcm_ratio"  # the recorded term, not the fallback
    assert est.precision_ == "float32"
    old_X = expected["X"]
    np.testing.assert_array_equal(est.labels_, expected["labels"])
    np.testing.assert_array_equal(est.predict(old_X), expected["labels"])
    # Bit-identical on the CPU that wrote them; other CPUs' BLAS kernels may
    # round the last bits differently, for the old code as for the new.
    np.testing.assert_allclose(est.transform(old_X), expected["features"], rtol=1e-5)
    np.testing.assert_allclose(
        est.predict_proba(old_X), expected["proba"], rtol=1e-5, atol=1e-7
    )


def test_a_legacy_model_saved_again_keeps_its_layout(tmp_path):
    legacy = TSCCClusterer.load(DATA / "legacy_e144771.tscc")
    legacy.save(tmp_path / "again.tscc")
    again = TSCCClusterer.load(tmp_path / "again.tscc")
    assert len(again.encoder_.blocks) == 3
    assert_same_predictions(
        again, legacy, np.load(DATA / "legacy_e144771_expected.npz")["X"]
    )


def test_feature_norm_survives_saving_and_pickling(tmp_path):
    unit = TSCCClusterer(**{**TINY, "feature_norm": "l2"}).fit(X)
    path = tmp_path / "model.tscc"
    unit.save(path)
    loaded = TSCCClusterer.load(path)
    assert loaded.feature_norm == "l2"
    assert loaded.encoder_.feature_norm == "l2"
    assert_same_predictions(loaded, unit, X)
    restored = pickle.loads(pickle.dumps(unit))
    assert_same_predictions(restored, unit, X)


def test_models_from_before_feature_norm_cluster_pooled_features(fitted, tmp_path):
    path = tmp_path / "model.tscc"
    fitted.save(path)

    def drop_feature_norm(payload):
        params = json.loads(payload["params"])
        del params["feature_norm"]
        payload["params"] = json.dumps(params)
        state = json.loads(payload["fitted"])
        del state["encoder_kwargs_"]["feature_norm"]
        payload["fitted"] = json.dumps(state)

    edit_payload(path, drop_feature_norm)
    loaded = TSCCClusterer.load(path)
    assert loaded.feature_norm is None and loaded.encoder_.feature_norm is None
    assert_same_predictions(loaded, fitted, X)
