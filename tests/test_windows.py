import sys

import numpy as np
import pytest
from _shared import seismic_trace

from tscc.io import SeismicWindows, read_windows


def test_read_windows_without_obspy(monkeypatch):
    monkeypatch.setitem(sys.modules, "obspy", None)  # import obspy fails
    with pytest.raises(ImportError, match=r'pip install "tscc\[seismic\]"'):
        read_windows("anything.mseed", window=1.0)


@pytest.fixture
def obspy():
    return pytest.importorskip("obspy")


def _trace(obspy, component, start, n, rate=100.0, station="STA", seed=0):
    return seismic_trace(
        obspy, component, start, n, rate=rate, station=station, seed=seed
    )


def test_single_channel_windows_and_metadata(obspy):
    trace = _trace(obspy, "Z", 0, 1050)
    windows = read_windows(obspy.Stream([trace]), window=2.0, channels="Z")
    assert isinstance(windows, SeismicWindows)
    assert windows.X.shape == (5, 200, 1) and windows.X.dtype == np.float32
    assert len(windows) == 5 and windows.sampling_rate == 100.0
    np.testing.assert_allclose(windows.X[1, :, 0], trace.data[200:400], rtol=1e-6)
    assert windows.starttime[1] == "2020-01-01T00:00:02.000000Z"
    assert set(windows.trace_id) == {"XX.STA..HHZ"}
    assert set(windows.source) == {"<Stream>"}
    assert list(windows.metadata()) == ["source", "trace_id", "starttime"]


def test_step_overlaps_windows(obspy):
    windows = read_windows(_trace(obspy, "Z", 0, 1000), window=2.0, step=0.5)
    assert windows.X.shape == (17, 200, 1)
    assert windows.starttime[1] == "2020-01-01T00:00:00.500000Z"


def test_three_components_are_stacked_in_order(obspy):
    stream = obspy.Stream(
        [_trace(obspy, c, 0, 600, seed=i) for i, c in enumerate("ZNE")]
    )
    windows = read_windows(stream, window=3.0, channels="ENZ")
    assert windows.X.shape == (2, 300, 3) and windows.channels == "ENZ"
    np.testing.assert_allclose(
        windows.X[0, :, 2], stream.select(component="Z")[0].data[:300], rtol=1e-6
    )
    assert set(windows.trace_id) == {"XX.STA..HH?"}
    # channels=None: every trace on its own
    each = read_windows(stream, window=3.0)
    assert each.X.shape == (6, 300, 1) and each.channels == ""
    assert sorted(set(each.trace_id)) == ["XX.STA..HHE", "XX.STA..HHN", "XX.STA..HHZ"]


def test_gaps_skip_or_nan(obspy):
    # E covers 0-10 s, Z covers 0-5 s and 7-10 s.
    stream = obspy.Stream(
        [
            _trace(obspy, "E", 0, 1000),
            _trace(obspy, "Z", 0, 500, seed=1),
            _trace(obspy, "Z", 7, 300, seed=2),
        ]
    )
    skipped = read_windows(stream, window=2.0, channels="EZ")
    assert [s[17:19] for s in skipped.starttime] == ["00", "02", "07"]
    assert not np.isnan(skipped.X).any()
    kept = read_windows(stream, window=2.0, channels="EZ", gaps="nan")
    assert kept.X.shape == (5, 200, 2)
    assert np.isnan(kept.X).sum(axis=(1, 2)).tolist() == [0, 0, 100, 100, 0]


def test_station_missing_a_component_is_skipped(obspy):
    stream = obspy.Stream(
        [_trace(obspy, c, 0, 400) for c in "ENZ"]
        + [_trace(obspy, "Z", 0, 400, station="ONLYZ")]
    )
    windows = read_windows(stream, window=2.0, channels="ENZ")
    assert set(windows.trace_id) == {"XX.STA..HH?"}
    with pytest.raises(ValueError, match="No station has all of the components"):
        read_windows(stream.select(station="ONLYZ"), window=2.0, channels="ENZ")
    with pytest.raises(ValueError, match="No trace has one of the components"):
        read_windows(stream, window=2.0, channels="X")


def test_bandpass_removes_out_of_band_signal(obspy):
    times = np.arange(4000) / 100.0
    trace = _trace(obspy, "Z", 0, 4000)
    trace.data = np.sin(2 * np.pi * 0.2 * times) + 0.01 * trace.data
    raw = read_windows(trace, window=10.0)
    filtered = read_windows(trace, window=10.0, bandpass=(2.0, 10.0))
    assert np.abs(filtered.X[1:3]).max() < 0.1 * np.abs(raw.X[1:3]).max()
    with pytest.raises(ValueError, match="Nyquist"):
        read_windows(trace, window=10.0, bandpass=(1.0, 60.0))
    with pytest.raises(ValueError, match="freqmin < freqmax"):
        read_windows(trace, window=10.0, bandpass=(5.0, 1.0))


def test_sampling_rates_must_agree_or_be_resampled(obspy):
    stream = obspy.Stream(
        [_trace(obspy, "Z", 0, 1000), _trace(obspy, "Z", 0, 500, 50.0, "SLOW")]
    )
    with pytest.raises(ValueError, match="different sampling rates"):
        read_windows(stream, window=1.0)
    windows = read_windows(stream, window=1.0, sampling_rate=100.0)
    assert windows.X.shape == (20, 100, 1)


def test_files_globs_directories_and_provenance(obspy, tmp_path):
    _trace(obspy, "Z", 0, 1000).write(str(tmp_path / "a.mseed"), format="MSEED")
    _trace(obspy, "Z", 9, 1000, seed=1).write(str(tmp_path / "b.sac"), format="SAC")
    expected = ["a.mseed"] * 4 + ["a.mseed;b.sac"] + ["b.sac"] * 4
    for source in (
        tmp_path,
        str(tmp_path / "*"),
        [tmp_path / "a.mseed", tmp_path / "b.sac"],
    ):
        windows = read_windows(source, window=2.0, step=2.0, channels="Z")
        names = [
            ";".join(part.rsplit("/", 1)[-1] for part in s.split(";"))
            for s in windows.source
        ]
        assert names == expected
    # the two files were merged into one 19 s recording
    assert windows.starttime[4] == "2020-01-01T00:00:08.000000Z"


def test_double_star_pattern_reads_files_at_every_depth(obspy, tmp_path):
    files = ["top.mseed", "a/x.mseed", "b/c/y.mseed"]
    for seed, name in enumerate(files):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        trace = _trace(obspy, "Z", 0, 400, station=f"S{seed}", seed=seed)
        trace.write(str(tmp_path / name), format="MSEED")
    (tmp_path / "a" / "notes.txt").write_text("not matched by *.mseed")
    windows = read_windows(str(tmp_path / "**" / "*.mseed"), window=2.0)
    assert windows.X.shape == (6, 200, 1)
    assert sorted(set(windows.source)) == sorted(str(tmp_path / n) for n in files)
    # without **, one level only
    one_level = read_windows(str(tmp_path / "*" / "*.mseed"), window=2.0)
    assert set(one_level.source) == {str(tmp_path / "a" / "x.mseed")}


def test_read_windows_errors(obspy, tmp_path):
    with pytest.raises(FileNotFoundError, match="No such file"):
        read_windows(tmp_path / "missing.mseed", window=1.0)
    with pytest.raises(FileNotFoundError, match="No file matches"):
        read_windows(str(tmp_path / "*.mseed"), window=1.0)
    (tmp_path / "notes.txt").write_text("not a seismogram")
    with pytest.raises(ValueError, match="not a seismic file ObsPy can read"):
        read_windows(tmp_path / "notes.txt", window=1.0)
    trace = _trace(obspy, "Z", 0, 100)
    with pytest.raises(ValueError, match="No window of 5.0 s"):
        read_windows(trace, window=5.0)
    with pytest.raises(ValueError, match="window must be a positive"):
        read_windows(trace, window=0)
    with pytest.raises(ValueError, match="gaps must be"):
        read_windows(trace, window=1.0, gaps="zero")
    with pytest.raises(ValueError, match="component letters"):
        read_windows(trace, window=1.0, channels="ZZ")
    with pytest.raises(TypeError, match="source must be"):
        read_windows(3, window=1.0)


def test_import_tscc_loads_neither_obspy_nor_matplotlib():
    import subprocess

    code = (
        "import sys, tscc; "
        "print(sorted(m for m in ('obspy', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
