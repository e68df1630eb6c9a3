"""A windows store as INPUT: predict (locally, on a Dask cluster), fit, transform."""

import signal

import numpy as np
import pytest

obspy = pytest.importorskip("obspy")
zarr = pytest.importorskip("zarr")
pytest.importorskip("distributed")

from _shared import TINY  # noqa: E402
from test_cli import TINY as TINY_OPTIONS  # noqa: E402
from test_cli_windows import _archive  # noqa: E402

from tscc import TSCCClusterer, WaveformNormalizer  # noqa: E402
from tscc.cli import main  # noqa: E402
from tscc.io import open_windows  # noqa: E402


@pytest.fixture(scope="module")
def store_and_model(tmp_path_factory):
    root = _archive(tmp_path_factory.mktemp("archive"))
    (root / "README.txt").unlink()
    store = root / "windows.zarr"
    pattern = str(root / "*.D.*")
    assert main(["windows", pattern, "--out", str(store), "--window", "4", "-q"]) == 0
    X = WaveformNormalizer().fit_transform(open_windows(store).X.compute())
    model = root / "model.tscc"
    TSCCClusterer(**TINY).fit(X).save(model)
    return store, model, pattern


def _dispositions():
    names = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
    return {name: signal.getsignal(getattr(signal, name)) for name in names}


def _csv(path):
    return np.genfromtxt(path, delimiter=",", names=True, dtype=None, encoding="utf-8")


def test_predict_store_equals_predict_of_the_files(store_and_model, tmp_path):
    store, model, pattern = store_and_model
    files_out, store_out = tmp_path / "files.csv", tmp_path / "store.csv"
    common = ["--model", str(model), "--proba", "--features"]
    assert (
        main(["predict", pattern, "--window", "4", *common, "--out", str(files_out)])
        == 0
    )
    assert main(["predict", str(store), *common, "-q", "--out", str(store_out)]) == 0
    from_files, from_store = _csv(files_out), _csv(store_out)
    assert from_files.dtype.names == from_store.dtype.names
    assert "feature_7" in from_store.dtype.names
    for name in from_files.dtype.names:
        np.testing.assert_array_equal(from_files[name], from_store[name], err_msg=name)


def test_predict_store_on_a_local_cluster_writes_zarr(
    store_and_model, tmp_path, capsys
):
    store, model, _ = store_and_model
    out = tmp_path / "predictions.zarr"
    args = ["predict", str(store), "--model", str(model), "--out", str(out)]
    before = _dispositions()
    assert main([*args, "--workers", "2", "-q"]) == 0
    assert _dispositions() == before  # the Dask cluster leaves no handler behind
    assert "on 2 Dask worker(s) with 2 thread(s)" in capsys.readouterr().err
    written = zarr.open_group(out, mode="r")
    windows = open_windows(store)
    X = WaveformNormalizer().fit_transform(windows.X.compute())
    fitted = TSCCClusterer.load(model)
    np.testing.assert_array_equal(written["labels"][:], fitted.predict(X))
    np.testing.assert_array_equal(written["memberships"][:], fitted.predict_proba(X))
    np.testing.assert_array_equal(written["features"][:], fitted.transform(X))
    np.testing.assert_array_equal(
        np.array(written["starttime"][:].tolist(), dtype=str), windows.starttime
    )
    assert written.attrs["windows_store"] == str(store.resolve())


def test_dask_options_need_a_store(store_and_model, tmp_path, capsys):
    _, model, pattern = store_and_model
    args = ["predict", pattern, "--window", "4", "--model", str(model)]
    assert main([*args, "--workers", "2"]) == 2
    assert "take a windows store" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "p.zarr")]) == 2
    assert "is for a windows store" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*args, "--workers", "0"])
    assert "positive integer" in capsys.readouterr().err


# tscc fit and transform take a store as they take files.
SMALL = [*TINY_OPTIONS, "--depth", "1"]  # the last --depth wins


def test_fit_store_on_a_sample(store_and_model, tmp_path, capsys):
    store, _, _ = store_and_model
    model, labels = tmp_path / "m.tscc", tmp_path / "labels.csv"
    args = ["fit", str(store), "--max-samples", "40", "--n-clusters", "2", "-q"]
    assert main([*args, *SMALL, "--model", str(model), "--labels", str(labels)]) == 0
    out = capsys.readouterr().out
    assert "Read 90 series of 80 timestamps x 1 channel(s)" in out
    assert "normalize=maxabs" in out
    fitted = TSCCClusterer.load(model)
    assert fitted.n_clusters == 2 and fitted.max_samples == 40
    rows = _csv(labels)
    assert rows.dtype.names == ("index", "source", "trace_id", "starttime", "label")
    windows = open_windows(store)
    np.testing.assert_array_equal(rows["starttime"], windows.starttime)
    # the labels of every window, normalised as predict normalises the store
    X = WaveformNormalizer().fit_transform(windows.X.compute())
    np.testing.assert_array_equal(rows["label"], fitted.predict(X))


def test_transform_store(store_and_model, tmp_path, capsys):
    store, model, _ = store_and_model
    out = tmp_path / "features.npz"
    args = ["transform", str(store), "--model", str(model), "--out", str(out)]
    assert main(args) == 0
    assert "of 90 series of 80 timestamps" in capsys.readouterr().err
    windows = open_windows(store)
    X = WaveformNormalizer().fit_transform(windows.X.compute())
    with np.load(out) as archive:
        np.testing.assert_array_equal(
            archive["features"], TSCCClusterer.load(model).transform(X)
        )
        np.testing.assert_array_equal(archive["trace_id"], windows.trace_id)


def test_store_input_errors(store_and_model, tmp_path, capsys):
    store, model, pattern = store_and_model
    predict = ["predict", "--model", str(model)]
    assert main([*predict, str(store), pattern, "--window", "4"]) == 2
    assert "A windows store is read alone" in capsys.readouterr().err
    other = tmp_path / "other.zarr"
    zarr.open_group(str(other), mode="w").attrs["hello"] = 1
    assert main([*predict, str(other)]) == 2
    assert "is not a tscc windows store" in capsys.readouterr().err


def test_transform_store_on_a_local_cluster_writes_zarr(store_and_model, tmp_path):
    store, model, _ = store_and_model
    out = tmp_path / "features.zarr"
    args = ["transform", str(store), "--model", str(model), "--out", str(out)]
    assert main([*args, "--workers", "2", "-q"]) == 0
    written = zarr.open_group(out, mode="r")
    assert sorted(written.array_keys()) == ["features", "source", "starttime",
                                            "trace_id"]  # fmt: skip
    windows = open_windows(store)
    X = WaveformNormalizer().fit_transform(windows.X.compute())
    np.testing.assert_array_equal(
        written["features"][:], TSCCClusterer.load(model).transform(X)
    )
    assert written.attrs["normalize"] == "maxabs"


def test_transform_store_locally_to_npz_and_refusals(store_and_model, tmp_path, capsys):
    store, model, pattern = store_and_model
    out = tmp_path / "features.npz"
    args = ["transform", str(store), "--model", str(model), "--out", str(out), "-q"]
    assert main(args) == 0
    with np.load(out) as archive:
        assert archive["features"].shape == (90, 8)
    files = ["transform", pattern, "--window", "4", "--model", str(model)]
    assert main([*files, "--out", str(tmp_path / "f.zarr")]) == 2
    assert "is for a windows store" in capsys.readouterr().err
    assert main([*files, "--out", str(tmp_path / "f.npy"), "--workers", "2"]) == 2
    assert "take a windows store" in capsys.readouterr().err
    assert main([*files, "--out", str(tmp_path / "f.csv")]) == 2
    assert ".npy, .npz or .zarr" in capsys.readouterr().err
