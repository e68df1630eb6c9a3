import sys
import warnings

import numpy as np
import pytest

obspy = pytest.importorskip("obspy")
zarr = pytest.importorskip("zarr")
da = pytest.importorskip("dask.array")

from _shared import seismic_trace  # noqa: E402

from tscc.io import (  # noqa: E402
    SeismicWindows,
    StoreSummary,
    open_windows,
    read_windows,
    write_windows,
)
from tscc.io import store as store_module  # noqa: E402

DAY = 86400.0


def _trace(component, start, n, station="STA", rate=20.0, seed=0):
    return seismic_trace(
        obspy,
        component,
        start,
        n,
        rate=rate,
        station=station,
        seed=seed,
        dtype=np.float32,
    )


def _write(trace, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    trace.write(str(path), format="MSEED")
    return path


def _day_archive(root, stations=("STA",), days=2, components="ENZ"):
    """SDS-like day files: one per station, channel and day (60 s of data)."""
    seed = 0
    for station in stations:
        for day in range(days):
            for component in components:
                seed += 1
                trace = _trace(component, day * DAY, 1200, station, seed=seed)
                name = f"XX.{station}..HH{component}.D.2020.{day + 1:03d}"
                _write(trace, root / station / name)
    return str(root / "**" / "*.D.*")


def _assert_same(windows, expected):
    assert isinstance(windows, SeismicWindows)
    np.testing.assert_array_equal(np.asarray(windows.X), expected.X)
    for name in ("source", "trace_id", "starttime"):
        np.testing.assert_array_equal(getattr(windows, name), getattr(expected, name))
    assert windows.sampling_rate == expected.sampling_rate
    assert windows.channels == expected.channels


@pytest.mark.parametrize("channels", ["Z", "ENZ"])
def test_store_equals_read_windows(tmp_path, channels):
    source = _day_archive(tmp_path / "sds", stations=("A", "B"))
    options = {"window": 4.0, "step": 3.0, "channels": channels}
    summary = write_windows(source, tmp_path / "w.zarr", **options)
    assert isinstance(summary, StoreSummary)
    expected = read_windows(source, **options)
    assert summary.n_windows == len(expected) == summary.windows_written
    # one group per station and day
    assert summary.n_groups == 4 and not summary.resumed
    _assert_same(open_windows(tmp_path / "w.zarr"), expected)


def test_gaps_nan_and_sds_day_files_grouped(tmp_path):
    # Z, N and E files of one day, with a gap in Z, and records of the next
    # day spilling past midnight in E: still one group per day.
    root = tmp_path / "sds"
    _write(_trace("Z", 0, 400, seed=1), root / "XX.STA..HHZ.D.2020.001")
    _write(_trace("Z", 32, 800, seed=2), root / "XX.STA..HHZ.D.2020.001b")
    _write(_trace("N", 0, 1200, seed=3), root / "XX.STA..HHN.D.2020.001")
    _write(_trace("E", 0, 1200, seed=4), root / "XX.STA..HHE.D.2020.001")
    for c in "ZNE":
        _write(_trace(c, DAY, 1200, seed=5), root / f"XX.STA..HH{c}.D.2020.002")
    options = {"window": 5.0, "channels": "ENZ", "gaps": "nan"}
    summary = write_windows(str(root), tmp_path / "w.zarr", **options)
    assert summary.n_groups == 2
    expected = read_windows(str(root), **options)
    windows = open_windows(tmp_path / "w.zarr")
    _assert_same(windows, expected)
    assert np.isnan(windows.X).any().compute()
    file_group = zarr.open_group(str(tmp_path / "w.zarr"))["file_group"][:]
    assert sorted(file_group.tolist()) == [0, 0, 0, 0, 1, 1, 1]


def test_grouping_rule():
    # (file, key, component, rate, start, end)
    records = [
        (0, "A", "Z", 1.0, 0.0, DAY + 5),  # day 1, spills 5 s into day 2
        (1, "A", "Z", 1.0, DAY, 2 * DAY),  # day 2
        (2, "A", "N", 1.0, 0.0, DAY),  # day 1, other component
        (3, "B", "Z", 1.0, 0.0, DAY),  # other station
        (4, "A", "Z", 1.0, DAY + 3600, DAY + 7200),  # an hour of day 2
        (5, "A", "Z", 1.0, 0.0, 3 * DAY),  # three days in one file ...
        (5, "B", "Z", 1.0, 0.0, 3 * DAY),  # ... of two stations
    ]
    roots = store_module._link_files(5, records[:5])
    assert roots == [0, 1, 0, 3, 1]
    assert set(store_module._link_files(6, records)) == {0}


def test_n_jobs_gives_the_same_store(tmp_path):
    source = _day_archive(tmp_path / "sds", stations=("A", "B", "C"))
    options = {"window": 4.0, "channels": "ENZ"}
    write_windows(source, tmp_path / "one.zarr", **options)
    summary = write_windows(source, tmp_path / "two.zarr", n_jobs=2, **options)
    assert summary.n_groups == 6
    _assert_same(
        open_windows(tmp_path / "two.zarr"), open_windows(tmp_path / "one.zarr")
    )


def _interrupt_after(monkeypatch, n_groups):
    append = store_module._append
    calls = []

    def failing(*args):
        if len(calls) == n_groups:
            raise KeyboardInterrupt
        calls.append(1)
        return append(*args)

    monkeypatch.setattr(store_module, "_append", failing)


def test_resume_after_interruption(tmp_path, monkeypatch):
    source = _day_archive(tmp_path / "sds", stations=("A", "B"))
    options = {"window": 4.0, "channels": "ENZ", "chunk_size": 7}
    full = write_windows(source, tmp_path / "full.zarr", **options)

    path = tmp_path / "w.zarr"
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 2)
        with pytest.raises(KeyboardInterrupt):
            write_windows(source, path, **options)
    with pytest.raises(ValueError, match="incomplete .2 of 4 groups"):
        open_windows(path)
    partial = open_windows(path, allow_incomplete=True)
    assert 0 < len(partial) < full.n_windows
    # A kill while a group was written leaves windows past the commit.
    group = zarr.open_group(str(path))
    n = len(partial)
    for name in ("X", "source", "trace_id", "starttime"):
        array = group[name]
        array.resize((n + 5, *array.shape[1:]))
    group["X"][n:] = 99.0
    group["source"][n:] = np.array(["junk"] * 5)
    assert len(open_windows(path, allow_incomplete=True)) == n  # not shown

    summary = write_windows(source, path, **options)
    assert summary.resumed and summary.groups_written == 2
    assert summary.n_windows == full.n_windows
    _assert_same(open_windows(path), open_windows(tmp_path / "full.zarr"))

    again = write_windows(source, path, **options)
    assert again.already_complete and again.windows_written == 0


def test_other_settings_or_files_are_refused(tmp_path):
    source = _day_archive(tmp_path / "sds", days=1, components="Z")
    path = tmp_path / "w.zarr"
    write_windows(source, path, window=4.0)
    with pytest.raises(ValueError, match=r"other options: window=4.0 \(now 5.0\)"):
        write_windows(source, path, window=5.0)
    with pytest.raises(ValueError, match="other options: channels"):
        write_windows(source, path, window=4.0, channels="Z")
    _write(_trace("Z", 0, 1200, "NEW"), tmp_path / "sds" / "NEW" / "x.D.1")
    with pytest.raises(ValueError, match="other input files .1 files; now 2"):
        write_windows(source, path, window=4.0)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="not a tscc windows store"):
        write_windows(source, tmp_path / "other", window=4.0)
    with pytest.raises(ValueError, match="not a tscc windows store"):
        open_windows(tmp_path / "other")
    with pytest.raises(FileNotFoundError, match="No such windows store"):
        open_windows(tmp_path / "missing.zarr")


def test_unreadable_file_is_skipped_and_recorded(tmp_path):
    source = tmp_path / "sds"
    _day_archive(source, days=2, components="Z")
    bad = source / "STA" / "XX.STA..HHZ.D.2020.003"
    bad.write_bytes(b"not a seismogram at all" * 50)
    with pytest.warns(UserWarning, match="XX.STA..HHZ.D.2020.003"):
        summary = write_windows(
            str(source / "**" / "*"), tmp_path / "w.zarr", window=4.0
        )
    assert list(summary.skipped_files) == [str(bad)]
    assert summary.n_windows == 30 and summary.n_groups == 2
    attrs = zarr.open_group(str(tmp_path / "w.zarr")).attrs.asdict()
    assert "not a seismic file" in attrs["skipped_files"][str(bad)]


def test_group_failing_when_cut_is_skipped(tmp_path, monkeypatch):
    source = _day_archive(tmp_path / "sds", days=2, components="Z")
    cut = store_module.cut_traces

    def failing(obspy, groups, settings):
        (traces,) = next(iter(groups.values()))
        if traces[0].stats.starttime.julday == 2:
            raise ValueError("Cannot merge the traces")
        return cut(obspy, groups, settings)

    monkeypatch.setattr(store_module, "cut_traces", failing)
    with pytest.warns(
        UserWarning, match=r"D.2020.002: its group of 1 file\(s\) failed"
    ):
        summary = write_windows(source, tmp_path / "w.zarr", window=4.0)
    assert summary.n_windows == 15 and len(summary.skipped_files) == 1


def test_open_windows_is_lazy(tmp_path):
    source = _day_archive(tmp_path / "sds", days=1)
    write_windows(source, tmp_path / "w.zarr", window=2.0, channels="ENZ", chunk_size=8)
    windows = open_windows(tmp_path / "w.zarr")
    assert isinstance(windows.X, da.Array) and windows.X.dtype == np.float32
    assert windows.X.shape == (30, 40, 3) and len(windows) == 30
    assert windows.X.chunks == ((8, 8, 8, 6), (40,), (3,))
    assert windows.source.dtype.kind == "U" and windows.channels == "ENZ"
    expected = read_windows(source, window=2.0, channels="ENZ")
    np.testing.assert_array_equal(windows.X[10:12].compute(), expected.X[10:12])


def test_default_chunks_are_a_few_megabytes(tmp_path):
    source = _day_archive(tmp_path / "sds", days=1, components="Z")
    write_windows(source, tmp_path / "w.zarr", window=1.0)
    chunks = zarr.open_group(str(tmp_path / "w.zarr"))["X"].chunks
    assert chunks == (4 * 2**20 // (4 * 20), 20, 1)


def test_errors_before_anything_is_written(tmp_path):
    source = _day_archive(tmp_path / "sds", days=1, components="Z")
    path = tmp_path / "w.zarr"
    with pytest.raises(ValueError, match="No station has all of the components"):
        write_windows(source, path, window=1.0, channels="ENZ")
    with pytest.raises(ValueError, match="None of the 1 files holds a trace"):
        write_windows(source, path, window=1.0, channels="X")
    _write(_trace("Z", 0, 100, "FAST", rate=40.0), tmp_path / "sds" / "fast.D.1")
    with pytest.raises(ValueError, match="different sampling rates"):
        write_windows(source, path, window=1.0)
    with pytest.raises(TypeError, match="use read_windows for in-memory"):
        write_windows(obspy.Stream(), path, window=1.0)
    with pytest.raises(ValueError, match="n_jobs must be at least 1"):
        write_windows(source, path, window=1.0, n_jobs=0)
    with pytest.raises(ValueError, match="gaps must be"):
        write_windows(source, path, window=1.0, gaps="zero")
    assert not path.exists()
    # resampled to one rate, the two stations share the store
    summary = write_windows(source, path, window=1.0, sampling_rate=20.0)
    assert summary.sampling_rate == 20.0 and summary.n_groups == 2


def test_progress_without_tqdm(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    source = _day_archive(tmp_path / "sds", days=2, components="Z")
    write_windows(source, tmp_path / "w.zarr", window=4.0, progress=True)
    assert "2/2 groups, 30 windows" in capsys.readouterr().err
    summary = write_windows(source, tmp_path / "w.zarr", window=4.0, progress=True)
    assert summary.already_complete and capsys.readouterr().err == ""


def test_missing_zarr_or_dask(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "zarr", None)
    with pytest.raises(ImportError, match=r'pip install "tscc\[dask\]"'):
        write_windows("x.mseed", tmp_path / "w.zarr", window=1.0)
    with pytest.raises(ImportError, match=r'pip install "tscc\[dask\]"'):
        open_windows(tmp_path / "w.zarr")
    monkeypatch.setitem(sys.modules, "zarr", zarr)
    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(ImportError, match=r'pip install "tscc\[dask\]"'):
        open_windows(tmp_path / "w.zarr")


def test_no_warning_in_a_clean_run(tmp_path):
    source = _day_archive(tmp_path / "sds", days=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_windows(source, tmp_path / "w.zarr", window=4.0, channels="ENZ")
        open_windows(tmp_path / "w.zarr")


def test_zarr_and_dask_are_imported_only_when_called():
    # module-level names of tscc.io.store: no zarr or dask among them
    assert not {"zarr", "dask", "da"} & set(vars(store_module))


def test_windowing_keywords_are_checked_by_name(tmp_path):
    source = _day_archive(tmp_path / "sds", days=1, components="Z")
    with pytest.raises(TypeError, match="missing required keyword argument: 'window'"):
        write_windows(source, tmp_path / "w.zarr")
    with pytest.raises(TypeError, match="unexpected keyword argument 'windw'"):
        write_windows(source, tmp_path / "w.zarr", windw=4.0)
    assert not (tmp_path / "w.zarr").exists()
