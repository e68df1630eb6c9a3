"""tscc.io.open_series: one route for array files, seismic files and stores."""

import os

import numpy as np
import pytest

from tscc import WaveformNormalizer
from tscc.io import SeriesInput, open_series


@pytest.fixture
def arrays(tmp_path):
    X = np.random.default_rng(0).normal(size=(6, 16)) * 100
    np.save(tmp_path / "x.npy", X)
    np.savez(tmp_path / "x.npz", X=X, y=np.zeros(6))
    np.savetxt(tmp_path / "x.csv", X, delimiter=",")
    np.save(tmp_path / "short.npy", X[:, :8])
    return tmp_path, X


def _seismic_file(obspy, path, n=400):
    trace = obspy.Trace(
        np.random.default_rng(1).normal(size=n) * 1000,
        header={"station": "STA", "channel": "HHZ", "sampling_rate": 20.0},
    )
    trace.write(str(path), format="MSEED")
    return path


@pytest.mark.parametrize("name", ["x.npy", "x.npz", "x.csv"])
def test_array_files(arrays, name):
    root, X = arrays
    series = open_series(root / name)
    assert isinstance(series, SeriesInput)
    assert series.kind == "array" and series.normalize == "none"
    np.testing.assert_allclose(series.X, X)  # as given: auto is none for arrays
    assert series.metadata["source"].tolist() == [str(root / name)] * 6
    assert len(series) == 6
    assert series.describe() == (
        "6 series of 16 timestamps x 1 channel(s) from 1 source(s)"
    )


def test_array_files_are_stacked_and_normalised_on_request(arrays):
    root, X = arrays
    series = open_series([root / "x.npy", root / "x.csv"], normalize="maxabs")
    assert series.X.shape == (12, 16) and series.normalize == "maxabs"
    expected = WaveformNormalizer(normalize="maxabs").fit_transform(
        np.concatenate([X, X])
    )
    np.testing.assert_allclose(series.X, expected)
    assert series.describe().endswith("from 2 source(s)")


def test_seismic_files_are_windowed_and_normalised(tmp_path):
    obspy = pytest.importorskip("obspy")
    path = _seismic_file(obspy, tmp_path / "rec.mseed")
    series = open_series(str(path), window=2.0, step=1.0)
    assert series.kind == "seismic" and series.normalize == "maxabs"
    assert series.X.shape == (19, 40, 1)
    assert np.abs(series.X).max(axis=(1, 2)) == pytest.approx(1.0)
    assert list(series.metadata) == ["source", "trace_id", "starttime"]
    # a pattern, and a file of a suffix tscc does not know when window is given
    os.rename(path, tmp_path / "rec.data")
    assert open_series(str(tmp_path / "*.data"), window=2.0).kind == "seismic"
    assert len(open_series(str(tmp_path / "rec.data"), window=2.0)) == 10


def test_store_is_opened_lazily_and_normalised_as_seismic(tmp_path):
    obspy = pytest.importorskip("obspy")
    pytest.importorskip("zarr")
    da = pytest.importorskip("dask.array")
    from tscc.io import write_windows

    path = _seismic_file(obspy, tmp_path / "rec.mseed")
    write_windows(str(path), tmp_path / "w.zarr", window=2.0, chunk_size=4)
    series = open_series(tmp_path / "w.zarr", window=99.0)  # options ignored
    assert series.kind == "store" and series.normalize == "maxabs"
    assert isinstance(series.X, da.Array) and series.X.chunks[0][0] == 4
    from_files = open_series(str(path), window=2.0)
    np.testing.assert_array_equal(series.X.compute(), from_files.X)
    for name in ("source", "trace_id", "starttime"):
        np.testing.assert_array_equal(series.metadata[name], from_files.metadata[name])
    raw = open_series(tmp_path / "w.zarr", normalize="none")
    assert np.abs(raw.X.compute()).max() > 10


def test_errors(arrays, tmp_path):
    root, _ = arrays
    with pytest.raises(FileNotFoundError, match="No such file"):
        open_series(root / "missing.npy")
    with pytest.raises(FileNotFoundError, match="No file matches"):
        open_series(str(root / "none" / "*.mseed"), window=1.0)
    (root / "notes.txt").write_text("1,2,3")
    with pytest.raises(ValueError, match="Unknown input format '.txt'"):
        open_series(root / "notes.txt")
    (root / "rec.mseed").write_bytes(b"\0" * 16)
    with pytest.raises(ValueError, match="needs --window SECONDS .window= in Python"):
        open_series(root / "rec.mseed")
    with pytest.raises(ValueError, match="mixes array files and seismic files"):
        open_series([root / "x.npy", root / "rec.mseed"], window=1.0)
    with pytest.raises(ValueError, match="Mismatched shapes"):
        open_series([root / "x.npy", root / "short.npy"])
    with pytest.raises(ValueError, match="normalize must be one of"):
        open_series(root / "x.npy", normalize="peak")
    with pytest.raises(ValueError, match="No input given"):
        open_series([])
    with pytest.raises(TypeError, match="unexpected keyword argument 'windows'"):
        open_series(root / "x.npy", windows=2.0)
    with pytest.raises(TypeError, match="inputs must be a path"):
        open_series([np.zeros((2, 3))])
    (tmp_path / "empty.zarr").mkdir()
    (tmp_path / "empty.zarr" / "zarr.json").write_text("{}")
    with pytest.raises(ValueError, match="A windows store is read alone"):
        open_series([tmp_path / "empty.zarr", root / "x.npy"])
