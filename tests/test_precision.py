"""Mixed precision: the ``precision`` parameter and the bfloat16 encoder."""

import pickle

import numpy as np
import pytest
import torch
from _shared import TINY, two_shapes

import tscc._validation
from tscc import TSCCClusterer
from tscc._validation import fast_bfloat16, resolve_precision
from tscc.encoder import TSEncoder


def sines_and_squares():
    return two_shapes(n_per_class=10, n_timestamps=32)[0]


@pytest.mark.parametrize("fast", [True, False])
def test_auto_precision_follows_the_hardware(monkeypatch, fast):
    monkeypatch.setattr(tscc._validation, "fast_bfloat16", lambda device: fast)
    expected = "bfloat16" if fast else "float32"
    assert resolve_precision("auto", torch.device("cpu")) == expected
    est = TSCCClusterer(**TINY).fit(sines_and_squares())
    assert est.precision_ == expected
    assert est.encoder_.precision == expected


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_explicit_precision_is_used(precision):
    assert resolve_precision(precision, torch.device("cpu")) == precision
    est = TSCCClusterer(**TINY, precision=precision).fit(sines_and_squares())
    assert est.precision_ == precision
    assert est.encoder_.precision == precision
    assert est.get_params()["precision"] == precision


def test_fast_bfloat16_is_a_bool_and_false_for_other_devices():
    assert isinstance(fast_bfloat16(torch.device("cpu")), bool)
    assert fast_bfloat16(torch.device("meta")) is False


@pytest.mark.parametrize(
    "amx, avx512_bf16, expected",
    [
        (True, True, True),
        (False, True, True),
        (True, False, True),
        (False, False, False),
    ],
)
def test_cpu_bfloat16_needs_amx_or_avx512_bf16(monkeypatch, amx, avx512_bf16, expected):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    assert fast_bfloat16(torch.device("cpu")) is expected


def test_bfloat16_on_an_unsupported_device_type_is_a_clear_error():
    with pytest.raises(ValueError, match="precision='bfloat16' is supported"):
        resolve_precision("bfloat16", torch.device("mps"))


def test_encoder_rejects_unknown_precision():
    with pytest.raises(ValueError, match="precision='float16'"):
        TSEncoder(1, precision="float16")


def test_bfloat16_encoder_is_close_to_float32_and_returns_float32():
    torch.manual_seed(0)
    full = TSEncoder(2, repr_dims=8, hidden_dims=16, depth=3).eval()
    mixed = TSEncoder(2, repr_dims=8, hidden_dims=16, depth=3, precision="bfloat16")
    mixed.load_state_dict(full.state_dict())
    mixed.eval()
    x = torch.randn(4, 50, 2)
    x[0, 10:] = float("nan")  # a shorter series
    with torch.inference_mode():
        reference = full(x)
        z = mixed(x)
    assert z.dtype == torch.float32
    assert torch.isfinite(z).all()
    # bfloat16 keeps 8 bits of mantissa: about 2-3 significant digits
    error = (z - reference).abs().max() / reference.abs().max()
    assert 0 < error < 0.05


def test_bfloat16_training_keeps_float32_weights_and_gradients():
    torch.manual_seed(0)
    encoder = TSEncoder(1, repr_dims=8, hidden_dims=8, depth=2, precision="bfloat16")
    z = encoder(torch.randn(3, 20, 1), mask="random")
    z.square().mean().backward()
    for name, parameter in encoder.named_parameters():
        assert parameter.dtype == torch.float32, name
        assert parameter.grad is not None and parameter.grad.dtype == torch.float32
        assert torch.isfinite(parameter.grad).all(), name


def test_bfloat16_fit_is_deterministic_and_batch_invariant():
    X = sines_and_squares()
    first = TSCCClusterer(**TINY, precision="bfloat16").fit(X)
    second = TSCCClusterer(**TINY, precision="bfloat16").fit(X)
    np.testing.assert_array_equal(first.labels_, second.labels_)
    features = first.transform(X)
    np.testing.assert_array_equal(features, second.transform(X))
    np.testing.assert_array_equal(first.transform(X[3:5]), features[3:5])
    proba = first.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(first.predict(X), proba.argmax(axis=1))


def test_bfloat16_model_survives_save_load_and_pickle(tmp_path):
    X = sines_and_squares()
    est = TSCCClusterer(**TINY, precision="bfloat16").fit(X)
    est.save(tmp_path / "model.tscc")
    loaded = TSCCClusterer.load(tmp_path / "model.tscc")
    unpickled = pickle.loads(pickle.dumps(est))
    for copy in (loaded, unpickled):
        assert copy.precision_ == "bfloat16"
        assert copy.encoder_.precision == "bfloat16"
        np.testing.assert_array_equal(copy.transform(X), est.transform(X))


def test_precision_is_part_of_the_pretraining_cache_key(tmp_path):
    X = sines_and_squares()
    params = dict(TINY, memory=str(tmp_path), finetune_epochs=0)
    full = TSCCClusterer(**params, precision="float32").fit(X)
    mixed = TSCCClusterer(**params, precision="bfloat16").fit(X)
    again = TSCCClusterer(**params, precision="bfloat16").fit(X)
    assert not np.array_equal(full.transform(X), mixed.transform(X))
    np.testing.assert_array_equal(mixed.transform(X), again.transform(X))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("precision", ["auto", "float32", "bfloat16"])
def test_cuda_fit_in_each_precision(precision):
    X = sines_and_squares()
    est = TSCCClusterer(**{**TINY, "device": "cuda"}, precision=precision).fit(X)
    expected = {"auto": None, "float32": "float32", "bfloat16": "bfloat16"}
    assert est.precision_ == (
        expected[precision] or resolve_precision("auto", torch.device("cuda"))
    )
    features = est.transform(X)
    assert features.dtype == np.float64 and np.isfinite(features).all()
    np.testing.assert_allclose(est.predict_proba(X).sum(axis=1), 1.0)
