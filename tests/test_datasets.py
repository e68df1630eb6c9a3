import numpy as np
import pytest

import tscc
from tscc import synthetic
from tscc.datasets import (
    CHANNEL_NAMES,
    CLASS_NAMES,
    load_npz_dataset,
    load_phasenet_windows,
    make_microseismic,
)


def test_synthetic_generator_is_importable_from_datasets_and_tscc():
    assert make_microseismic is synthetic.make_microseismic
    assert tscc.make_microseismic is synthetic.make_microseismic
    assert CLASS_NAMES is synthetic.CLASS_NAMES
    assert CHANNEL_NAMES is synthetic.CHANNEL_NAMES


def _write_npz(path, n_samples=5, **extra):
    rng = np.random.default_rng(0)
    arrays = {
        "X": rng.standard_normal((n_samples, 30, 2)).astype(np.float32),
        "y": np.arange(n_samples, dtype=np.int64) % 2,
        "label_names": np.array(["noise", "event"]),
        "sampling_rate": np.float32(100.0),
    }
    arrays.update(extra)
    np.savez_compressed(path, **arrays)
    return arrays


def test_load_round_trip(tmp_path):
    path = tmp_path / "toy.npz"
    written = _write_npz(path)
    X, y = load_npz_dataset(path)
    np.testing.assert_array_equal(X, written["X"])
    np.testing.assert_array_equal(y, written["y"])
    assert X.dtype == np.float32
    assert y.dtype == np.int64

    X, y, names = load_npz_dataset(str(path), return_names=True)
    assert names[y].tolist() == ["noise", "event", "noise", "event", "noise"]


def test_load_generated_data_round_trip(tmp_path):
    X, y, names = make_microseismic(12, 100, random_state=0, return_names=True)
    path = tmp_path / "synthetic.npz"
    np.savez(path, X=X[:, :, np.newaxis], y=y, label_names=names)
    X_loaded, y_loaded = load_npz_dataset(path)
    np.testing.assert_array_equal(X_loaded[:, :, 0], X)
    np.testing.assert_array_equal(y_loaded, y)


@pytest.mark.parametrize("key", ["X", "y"])
def test_load_missing_array_raises(tmp_path, key):
    path = tmp_path / "partial.npz"
    arrays = _write_npz(tmp_path / "full.npz")
    del arrays[key]
    np.savez(path, **arrays)
    with pytest.raises(KeyError, match=f"'{key}'"):
        load_npz_dataset(path)


def test_load_missing_names_raises_only_when_asked(tmp_path):
    path = tmp_path / "unnamed.npz"
    np.savez(path, X=np.zeros((3, 4, 1)), y=np.zeros(3, dtype=np.int64))
    assert len(load_npz_dataset(path)) == 2
    with pytest.raises(KeyError, match="label_names"):
        load_npz_dataset(path, return_names=True)


def test_load_inconsistent_lengths_raise(tmp_path):
    path = tmp_path / "bad.npz"
    _write_npz(path, y=np.zeros(4, dtype=np.int64))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        load_npz_dataset(path)


def test_load_refuses_pickled_objects(tmp_path):
    path = tmp_path / "pickled.npz"
    _write_npz(path, label_names=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle"):
        load_npz_dataset(path, return_names=True)


# ---------------------------------------------------------------------------
# load_phasenet_windows
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def phase_z():
    return load_phasenet_windows(task="phase", channels="Z")


def test_phasenet_default_is_event_vs_noise_on_z():
    data = load_phasenet_windows()
    assert data.data.shape == (462, 400, 1)
    assert data.data.dtype == np.float32
    assert data.target.dtype == np.int64
    assert data.target_names.tolist() == ["noise", "event"]
    assert np.bincount(data.target).tolist() == [154, 308]
    assert data.channel_names == ["Z"]


def test_phasenet_bunch_fields(phase_z):
    assert set(phase_z) == {
        "data",
        "target",
        "target_names",
        "trace_id",
        "z_only",
        "channel_names",
        "sampling_rate",
        "DESCR",
    }
    assert phase_z.target_names.tolist() == ["noise", "P", "S"]
    assert np.bincount(phase_z.target).tolist() == [154, 154, 154]
    assert phase_z.sampling_rate == 100.0
    assert phase_z.trace_id.shape == phase_z.z_only.shape == (462,)
    assert phase_z.z_only.dtype == bool and phase_z.z_only.sum() == 117
    assert "Zhu" in phase_z.DESCR and "MIT" in phase_z.DESCR
    # the whole description, from its title to the last citation
    assert phase_z.DESCR.startswith("PhaseNet P / S / noise windows (NCEDC")
    assert phase_z.DESCR.endswith("https://doi.org/10.7909/C3WD3xH1\n")
    assert np.isfinite(phase_z.data).all()


def test_phasenet_one_window_per_class_and_trace(phase_z):
    traces, counts = np.unique(phase_z.trace_id, return_counts=True)
    assert traces.size == 154 and np.all(counts == 3)
    for trace in traces[:10]:
        assert sorted(phase_z.target[phase_z.trace_id == trace]) == [0, 1, 2]


def test_phasenet_tasks_share_windows(phase_z):
    X, y = load_phasenet_windows(task="event_vs_noise", return_X_y=True)
    np.testing.assert_array_equal(X, phase_z.data)
    np.testing.assert_array_equal(y, (phase_z.target > 0).astype(np.int64))


def test_phasenet_enz_drops_vertical_only_stations(phase_z):
    data = load_phasenet_windows(task="phase", channels="ENZ")
    assert data.data.shape == (345, 400, 3)
    assert data.data.dtype == np.float32
    assert data.channel_names == ["E", "N", "Z"]
    assert not data.z_only.any()
    assert np.bincount(data.target).tolist() == [115, 115, 115]
    # Every kept window has non-zero horizontal channels, and its Z channel is
    # the one of the Z-only loader.
    assert np.all(np.abs(data.data[:, :, :2]).max(axis=1) > 0)
    np.testing.assert_array_equal(
        data.data[:, :, 2], phase_z.data[~phase_z.z_only, :, 0]
    )
    X, y = load_phasenet_windows(channels="ENZ", return_X_y=True)
    assert X.shape == (345, 400, 3)
    assert np.bincount(y).tolist() == [115, 230]


def test_phasenet_returns_writeable_independent_arrays():
    X, _ = load_phasenet_windows(return_X_y=True)
    X[:] = 0.0
    assert np.abs(load_phasenet_windows(return_X_y=True)[0]).max() > 0


@pytest.mark.parametrize(
    "params",
    [
        {"task": "P_vs_S"},
        {"channels": "Z_only"},
        {"channels": "E"},
        {"return_X_y": "yes"},
    ],
)
def test_phasenet_invalid_parameters_raise(params):
    with pytest.raises(ValueError, match=next(iter(params))):
        load_phasenet_windows(**params)


def test_phasenet_parameters_are_keyword_only():
    with pytest.raises(TypeError):
        load_phasenet_windows("phase")
