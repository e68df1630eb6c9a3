import numpy as np
import pytest

from tscc.io import load_array


def _series(n=4, t=6, seed=0):
    return np.random.default_rng(seed).normal(size=(n, t))


def test_load_npy_2d_and_3d(tmp_path):
    for X in (_series(), _series()[:, :, None].repeat(2, axis=2)):
        path = tmp_path / "x.npy"
        np.save(path, X)
        loaded, y = load_array(path)
        np.testing.assert_array_equal(loaded, X)
        assert y is None


def test_load_npz_with_and_without_y(tmp_path):
    X, y = _series(), np.array([0, 1, 0, 1])
    np.savez(tmp_path / "xy.npz", X=X, y=y, extra=np.arange(3))
    loaded, labels = load_array(tmp_path / "xy.npz")
    np.testing.assert_array_equal(loaded, X)
    np.testing.assert_array_equal(labels, y)
    np.savez(tmp_path / "only.npz", X)  # a single unnamed array is X
    loaded, labels = load_array(str(tmp_path / "only.npz"))
    np.testing.assert_array_equal(loaded, X)
    assert labels is None


def test_load_npz_errors(tmp_path):
    np.savez(tmp_path / "two.npz", a=_series(), b=_series())
    with pytest.raises(ValueError, match="no array named 'X'.*a, b"):
        load_array(tmp_path / "two.npz")
    np.savez(tmp_path / "y.npz", X=_series(), y=np.arange(3))
    with pytest.raises(ValueError, match="one label per series"):
        load_array(tmp_path / "y.npz")
    np.savez(tmp_path / "obj.npz", X=np.array([None, 1], dtype=object))
    with pytest.raises(ValueError, match="obj.npz"):
        load_array(tmp_path / "obj.npz")


def test_load_csv_header_and_ragged_rows(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n1,2,3\n\n4,,6\n7,8\n")
    X, y = load_array(path)
    np.testing.assert_array_equal(X, [[1, 2, 3], [4, np.nan, 6], [7, 8, np.nan]])
    assert X.dtype == np.float64 and y is None
    np.savetxt(tmp_path / "plain.csv", _series(), delimiter=",")
    np.testing.assert_allclose(load_array(tmp_path / "plain.csv")[0], _series())


def test_load_csv_errors(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("1,2,3\n4,five,6\n")
    with pytest.raises(ValueError, match="'five' in data line 2, column 2"):
        load_array(path)
    (tmp_path / "empty.csv").write_text("a,b\n")
    with pytest.raises(ValueError, match="no series"):
        load_array(tmp_path / "empty.csv")


def test_load_array_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such file"):
        load_array(tmp_path / "missing.npy")
    (tmp_path / "x.txt").write_text("1,2")
    with pytest.raises(ValueError, match="Unknown array format '.txt'"):
        load_array(tmp_path / "x.txt")
    np.save(tmp_path / "flat.npy", np.arange(5.0))
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        load_array(tmp_path / "flat.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(ValueError, match="junk.npy cannot be read"):
        load_array(tmp_path / "junk.npy")
